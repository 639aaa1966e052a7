/**
 * Green semaphores, after eventlet's semaphore_test: permits across green
 * threads, mutual exclusion, timeouts, FIFO fairness, kill while blocked,
 * BoundedSemaphore and CappedSemaphore, and the async twins.
 */
import { expect } from 'chai';
import { BoundedSemaphore, CappedSemaphore, Event, LightQueue, Semaphore, spawn } from '../../src/green/index.js';
import { BlockingOnHubError } from '../../src/bridge/index.js';
import { CancelledError, ValueError } from '../../src/loop/errors.js';
import { createTask, sleep as asyncSleep } from '../../src/loop/index.js';
import { runInLoop } from '../helpers.js';
import { useGreenWorkers, waitUntil } from '../green-workers.js';
import {
  acquireOne,
  acquireUntilKilled,
  cappedBounded,
  cappedZeroLimit,
  criticalSection,
  nonBlocking,
  overRelease,
  queries,
  releaseOne,
  releaseThenRetake,
  timedAcquire,
} from './fixtures/primitives-semaphore.js';

/** Waits until `n` callers are blocked in acquire(). */
async function blockedIn(semaphore: Semaphore, n: number): Promise<void> {
  expect(await waitUntil(() => semaphore.balance === semaphore.counter - n), `${n} blocked`).to.equal(true);
}

describe('green: Semaphore across green threads', () => {
  useGreenWorkers();

  it('lets one green thread at a time into a section guarded by Semaphore(1)', async () => {
    const log = await runInLoop(async () => {
      const mutex = new Semaphore();
      const entries = new LightQueue<string>();
      await Promise.all([spawn(criticalSection, mutex, entries, 'a', 10), spawn(criticalSection, mutex, entries, 'b', 10)]);
      const lines: string[] = [];
      while (!entries.empty()) lines.push(entries.getNowait());
      return lines;
    });
    expect(log).to.have.length(40);
    for (let i = 0; i < log.length; i += 2) {
      expect(log[i].endsWith(' in'), `${log[i]} enters`).to.equal(true);
      expect(log[i + 1]).to.equal(log[i].replace(' in', ' out'));
    }
  });

  it('hands a released mutex to the blocked thread, never back to the releaser (eventlet test_semaphore_contention)', async () => {
    const [retaken, waiterGot] = await runInLoop(async () => {
      const mutex = new Semaphore();
      const ready = new LightQueue<string>();
      const go = new Event<void>();
      const holder = spawn(releaseThenRetake, mutex, ready, go);
      expect(await ready.getAsync()).to.equal('holding');
      const waiter = spawn(acquireOne, mutex);
      await blockedIn(mutex, 1);
      go.send();
      return Promise.all([holder, waiter]);
    });
    expect(retaken).to.equal(false);
    expect(waiterGot).to.equal(true);
  });

  it('returns false from acquire(true, timeout) after at least the timeout (eventlet test_timeout)', async () => {
    const [acquired, waited] = await runInLoop(async () => spawn(timedAcquire, new Semaphore(0), 0.05));
    expect(acquired).to.equal(false);
    expect(waited).to.be.at.least(0.05);
  });

  it('returns false without blocking, and refuses a timeout with it (eventlet test_non_blocking)', async () => {
    expect(await runInLoop(async () => spawn(nonBlocking))).to.deep.equal(['false', 'ValueError']);
  });

  it('wakes blocked acquirers in FIFO order, whatever their thread', async () => {
    const order = await runInLoop(async () => {
      const semaphore = new Semaphore(0);
      const threads = [];
      for (let i = 1; i <= 3; i++) {
        threads.push(spawn(acquireOne, semaphore));
        await blockedIn(semaphore, i);
      }
      const result: number[] = [];
      for (let i = 0; i < 3; i++) {
        semaphore.release();
        const index = await waitForNextDone(threads, result);
        result.push(index);
      }
      return result;
    });
    expect(order).to.deep.equal([0, 1, 2]);
  });

  it('interrupts a blocked acquire() with kill(); no permit is lost', async () => {
    await runInLoop(async () => {
      const semaphore = new Semaphore(0);
      const ready = new LightQueue<string>();
      const thread = spawn(acquireUntilKilled, semaphore, ready);
      expect(await ready.getAsync()).to.equal('parked');
      await blockedIn(semaphore, 1);
      thread.kill();
      expect(await thread).to.equal('GreenletExit');
      expect(semaphore.balance).to.equal(0);
      semaphore.release();
      expect(semaphore.counter).to.equal(1);
    });
  });

  it('gives back a permit handed to an acquirer killed at that very moment', async () => {
    await runInLoop(async () => {
      const semaphore = new Semaphore(0);
      const thread = spawn(acquireOne, semaphore);
      await blockedIn(semaphore, 1);
      semaphore.release();
      thread.kill();
      expect(await waitUntil(() => thread.dead)).to.equal(true);
      expect(await waitUntil(() => semaphore.counter === 1)).to.equal(true);
    });
  });

  it('answers counter, locked, bounded and balance from green code', async () => {
    expect(await runInLoop(async () => spawn(queries, new Semaphore(2)))).to.deep.equal([2, false, false, 2]);
  });
});

/** The index of the first of `threads` found dead that is not in `seen`. */
async function waitForNextDone(threads: { dead: boolean }[], seen: number[]): Promise<number> {
  let found = -1;
  await waitUntil(() => {
    found = threads.findIndex((thread, i) => thread.dead && !seen.includes(i));
    return found >= 0;
  });
  return found;
}

describe('green: BoundedSemaphore and CappedSemaphore', () => {
  useGreenWorkers();

  it('raises ValueError when a BoundedSemaphore is released past its initial value', async () => {
    expect(await runInLoop(async () => spawn(overRelease))).to.equal('ValueError: Semaphore released too many times');
    expect(() => new BoundedSemaphore(0).release()).to.throw(ValueError);
  });

  it('blocks release() at the limit and acquire() at zero (eventlet test_bounded)', async () => {
    expect(await runInLoop(async () => spawn(cappedBounded))).to.deep.equal([true, true, true, -3, 3, true, true]);
  });

  it('pairs an acquirer and a releaser at limit zero (eventlet test_bounded_with_zero_limit)', async () => {
    expect(await runInLoop(async () => spawn(cappedZeroLimit))).to.equal(true);
  });

  it('validates its arguments as eventlet', () => {
    expect(() => new CappedSemaphore(-1, 2)).to.throw(ValueError, /positive/);
    expect(() => new CappedSemaphore(3, 2)).to.throw(ValueError, /cannot be more than/);
    expect(() => new Semaphore(-1)).to.throw(ValueError);
    expect(() => new Semaphore('foo' as unknown as number)).to.throw(TypeError);
    expect(new Semaphore(1e2).counter).to.equal(100);
    const capped = new CappedSemaphore(0, 1);
    expect([capped.locked(), capped.bounded(), capped.acquire(false), capped.release(false)]).to.deep.equal([
      true,
      false,
      false,
      true,
    ]);
    expect(capped.release(false)).to.equal(false);
  });
});

describe('green: semaphores from async code', () => {
  useGreenWorkers();

  it('waits in acquireAsync() for a release by a green thread', async () => {
    await runInLoop(async () => {
      const semaphore = new Semaphore(0);
      spawn(releaseOne, semaphore);
      expect(await semaphore.acquireAsync()).to.equal(true);
      expect(semaphore.counter).to.equal(0);
    });
  });

  it('returns false from acquireAsync(timeout), and nothing is held', async () => {
    await runInLoop(async () => {
      const semaphore = new Semaphore(0);
      const started = performance.now();
      expect(await semaphore.acquireAsync(0.02)).to.equal(false);
      expect(performance.now() - started).to.be.at.least(19);
      expect(semaphore.balance).to.equal(0);
    });
  });

  it('holds nothing when the task waiting in acquireAsync() is cancelled, even once handed a permit', async () => {
    await runInLoop(async () => {
      const semaphore = new Semaphore(0);
      const waiting = createTask(async () => semaphore.acquireAsync());
      await asyncSleep(0);
      waiting.cancel();
      expect(await waiting.then(() => 'held', (err: unknown) => err instanceof CancelledError)).to.equal(true);
      const handed = createTask(async () => semaphore.acquireAsync());
      await asyncSleep(0);
      semaphore.release();
      handed.cancel();
      expect(await handed.then(() => 'held', (err: unknown) => err instanceof CancelledError)).to.equal(true);
      expect(semaphore.counter).to.equal(1);
    });
  });

  it('runs a function holding a permit with runAsync(), releasing it after', async () => {
    await runInLoop(async () => {
      const semaphore = new Semaphore(1);
      const result = await semaphore.runAsync(async () => {
        expect(semaphore.locked()).to.equal(true);
        await asyncSleep(0);
        return 'done';
      });
      expect(result).to.equal('done');
      expect(semaphore.locked()).to.equal(false);
      const capped = new CappedSemaphore(1, 1);
      expect(await capped.runAsync(() => capped.locked())).to.equal(true);
      expect(capped.bounded()).to.equal(true);
    });
  });

  it('refuses to block the loop thread, naming the async twin', async () => {
    await runInLoop(async () => {
      const semaphore = new Semaphore(0);
      expect(() => semaphore.acquire()).to.throw(BlockingOnHubError, /acquireAsync/);
      expect(semaphore.acquire(false)).to.equal(false);
      expect(() => semaphore.acquire(true, -2)).to.throw(ValueError, /strictly positive/);
      const capped = new CappedSemaphore(1, 1);
      expect(() => capped.release()).to.throw(BlockingOnHubError, /releaseAsync/);
    });
  });
});
