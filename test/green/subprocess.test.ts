/**
 * Green subprocesses, after eventlet's green subprocess tests and Python's
 * subprocess semantics: run, Popen, communicate, wait, poll and kill with
 * real children.
 */
import { expect } from 'chai';
import { sleep as asyncSleep } from '../../src/loop/index.js';
import { spawn } from '../../src/green/index.js';
import { checkFdLeaks, runInLoop } from '../helpers.js';
import { warmWorkers } from './fixtures/net-warm.js';
import { TEST_POOL_SIZE, useGreenWorkers } from '../green-workers.js';
import {
  communicateAgain,
  mergedStderr,
  missingProgram,
  nodeSpawnSync,
  popenLifecycle,
  runCheckFails,
  runEcho,
  runTimesOut,
  runWithInput,
  shellCommand,
} from './fixtures/net-subprocess.js';

function green<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
  return runInLoop(async (): Promise<Awaited<R>> => (await spawn(fn, ...args)) as Awaited<R>);
}

describe('green subprocess', function () {
  this.timeout(20000);
  useGreenWorkers(TEST_POOL_SIZE);
  warmWorkers();
  checkFdLeaks(3000);

  it('run captures stdout and stderr and returns the exit code', async () => {
    expect(await green(runEcho)).to.deep.equal([0, 'hi\n', '']);
  });

  it('run sends input to stdin', async () => {
    expect(await green(runWithInput)).to.equal('échoed');
  });

  it('run with check raises CalledProcessError for a non-zero exit code', async () => {
    expect(await green(runCheckFails)).to.deep.include({ name: 'CalledProcessError', returncode: 3, stderr: 'bad\n' });
  });

  it('run with a timeout kills the child and raises TimeoutExpired with the output so far', async () => {
    const [error, waited] = await green(runTimesOut);
    expect(error).to.deep.include({ name: 'TimeoutExpired', stdout: 'partial\n' });
    expect(waited).to.be.within(0.45, 5);
  });

  it('Popen: poll while running, wait with a timeout, kill, returncode -9', async () => {
    expect(await green(popenLifecycle)).to.deep.equal({
      pid: true,
      running: null,
      waitTimeout: 'TimeoutExpired',
      code: -9,
      returncode: -9,
      killAgain: null,
    });
  });

  it('communicate can be called again after a timeout without losing output', async () => {
    expect(await green(communicateAgain)).to.deep.equal(['TimeoutExpired', 'ab']);
  });

  it('stderr=STDOUT merges the streams; shell commands run with shell: true', async () => {
    expect(await green(mergedStderr)).to.equal('out err');
    expect(await green(shellCommand)).to.equal('42\n');
  });

  it('a missing program raises FileNotFoundError (ENOENT)', async () => {
    expect(await green(missingProgram)).to.deep.include({ name: 'FileNotFoundError', code: 'ENOENT' });
  });

  it("Node's spawnSync blocks only the calling green thread", async () => {
    const ticks = await runInLoop(async () => {
      let count = 0;
      const thread = spawn(nodeSpawnSync);
      const counting = (async () => {
        while (!thread.dead) {
          count++;
          await asyncSleep(0.005);
        }
      })();
      expect(await thread).to.equal('sync');
      await counting;
      return count;
    });
    expect(ticks, 'the loop ran while the child did').to.be.above(2);
  });
});
