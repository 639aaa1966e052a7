/**
 * Every way a hosted hub can die releases the green main flow, and a hosted
 * program's links and exit callbacks that can no longer run are dropped
 * quietly. Each fixture runs in its own Node process (with tsx).
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runScript, type ScriptOutcome } from '../../helpers.js';

/** Seconds after which a fixture counts as hung (it is killed). */
const HANG_LIMIT = 40;

function runFixture(name: string, env: NodeJS.ProcessEnv = {}): Promise<ScriptOutcome> {
  return runScript(fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url)), { env, hangLimit: HANG_LIMIT });
}

describe('hosted placement: a hub that dies, a program that ends', function () {
  this.timeout((HANG_LIMIT + 10) * 1000);

  it('releases the main flow with HubClosedError when the hub runs out of memory', async () => {
    const result = await runFixture('hosted-hub-oom', { GREENLOOP_HUB_MAX_HEAP_MB: '64' });
    expect(result.signal, `killed after ${HANG_LIMIT}s: hung; stderr: ${result.stderr}`).to.equal(null);
    expect(result.code, `stderr: ${result.stderr}`).to.equal(0);
    expect(result.stdout).to.equal('hub started\nmain flow: HubClosedError\nlater call: HubClosedError\n');
    expect(result.stderr).to.match(/greenloop: the hub's thread died: .*ERR_WORKER_OUT_OF_MEMORY/);
  });

  it('prints nothing on stderr at exit when green threads with links still run', async () => {
    const result = await runFixture('hosted-links');
    expect(result.signal, `killed after ${HANG_LIMIT}s: hung; stderr: ${result.stderr}`).to.equal(null);
    expect(result.code, `stderr: ${result.stderr}`).to.equal(0);
    expect(result.stderr).to.equal('');
    expect(result.stdout).to.contain('done 42\n');
    expect(result.stdout).to.contain('after run\n');
  });
});
