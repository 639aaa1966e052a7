/**
 * Debug mode's deadlock watch, on real programs in their own processes
 * (GREENLOOP_DEBUG=1): real deadlocks end with DeadlockError and the dump
 * on stderr instead of a silent hang; green threads waiting on a socket
 * read or a timer, or in a callAsync whose task sleeps, are not reported.
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runScript, type ScriptOutcome } from '../helpers.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/deadlock.ts', import.meta.url));

function runScenario(name: string, env: NodeJS.ProcessEnv = { GREENLOOP_DEBUG: '1' }): Promise<ScriptOutcome> {
  return runScript(SCRIPT, { args: [name], env, hangLimit: 50 });
}

describe('bridge: deadlock detection in debug mode', function () {
  this.timeout(60_000);

  it('a green thread waiting on an Event nobody will set: DeadlockError, and the dump names the Event', async () => {
    const outcome = await runScenario('event');
    expect(outcome.signal, outcome.stderr).to.equal(null);
    expect(outcome.stdout.trim(), outcome.stderr).to.equal('DeadlockError');
    expect(outcome.stderr).to.contain('Deadlock: every green thread is parked and nothing on the loop can wake them');
    expect(outcome.stderr).to.match(/#\d+ waitEvent\(\) parked [\d.]+ s in event\.wait\(\) on <Event #\d+ unset, waiters:1>/);
    expect(outcome.stderr).to.match(/spawned at .*deadlock\.ts:\d+/);
  });

  it('two green threads each waiting on the other\'s queue: DeadlockError, and the dump shows both', async () => {
    const outcome = await runScenario('queues');
    expect(outcome.stdout.trim(), outcome.stderr).to.equal('DeadlockError');
    const parked = outcome.stderr.match(/#\d+ relay\(\) parked [\d.]+ s in queue\.get\(\) on <Queue #\d+ /g) ?? [];
    expect(parked, outcome.stderr).to.have.length(2);
  });

  it('a green thread in callAsync whose task waits on an asyncio Event nobody will set', async () => {
    const outcome = await runScenario('callasync');
    expect(outcome.stdout.trim(), outcome.stderr).to.equal('DeadlockError');
    expect(outcome.stderr).to.match(
      /#\d+ callStuck\(\) parked [\d.]+ s in async\.call\(\): task "Task-\d+" \(waitAsyncEvent\(\)\) awaiting Event\.wait\(\)/,
    );
  });

  it('a green main flow (the hosted hub) waiting on an Event nobody will set', async () => {
    const outcome = await runScenario('hosted');
    expect(outcome.stdout.trim(), outcome.stderr).to.equal('DeadlockError');
    expect(outcome.stderr).to.match(/#1 main\(\) parked [\d.]+ s in event\.wait\(\)/);
  });

  it('is off outside debug mode: the same deadlock hangs as it always did', async () => {
    const outcome = await runScript(SCRIPT, { args: ['event'], env: { GREENLOOP_DEBUG: '' }, hangLimit: 6 });
    expect(outcome.signal, outcome.stderr).to.equal('SIGKILL');
    expect(outcome.stdout).to.equal('');
    expect(outcome.stderr).to.not.contain('Deadlock');
  });

  it('is not reported while a green thread waits on a socket read', async () => {
    const outcome = await runScenario('socket');
    expect(outcome.code, outcome.stderr).to.equal(0);
    expect(outcome.stdout.trim()).to.equal('result "bye"');
    expect(outcome.stderr).to.not.contain('Deadlock');
  });

  it('is not reported while a timer will wake the waiting threads', async () => {
    const outcome = await runScenario('timer');
    expect(outcome.code, outcome.stderr).to.equal(0);
    expect(outcome.stdout.trim()).to.equal('result ["woken",null]');
    expect(outcome.stderr).to.not.contain('Deadlock');
  });
});
