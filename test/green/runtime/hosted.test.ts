/**
 * The hosted placement: legacy programs whose main flow is green run as
 * plain scripts. Each fixture runs in its own Node process (with tsx), as a
 * user would run it; the tests check its output and exit code, and that it
 * exits by itself.
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runScript, type ScriptOutcome as Outcome } from '../../helpers.js';

/** Seconds after which a fixture counts as hung (it is killed). */
const HANG_LIMIT = 25;

function runFixture(name: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  const relative = name.includes('/') ? name : `./fixtures/${name}`;
  const script = fileURLToPath(new URL(`${relative}.ts`, import.meta.url));
  return runScript(script, { args, env, hangLimit: HANG_LIMIT });
}

function expectClean(outcome: Outcome): void {
  expect(outcome.signal, `killed after ${HANG_LIMIT}s: hung; stderr: ${outcome.stderr}`).to.equal(null);
  expect(outcome.code, `stderr: ${outcome.stderr}`).to.equal(0);
}

describe('hosted placement (a green main flow run as a plain script)', function () {
  this.timeout((HANG_LIMIT + 10) * 1000);
  const runs = new Map<string, Promise<Outcome>>();
  // The programs run side by side: each pays for starting Node, tsx and workers.
  before(() => {
    runs.set('sleep', runFixture('hosted-sleep'));
    runs.set('spawn', runFixture('hosted-spawn'));
    runs.set('async', runFixture('hosted-async'));
    runs.set('error', runFixture('hosted-error'));
    runs.set('exit', runFixture('hosted-exit'));
    runs.set('off', runFixture('hosted-placements', ['off'], { GREENLOOP_BRIDGE: 'off' }));
    runs.set('loop', runFixture('hosted-placements', ['loop']));
    runs.set('owned', runFixture('hosted-placements', ['owned']));
    runs.set('objects', runFixture('hosted-placements', ['objects']));
    runs.set('timeout', runFixture('hosted-timeout'));
    runs.set('output', runFixture('hosted-output'));
  });
  after(async () => {
    await Promise.allSettled(runs.values());
  });

  const outcome = (name: string): Promise<Outcome> => runs.get(name) as Promise<Outcome>;

  it('runs a top-level sleep() for its full time', async () => {
    const result = await outcome('sleep');
    expectClean(result);
    expect(result.stdout).to.equal('slept enough\n');
  });

  it('spawns green threads and waits for them from the top level, pools included', async () => {
    const result = await outcome('spawn');
    expectClean(result);
    expect(result.stdout).to.equal('spawned: 2,4,6\npool: 20,40,60\nmain: true, current id 1\n');
  });

  it('runs async functions on the hosted loop with callAsync and runAsync, errors keeping their class', async () => {
    const result = await outcome('async');
    expectClean(result);
    expect(result.stdout).to.equal('callAsync: 5\nrunAsync: 9\ncaught RangeError: async failure\n');
  });

  it('fails as usual on an uncaught error at top level: stack printed, exit code 1', async () => {
    const result = await outcome('error');
    expect(result.signal).to.equal(null);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.equal('before the error\n');
    expect(result.stderr).to.match(/RangeError: top-level failure\n\s+at .*hosted-error\.ts:6/);
  });

  it('exits when the main flow ends, even with a green thread still sleeping', async () => {
    const result = await outcome('exit');
    expectClean(result);
    expect(result.stdout).to.equal('done 42\n');
    // The sleeper would hold it 30 s.
    expect(result.seconds).to.be.below(HANG_LIMIT);
  });

  it('starts nothing with the bridge off: green calls throw BridgeDisabledError', async () => {
    const result = await outcome('off');
    expectClean(result);
    expect(result.stdout).to.equal('top level: BridgeDisabledError\n');
  });

  it("keeps the loop placement with configure({ hub: 'loop' })", async () => {
    const result = await outcome('loop');
    expectClean(result);
    expect(result.stdout).to.equal('top level: BlockingOnHubError\n');
  });

  it('keeps the loop placement while a loop runs on the main thread', async () => {
    const result = await outcome('owned');
    expectClean(result);
    expect(result.stdout).to.equal('top level: slept\nin the loop: BlockingOnHubError, awaited 8\n');
  });

  it('refuses, saying why, hub objects the green main flow made when async code of a later loop uses them', async () => {
    const result = await outcome('objects');
    expectClean(result);
    expect(result.stdout).to.equal(
      'top level: slept\nqueue: RuntimeError, naming why\ncounter: RuntimeError, naming why\nmade in the loop: 5, 1\n',
    );
  });

  it('fires the first Timeout of the main flow on time, and cancels a timed-out callAsync task', async () => {
    const result = await outcome('timeout');
    expectClean(result);
    // The async task's line and the main flow's come from two threads: either order.
    expect(result.stdout.split('\n').sort()).to.deep.equal(
      ['', 'async task: CancelledError', 'async task: finished', 'callAsync: fired on time', 'first: fired on time'].concat(
        'second: fired on time',
        'withTimeout: expired',
      ),
    );
  });

  it("prints green threads' output and an unwatched spawnN failure with its stack", async () => {
    const result = await outcome('output');
    expectClean(result);
    expect(result.stdout).to.equal('main: start\ngreen says one\ngreen says two\nmain: end\n');
    expect(result.stderr).to.include('green warns one\ngreen warns two\n');
    expect(result.stderr).to.match(/RangeError: unwatched failure\n\s+at failGreen .*hosted-lib\.ts:\d+/);
  });
});
