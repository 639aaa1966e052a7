/**
 * Lock, Event, Condition and the scoped forms run()/hold(), in the spirit of
 * CPython's test_locks.py: ordering, fairness, cancellation races, error
 * messages, and both kinds of coroutine.
 */
import { expect } from 'chai';
import {
  CancelledError,
  Condition,
  Event,
  Lock,
  RuntimeError,
  TimeoutError,
  createTask,
  getRunningLoop,
  sleep,
  timeout,
  type Task,
} from '../../src/loop/index.js';
import { runInLoop, rejection } from '../helpers.js';

/** Cancels `task` after `seconds`: a timeout, the way asyncio's are built. */
function cancelAfter<T>(task: Task<T>, seconds: number): void {
  getRunningLoop().callLater(seconds, () => task.cancel());
}

describe('Lock', () => {
  it('acquire() locks and resolves to true; release() unlocks', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      expect(lock.locked()).to.equal(false);
      expect(await lock.acquire()).to.equal(true);
      expect(lock.locked()).to.equal(true);
      expect(String(lock)).to.equal('<Lock [locked]>');
      lock.release();
      expect(lock.locked()).to.equal(false);
    });
  });

  it('releasing an unlocked lock raises RuntimeError', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      expect(() => lock.release()).to.throw(RuntimeError, 'Lock is not acquired.');
    });
  });

  it('wakes waiters one at a time in FIFO order', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      const order: number[] = [];
      await lock.acquire();
      const tasks = [1, 2, 3].map((n) =>
        createTask(async () => {
          await lock.acquire();
          order.push(n);
        }),
      );
      await sleep(0);
      expect(String(lock)).to.equal('<Lock [locked, waiters:3]>');
      for (const expected of [[1], [1, 2], [1, 2, 3]]) {
        lock.release();
        await sleep(0);
        await sleep(0);
        expect(order).to.deep.equal(expected);
        expect(lock.locked()).to.equal(true);
      }
      await Promise.all(tasks);
    });
  });

  it('a newcomer does not take the lock from a woken waiter', async () => {
    await runInLoop(function* () {
      const lock = new Lock();
      const order: string[] = [];
      yield lock.acquire();
      createTask(function* () {
        yield lock.acquire();
        order.push('waiter');
        lock.release();
      });
      yield sleep(0.01);
      lock.release(); // the waiter is woken, and runs on the next iteration
      expect(lock.locked()).to.equal(false);
      yield* lock.acquire(); // this task arrives after it
      order.push('newcomer');
      lock.release();
      expect(order).to.deep.equal(['waiter', 'newcomer']);
    });
  });

  it('a waiter cancelled while another is woken does not wake a second one', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      let holders = 0;
      await lock.acquire();
      const woken = createTask(function* () {
        yield lock.acquire();
        holders++;
      });
      const cancelled = createTask(async () => lock.acquire());
      const last = createTask(async () => {
        await lock.acquire();
        holders++;
      });
      await sleep(0.01);
      lock.release(); // wakes `woken`, which runs on the next iteration
      cancelled.cancel(); // its clean-up runs first, with the lock free
      await woken;
      await sleep(0.01);
      expect(holders).to.equal(1);
      expect(last.done()).to.equal(false);
      lock.release();
      await last;
      expect(holders).to.equal(2);
    });
  });

  it('cancelling a blocked acquire raises CancelledError and leaves no waiter', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      await lock.acquire();
      const task = createTask(async () => lock.acquire());
      await sleep(0);
      task.cancel();
      expect(await rejection(task)).to.be.instanceOf(CancelledError);
      expect(String(lock)).to.equal('<Lock [locked]>');
      lock.release();
      expect(lock.locked()).to.equal(false);
      expect(await lock.acquire()).to.equal(true);
    });
  });

  for (const kind of ['async function', 'generator'] as const) {
    it(`a waiter (${kind}) cancelled after its wake-up passes the lock on`, async () => {
      await runInLoop(async () => {
        const lock = new Lock();
        const got: string[] = [];
        await lock.acquire();
        const waiter = (name: string): Task<void> =>
          kind === 'async function'
            ? createTask(async () => {
                await lock.acquire();
                got.push(name);
              })
            : createTask(function* () {
                yield lock.acquire();
                got.push(name);
              });
        const first = waiter('first');
        const second = waiter('second');
        await sleep(0);
        lock.release(); // wakes `first`...
        first.cancel(); // ...which is cancelled before it runs
        expect(await rejection(first)).to.be.instanceOf(CancelledError);
        await second;
        expect(got).to.deep.equal(['second']);
        expect(lock.locked()).to.equal(true); // held by `second`, not leaked
      });
    });
  }

  it('a woken waiter cancelled along with a later waiter still wakes the next one', async () => {
    // CPython's test_finished_waiter_cancelled.
    await runInLoop(async () => {
      const lock = new Lock();
      await lock.acquire();
      const b = createTask(async () => lock.acquire());
      await sleep(0);
      const c = createTask(async () => lock.acquire());
      b.cancel();
      lock.release();
      await sleep(0);
      await sleep(0);
      expect(lock.locked()).to.equal(true);
      expect(await c).to.equal(true);
      expect(b.cancelled()).to.equal(true);
    });
  });

  it('a generator coroutine acquires with yield and is interrupted by cancel()', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      const task = createTask(function* () {
        yield lock.acquire();
        yield* lock.acquire(); // blocks: the lock is not reentrant
      });
      await sleep(0);
      expect(lock.locked()).to.equal(true);
      task.cancel();
      expect(await rejection(task)).to.be.instanceOf(CancelledError);
      expect(String(lock)).to.equal('<Lock [locked]>');
    });
  });

  it('times out through cancellation and can be acquired afterwards', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      await lock.acquire();
      const task = createTask(async () => lock.acquire());
      cancelAfter(task, 0.01);
      expect(await rejection(task)).to.be.instanceOf(CancelledError);
      const timedOut = await rejection(timeout(0.01).run(() => lock.acquire()));
      expect(timedOut).to.be.instanceOf(TimeoutError);
      expect(String(lock)).to.equal('<Lock [locked]>');
      lock.release();
      expect(await lock.acquire()).to.equal(true);
    });
  });

  it('does nothing until awaited, like a coroutine object', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      const pending = lock.acquire();
      expect(lock.locked()).to.equal(false);
      await pending;
      expect(lock.locked()).to.equal(true);
    });
  });

  it('is bound to the first loop it waits on', async () => {
    const lock = new Lock();
    await runInLoop(async () => {
      await lock.acquire();
      const task = createTask(async () => lock.acquire());
      await sleep(0);
      task.cancel();
      await rejection(task);
    });
    const err = await runInLoop(async () => rejection(lock.acquire()));
    expect(err).to.be.instanceOf(RuntimeError);
    expect((err as Error).message).to.match(/is bound to a different event loop/);
  });
});

describe('Lock.run() and hold()', () => {
  it('run(fn) holds the lock while fn runs and resolves to its result', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      const result = await lock.run(async () => {
        expect(lock.locked()).to.equal(true);
        await sleep(0);
        return 'done';
      });
      expect(result).to.equal('done');
      expect(lock.locked()).to.equal(false);
      expect(await lock.run(() => 7)).to.equal(7);
    });
  });

  it('run(fn) releases when fn throws or the task is cancelled', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      const err = await rejection(
        lock.run(() => {
          throw new Error('boom');
        }),
      );
      expect((err as Error).message).to.equal('boom');
      expect(lock.locked()).to.equal(false);

      const task = createTask(async () => lock.run(() => sleep(10)));
      await sleep(0);
      expect(lock.locked()).to.equal(true);
      task.cancel();
      expect(await rejection(task)).to.be.instanceOf(CancelledError);
      expect(lock.locked()).to.equal(false);
    });
  });

  it('run(fn) serializes critical sections', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      let inside = 0;
      let most = 0;
      const section = async (): Promise<void> => {
        inside++;
        most = Math.max(most, inside);
        await sleep(0);
        inside--;
      };
      await Promise.all([1, 2, 3, 4].map(() => createTask(async () => lock.run(section))));
      expect(most).to.equal(1);
    });
  });

  it('run(fn) in a generator coroutine runs a generator fn inline', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      const result = await createTask(function* () {
        return yield* lock.run(function* () {
          yield sleep(0);
          return lock.locked();
        });
      });
      expect(result).to.equal(true);
      expect(lock.locked()).to.equal(false);
    });
  });

  it('hold() works with await using, and releases exactly once', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      {
        await using held = await lock.hold();
        expect(held.held).to.equal(true);
        expect(lock.locked()).to.equal(true);
        held.release();
        expect(lock.locked()).to.equal(false);
        await lock.acquire(); // someone else's hold: disposing must not release it
      }
      expect(lock.locked()).to.equal(true);
    });
  });

  it('hold() releases when the block throws', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      const failing = async (): Promise<void> => {
        await using _held = await lock.hold();
        throw new Error('inside');
      };
      expect(((await rejection(failing())) as Error).message).to.equal('inside');
      expect(lock.locked()).to.equal(false);
    });
  });

  it('hold() works with using in a generator coroutine', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      const seen = await createTask(function* () {
        using _held = yield* lock.hold();
        yield sleep(0);
        return lock.locked();
      });
      expect(seen).to.equal(true);
      expect(lock.locked()).to.equal(false);
    });
  });
});

describe('Event', () => {
  it('set() wakes every waiter; wait() then returns at once until clear()', async () => {
    await runInLoop(async () => {
      const event = new Event();
      const woken: number[] = [];
      const tasks = [1, 2, 3].map((n) =>
        createTask(async () => {
          expect(await event.wait()).to.equal(true);
          woken.push(n);
        }),
      );
      await sleep(0);
      expect(woken).to.deep.equal([]);
      expect(String(event)).to.equal('<Event [unset, waiters:3]>');
      event.set();
      expect(event.isSet()).to.equal(true);
      await Promise.all(tasks);
      expect(woken).to.deep.equal([1, 2, 3]);
      expect(await event.wait()).to.equal(true);
      event.clear();
      expect(event.isSet()).to.equal(false);
      const late = createTask(async () => event.wait());
      await sleep(0.01);
      expect(late.done()).to.equal(false);
      event.set();
      expect(await late).to.equal(true);
    });
  });

  it('waiters woken by set() return even if clear() follows at once', async () => {
    await runInLoop(async () => {
      const event = new Event();
      const task = createTask(async () => event.wait());
      await sleep(0);
      event.set();
      event.clear();
      expect(await task).to.equal(true);
      expect(event.isSet()).to.equal(false);
    });
  });

  it('a cancelled waiter leaves; the others are still woken', async () => {
    await runInLoop(async () => {
      const event = new Event();
      const cancelled = createTask(async () => event.wait());
      const generator = createTask(function* () {
        return (yield event.wait()) as boolean;
      });
      await sleep(0);
      cancelled.cancel();
      expect(await rejection(cancelled)).to.be.instanceOf(CancelledError);
      expect(String(event)).to.equal('<Event [unset, waiters:1]>');
      event.set();
      expect(await generator).to.equal(true);
    });
  });
});

describe('Condition', () => {
  it('wait() and notify() need the lock held', async () => {
    await runInLoop(async () => {
      const cond = new Condition();
      expect(await rejection(cond.wait())).to.be.instanceOf(RuntimeError).with.property(
        'message',
        'cannot wait on un-acquired lock',
      );
      expect(() => cond.notify()).to.throw(RuntimeError, 'cannot notify on un-acquired lock');
      expect(() => cond.notifyAll()).to.throw(RuntimeError, 'cannot notify on un-acquired lock');
      expect(() => new Condition({} as Lock)).to.throw(TypeError, /must be a Lock/);
    });
  });

  it('notify(n) wakes n waiters in FIFO order, each holding the lock on return', async () => {
    await runInLoop(async () => {
      const cond = new Condition();
      const order: number[] = [];
      const tasks = [1, 2, 3].map((n) =>
        createTask(async () => {
          await cond.acquire();
          expect(await cond.wait()).to.equal(true);
          expect(cond.locked()).to.equal(true);
          order.push(n);
          cond.release();
        }),
      );
      await sleep(0.01);
      expect(String(cond)).to.equal('<Condition [unlocked, waiters:3]>');
      await cond.run(() => cond.notify());
      await sleep(0.01);
      expect(order).to.deep.equal([1]);
      await cond.run(() => cond.notify(2));
      await Promise.all(tasks);
      expect(order).to.deep.equal([1, 2, 3]);
    });
  });

  it('notifyAll() wakes every waiter', async () => {
    await runInLoop(async () => {
      const cond = new Condition();
      const tasks = [1, 2, 3].map(() =>
        createTask(async () => {
          await cond.run(() => cond.wait());
        }),
      );
      await sleep(0);
      await cond.run(() => cond.notifyAll());
      await Promise.all(tasks);
      expect(cond.locked()).to.equal(false);
    });
  });

  it('waitFor(predicate) waits until the predicate is truthy and returns its value', async () => {
    await runInLoop(async () => {
      const cond = new Condition();
      let value = 0;
      const waiter = createTask(async () => cond.run(() => cond.waitFor(() => (value >= 2 ? `at ${value}` : ''))));
      for (let i = 0; i < 2; i++) {
        await sleep(0);
        await cond.run(() => {
          value++;
          cond.notify();
        });
      }
      expect(await waiter).to.equal('at 2');
    });
  });

  it('a cancelled wait() re-acquires the lock before raising', async () => {
    await runInLoop(async () => {
      const cond = new Condition();
      let heldWhenCancelled: boolean | null = null;
      const waiter = createTask(async () => {
        await cond.acquire();
        try {
          await cond.wait();
        } catch (err) {
          heldWhenCancelled = cond.locked();
          cond.release();
          throw err;
        }
      });
      await sleep(0);
      await cond.acquire(); // the lock is contended when the cancel arrives
      waiter.cancel();
      await sleep(0.01);
      expect(waiter.done()).to.equal(false); // still re-acquiring
      cond.release();
      expect(await rejection(waiter)).to.be.instanceOf(CancelledError);
      expect(heldWhenCancelled).to.equal(true);
      expect(cond.locked()).to.equal(false);
    });
  });

  for (const kind of ['async function', 'generator'] as const) {
    it(`a waiter (${kind}) cancelled after notify() passes the notification on`, async () => {
      await runInLoop(async () => {
        const cond = new Condition();
        const woken: string[] = [];
        const waiter = (name: string): Task<void> =>
          kind === 'async function'
            ? createTask(async () => {
                await cond.acquire();
                try {
                  await cond.wait();
                  woken.push(name);
                } finally {
                  cond.release();
                }
              })
            : createTask(function* () {
                yield cond.acquire();
                try {
                  yield cond.wait();
                  woken.push(name);
                } finally {
                  cond.release();
                }
              });
        const first = waiter('first');
        const second = waiter('second');
        await sleep(0);
        await cond.acquire();
        cond.notify(1); // for `first`...
        first.cancel(); // ...which is cancelled before it runs
        cond.release();
        expect(await rejection(first)).to.be.instanceOf(CancelledError);
        await second;
        expect(woken).to.deep.equal(['second']);
      });
    });
  }

  it('conditions can share one Lock', async () => {
    await runInLoop(async () => {
      const lock = new Lock();
      const notEmpty = new Condition(lock);
      const notFull = new Condition(lock);
      await lock.acquire();
      expect(notEmpty.locked()).to.equal(true);
      expect(notFull.locked()).to.equal(true);
      notFull.release();
      expect(lock.locked()).to.equal(false);
      const items: number[] = [];
      const consumer = createTask(async () => notEmpty.run(() => notEmpty.waitFor(() => items.shift())));
      await sleep(0);
      await notFull.run(() => {
        items.push(5);
        notEmpty.notify();
      });
      expect(await consumer).to.equal(5);
    });
  });

  it('hold() and generator waits work on a Condition', async () => {
    await runInLoop(async () => {
      const cond = new Condition();
      let ready = false;
      const waiter = createTask(function* () {
        using _held = yield* cond.hold();
        return yield* cond.waitFor(() => ready);
      });
      await sleep(0);
      {
        await using _held = await cond.hold();
        ready = true;
        cond.notifyAll();
      }
      expect(await waiter).to.equal(true);
      expect(cond.locked()).to.equal(false);
    });
  });
});

