/**
 * Semaphore and BoundedSemaphore, in the spirit of CPython's test_locks.py
 * (SemaphoreTests): permit counting, FIFO hand-off, cancellation races.
 */
import { expect } from 'chai';
import {
  BoundedSemaphore,
  CancelledError,
  Semaphore,
  TimeoutError,
  ValueError,
  createTask,
  getRunningLoop,
  sleep,
  waitFor,
  type Task,
} from '../../src/loop/index.js';
import { runInLoop, rejection } from '../helpers.js';

describe('Semaphore', () => {
  it('checks its initial value', () => {
    expect(() => new Semaphore(-1)).to.throw(ValueError, 'Semaphore initial value must be >= 0');
    expect(() => new Semaphore(1.5)).to.throw(TypeError, /must be an integer, got 1.5/);
    expect(() => new Semaphore('2' as unknown as number)).to.throw(TypeError, /must be an integer/);
    expect(String(new Semaphore())).to.equal('<Semaphore [unlocked, value:1]>');
    expect(new Semaphore(0).locked()).to.equal(true);
  });

  it('counts permits: acquire takes one, release gives one back', async () => {
    await runInLoop(async () => {
      const sem = new Semaphore(2);
      expect(await sem.acquire()).to.equal(true);
      expect(sem.locked()).to.equal(false);
      await sem.acquire();
      expect(sem.locked()).to.equal(true);
      const third = createTask(async () => sem.acquire());
      await sleep(0.01);
      expect(third.done()).to.equal(false);
      expect(String(sem)).to.equal('<Semaphore [locked, waiters:1]>');
      sem.release();
      expect(await third).to.equal(true);
      expect(sem.locked()).to.equal(true);
      sem.release();
      sem.release();
      expect(String(sem)).to.equal('<Semaphore [unlocked, value:2]>');
    });
  });

  it('serves waiters in FIFO order, and a newcomer waits behind them', async () => {
    await runInLoop(async () => {
      const sem = new Semaphore(0);
      const order: string[] = [];
      const waiter = (name: string): Task<void> =>
        createTask(async () => {
          await sem.acquire();
          order.push(name);
        });
      const tasks = [waiter('a'), waiter('b'), waiter('c')];
      await sleep(0.01);
      sem.release(); // handed to `a` at once
      expect(sem.locked()).to.equal(true);
      tasks.push(waiter('newcomer'));
      sem.release();
      sem.release();
      sem.release();
      await Promise.all(tasks);
      expect(order).to.deep.equal(['a', 'b', 'c', 'newcomer']);
      expect(sem.locked()).to.equal(true);
    });
  });

  it('limits concurrency to its value', async () => {
    await runInLoop(async () => {
      const sem = new Semaphore(3);
      let running = 0;
      let most = 0;
      const work = async (): Promise<void> => {
        running++;
        most = Math.max(most, running);
        await sleep(0);
        await sleep(0);
        running--;
      };
      await Promise.all(Array.from({ length: 10 }, () => createTask(async () => sem.run(work))));
      expect(most).to.equal(3);
      expect(String(sem)).to.equal('<Semaphore [unlocked, value:3]>');
    });
  });

  it('a cancelled waiter takes no permit', async () => {
    await runInLoop(async () => {
      const sem = new Semaphore(0);
      const cancelled = createTask(async () => sem.acquire());
      const next = createTask(async () => sem.acquire());
      await sleep(0.01);
      cancelled.cancel();
      expect(await rejection(cancelled)).to.be.instanceOf(CancelledError);
      sem.release();
      expect(await next).to.equal(true);
      expect(String(sem)).to.equal('<Semaphore [locked]>');
    });
  });

  for (const kind of ['async function', 'generator'] as const) {
    it(`a waiter (${kind}) cancelled after the hand-off passes its permit on`, async () => {
      await runInLoop(async () => {
        const sem = new Semaphore(0);
        const got: string[] = [];
        const waiter = (name: string): Task<void> =>
          kind === 'async function'
            ? createTask(async () => {
                await sem.acquire();
                got.push(name);
              })
            : createTask(function* () {
                yield sem.acquire();
                got.push(name);
              });
        const first = waiter('first');
        const second = waiter('second');
        const third = waiter('third');
        await sleep(0.01);
        sem.release(); // the permit goes to `first`...
        first.cancel(); // ...which is cancelled before it runs
        expect(await rejection(first)).to.be.instanceOf(CancelledError);
        await second;
        expect(got).to.deep.equal(['second']);
        expect(third.done()).to.equal(false);
        expect(String(sem)).to.equal('<Semaphore [locked, waiters:1]>'); // no permit lost or made up
        sem.release();
        await third;
        expect(got).to.deep.equal(['second', 'third']);
      });
    });
  }

  it('cancelling every waiter but one at the hand-off still serves that one (no hang)', async () => {
    // CPython's test_acquire_no_hang and test_acquire_cancel_before_awoken.
    await runInLoop(async () => {
      const sem = new Semaphore(0);
      const tasks = [1, 2, 3, 4].map(() => createTask(async () => sem.acquire()));
      await sleep(0.01);
      sem.release();
      sem.release();
      tasks[0].cancel();
      tasks[1].cancel();
      tasks[2].cancel();
      expect(await tasks[3]).to.equal(true);
      for (const task of tasks.slice(0, 3)) expect(task.cancelled()).to.equal(true);
      expect(String(sem)).to.equal('<Semaphore [unlocked, value:1]>');
    });
  });

  it('times out through cancellation without consuming a permit', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const sem = new Semaphore(1);
      await sem.acquire();
      const task = createTask(async () => sem.acquire());
      loop.callLater(0.01, () => task.cancel());
      expect(await rejection(task)).to.be.instanceOf(CancelledError);
      expect(await rejection(waitFor(sem.acquire(), 0.01))).to.be.instanceOf(TimeoutError);
      expect(String(sem)).to.equal('<Semaphore [locked]>');
      sem.release();
      expect(sem.locked()).to.equal(false);
    });
  });

  it('a generator coroutine acquires with yield and releases through hold()', async () => {
    await runInLoop(async () => {
      const sem = new Semaphore(1);
      const seen = await createTask(function* () {
        using _held = yield* sem.hold();
        const blocked = createTask(function* () {
          yield sem.acquire();
        });
        yield sleep(0.01);
        const done = blocked.done();
        blocked.cancel();
        return [sem.locked(), done];
      });
      expect(seen).to.deep.equal([true, false]);
      expect(sem.locked()).to.equal(false);
    });
  });
});

describe('BoundedSemaphore', () => {
  it('refuses to be released more times than acquired', async () => {
    await runInLoop(async () => {
      const sem = new BoundedSemaphore(2);
      expect(() => sem.release()).to.throw(ValueError, 'BoundedSemaphore released too many times');
      await sem.acquire();
      await sem.acquire();
      sem.release();
      sem.release();
      expect(() => sem.release()).to.throw(ValueError, 'BoundedSemaphore released too many times');
      expect(String(sem)).to.equal('<BoundedSemaphore [unlocked, value:2]>');
    });
  });

  it('checks its initial value like Semaphore', () => {
    expect(() => new BoundedSemaphore(-1)).to.throw(ValueError, 'Semaphore initial value must be >= 0');
  });

  it('run(fn) releases exactly once, even on error', async () => {
    await runInLoop(async () => {
      const sem = new BoundedSemaphore(1);
      const err = await rejection(
        sem.run(async () => {
          await sleep(0);
          throw new Error('work failed');
        }),
      );
      expect((err as Error).message).to.equal('work failed');
      expect(sem.locked()).to.equal(false);
      expect(() => sem.release()).to.throw(ValueError);
    });
  });
});
