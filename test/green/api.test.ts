/**
 * The green API around threads, after eventlet's api_test and tpool_test:
 * sleep, spawning by module reference, the isMainGreenThread guard, and
 * execute.
 */
import { expect } from 'chai';
import { ValueError } from '../../src/loop/errors.js';
import { sleep as asyncSleep } from '../../src/loop/index.js';
import { execute, isMainGreenThread, sleep, spawn } from '../../src/green/index.js';
import { BlockingOnHubError, NotModuleLevelError, RecursiveSpawnError } from '../../src/bridge/index.js';
import { runInLoop } from '../helpers.js';
import { useGreenWorkers } from '../green-workers.js';
import { task as unguardedTask } from './fixtures/unguarded.js';
import {
  blockingSum,
  countingYields,
  executeAsync,
  executeInGreen,
  exportedAlias,
  inMainThread,
  notExported,
  callSoonThreadsafeFromGreen,
  makeClosure,
  sleepNaN,
  timedSleep,
  yielder,
} from './fixtures/threads.js';

/** Runs `fn` in a green thread; resolves to its error (null if it returned). */
async function errorOf(fn: () => unknown): Promise<unknown> {
  return runInLoop(async () => spawn(fn).then(() => null, (err: unknown) => err));
}

export function closureFactory(): () => number {
  const captured = 3;
  return function closure(): number {
    return captured;
  };
}

class Handler {
  static handle(): number {
    return 1;
  }
}

describe('green: sleep', () => {
  useGreenWorkers();

  it('blocks the green thread for at least the given time', async () => {
    const slept = await runInLoop(async () => spawn(timedSleep, 0.05));
    expect(slept).to.be.at.least(0.049);
  });

  it('yields with sleep(0), many times in a row', async () => {
    expect(await runInLoop(async () => spawn(yielder, 200))).to.equal(200);
  });

  it('rejects NaN with ValueError', async () => {
    expect(await errorOf(sleepNaN)).to.be.instanceOf(ValueError);
  });

  it('refuses to block the event loop thread, naming the async alternative', () => {
    expect(() => sleep(0.01)).to.throw(BlockingOnHubError, /await sleep\(seconds\)/);
  });
});

describe('green: sharing the loop with async code', () => {
  useGreenWorkers();

  it('interleaves a busy green thread with async tasks: neither starves the other', async () => {
    const shared = new SharedArrayBuffer(4);
    const progress = new Int32Array(shared);
    const seen = new Set<number>();
    const yields = await runInLoop(async () => {
      const thread = spawn(countingYields, shared, 300);
      while (!thread.dead) {
        seen.add(Atomics.load(progress, 0));
        await asyncSleep(0);
      }
      return await thread;
    });
    expect(yields).to.equal(300);
    // The task ran between the green thread's calls, all along, not only before or after.
    const midway = [...seen].filter((value) => value > 0 && value < 300);
    expect(midway.length).to.be.at.least(50);
  });
});

describe('green: spawning by module reference', () => {
  useGreenWorkers();

  it('refuses a closure at once, explaining why and what to do', () => {
    expect(() => spawn(closureFactory())).to.throw(
      NotModuleLevelError,
      /closure\(\) is not a module-level function .* export it at the top level of its module/,
    );
  });

  it('refuses an anonymous function, a bound function and a static method', () => {
    expect(() => spawn(() => 1)).to.throw(NotModuleLevelError, /anonymous/);
    expect(() => spawn(blockingSum.bind(null, [1]))).to.throw(NotModuleLevelError, /bound/);
    expect(() => spawn(Handler.handle)).to.throw(NotModuleLevelError, /not a module-level function/);
  });

  it('refuses a built-in function', () => {
    expect(() => spawn(Math.max)).to.throw(NotModuleLevelError, /built-in/);
  });

  it('refuses, at the spawn, a module-level function that is not exported, before any worker imports it', () => {
    expect(() => spawn(notExported())).to.throw(
      NotModuleLevelError,
      /notExportedTarget\(\) is not exported by file:.*threads\.ts: export it/,
    );
  });

  it('refuses, at the spawn, a closure that uses nothing of its enclosing function', () => {
    expect(() => spawn(makeClosure())).to.throw(NotModuleLevelError, /innerClosure\(\) is not (exported|a module-level function)/);
  });

  it('finds a function exported under another name by its own name', async () => {
    expect(await runInLoop(async () => spawn(exportedAlias))).to.equal(1);
  });

  it('refuses callSoonThreadsafe on a green thread\'s own loop, which never runs, naming callAsync', async () => {
    const outcome = await runInLoop(async () => spawn(callSoonThreadsafeFromGreen));
    expect(outcome).to.match(/^RuntimeError: callSoonThreadsafe\(\) from a green thread: .*callAsync\(fn, \.\.\.args\)/);
  });

  it('tells green workers from the main thread with isMainGreenThread()', async () => {
    expect(isMainGreenThread()).to.equal(true);
    expect(await runInLoop(async () => spawn(inMainThread))).to.equal(false);
  });

  it('detects a spawn by unguarded module top-level code in a green worker', async () => {
    const error = await errorOf(unguardedTask);
    expect(error).to.be.instanceOf(RecursiveSpawnError);
    expect((error as Error).message).to.match(/if \(isMainGreenThread\(\)\)/);
  });
});

describe('green: execute (tpool)', () => {
  useGreenWorkers();

  it('runs a blocking function for a green thread and returns its result', async () => {
    expect(await runInLoop(async () => spawn(executeInGreen, [1, 2, 3]))).to.equal(6);
  });

  it('refuses an async function', async () => {
    expect(await errorOf(executeAsync)).to.be.instanceOf(TypeError);
  });

  it('refuses to block the event loop thread, naming runInExecutor', () => {
    expect(() => execute(blockingSum, [1])).to.throw(BlockingOnHubError, /runInExecutor/);
  });
});
