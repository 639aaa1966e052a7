/**
 * The loop's default executor (`runInExecutor(null, ...)`): a thread pool
 * that is the loop's own, with no need for greenloop/green or the bridge.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { RuntimeError, getRunningLoop, newEventLoop, setDefaultExecutorFactory, type Executor } from '../../src/loop/index.js';
import { runInLoop } from '../helpers.js';
import { squareElsewhere } from './fixtures/executor-fns.js';

/** Runs `fixture` with `node --import tsx` and `env`; resolves to its stdout and exit code. */
function runFixture(fixture: string, env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ stdout, stderr, code });
    });
  });
}

describe('loop: default executor', function () {
  this.timeout(20000);

  it('runs in a program that imports only greenloop/loop, with GREENLOOP_BRIDGE=off (subprocess)', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/executor-bridge-off.ts', import.meta.url));
    const { stdout, stderr, code } = await runFixture(fixture, { GREENLOOP_BRIDGE: 'off' });
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
    expect(JSON.parse(stdout.trim())).to.deep.equal({ result: [49, true], bridge: 'off' });
  });

  it('runs a module-level function on another thread, and shutdownDefaultExecutor waits for it', async () => {
    const result = await runInLoop(async () => {
      const loop = getRunningLoop();
      const pending = loop.runInExecutor(null, squareElsewhere, 3);
      await loop.shutdownDefaultExecutor(); // while the executor's module may still load
      return pending;
    });
    expect(result).to.deep.equal([9, true]);
  });

  it('uses the factory setDefaultExecutorFactory registers', async () => {
    const calls: unknown[][] = [];
    const inline: Executor = {
      async submit<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Promise<Awaited<R>> {
        calls.push(args);
        return await fn(...args);
      },
      async shutdown() {},
    };
    setDefaultExecutorFactory(() => inline);
    try {
      const result = await runInLoop(async () => getRunningLoop().runInExecutor(null, (x: number) => x + 1, 41));
      expect(result).to.equal(42);
      expect(calls).to.deep.equal([[41]]);
    } finally {
      setDefaultExecutorFactory(null);
    }
  });

  it('a loop closed while its default executor loads keeps none, and refuses new calls', async () => {
    const loop = newEventLoop();
    const future = loop.runInExecutor(null, squareElsewhere, 2);
    loop.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A closed loop settles no Future; the executor that loaded was shut down, not kept.
    expect(future.done()).to.equal(false);
    expect(loop._defaultExecutor).to.equal(null);
    expect(() => loop.runInExecutor(null, squareElsewhere, 2)).to.throw(RuntimeError, 'Event loop is closed');
  });
});
