/**
 * waitFor(), in the spirit of CPython's test_waitfor: on timeout the awaited
 * work is cancelled and waited for before TimeoutError is raised.
 */
import { expect } from 'chai';
import {
  CancelledError,
  TimeoutError,
  ValueError,
  createTask,
  currentTask,
  getRunningLoop,
  sleep,
  wait,
  waitFor,
  type Task,
} from '../../src/loop/index.js';
import { runFaked, rejection } from '../helpers.js';

const EPSILON = 0.0001;

/** Runs for `duration` seconds whatever cancels it gets (CPython's SlowTask). */
class SlowTask {
  exited = false;
  constructor(private readonly duration = 0.2) {}

  async run(): Promise<void> {
    const loop = getRunningLoop();
    const exitAt = loop.time() + this.duration;
    for (let left = this.duration; left > 0; left = exitAt - loop.time()) {
      try {
        await sleep(left);
      } catch {
        // ignore cancellation
      }
    }
    this.exited = true;
  }
}

describe('waitFor()', () => {
  it('returns the result when it comes in time', async () => {
    await runFaked(async () => {
      const loop = getRunningLoop();
      const fut = loop.createFuture<string>();
      loop.callLater(0.1, () => fut.setResult('ok'));
      expect(await waitFor(fut, 0.2)).to.equal('ok');
    });
  });

  it('with null waits as long as it takes', async () => {
    await runFaked(async () => {
      expect(await waitFor(sleep(100, 'done'), null)).to.equal('done');
      expect(await waitFor((async () => 'coro')(), null)).to.equal('coro');
    });
  });

  it('on timeout cancels the task, waits for it, then raises TimeoutError', async () => {
    await runFaked(async () => {
      const loop = getRunningLoop();
      let running: boolean | null = null;
      const fut = createTask(async () => {
        running = true;
        try {
          await sleep(10);
        } finally {
          running = false;
        }
        return 'done';
      });
      const t0 = loop.time();
      const err = await rejection(waitFor(fut, 0.1));
      expect(err).to.be.instanceOf(TimeoutError);
      expect(loop.time() - t0).to.be.closeTo(0.1, 0.01);
      expect(fut.cancelled()).to.equal(true);
      expect(running).to.equal(false);
    });
  });

  it('waits for a task whose cancellation takes time, and chains the CancelledError', async () => {
    await runFaked(async () => {
      let taskDone = false;
      const inner = createTask(async () => {
        try {
          await sleep(10);
        } catch (e) {
          await sleep(EPSILON);
          throw e;
        } finally {
          taskDone = true;
        }
      });
      const err = await rejection(waitFor(inner, EPSILON));
      expect(err).to.be.instanceOf(TimeoutError);
      expect(taskDone).to.equal(true);
      expect((err as Error).cause).to.be.instanceOf(CancelledError);
    });
  });

  it('lets an error raised during the cancellation through', async () => {
    await runFaked(async () => {
      const inner = createTask(async () => {
        try {
          await sleep(0.2);
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw new RangeError('foo');
        }
      });
      expect(await rejection(waitFor(inner, EPSILON))).to.be.instanceOf(RangeError);
    });
  });

  it('returns the value of a coroutine that suppresses the cancellation', async () => {
    await runFaked(async () => {
      const return42 = async (): Promise<number> => {
        try {
          await sleep(10);
        } catch {
          return 42;
        }
        return 0;
      };
      expect(await waitFor(return42(), 0.1)).to.equal(42);
      const inner = async (): Promise<number> => {
        expect(await rejection(sleep(1))).to.be.instanceOf(CancelledError);
        return 1;
      };
      expect(await waitFor(inner(), 0.01)).to.equal(1);
      expect((currentTask() as Task<unknown>).cancelling()).to.equal(0);
    });
  });

  it('a coroutine that ignores cancels keeps waitFor until it exits (SlowTask)', async () => {
    await runFaked(async () => {
      const loop = getRunningLoop();
      const slow = new SlowTask();
      const t0 = loop.time();
      // It swallowed the cancel and finished: as asyncio 3.12, no TimeoutError.
      expect(await waitFor(slow.run(), 0.1)).to.equal(undefined);
      expect(slow.exited).to.equal(true);
      expect(loop.time() - t0).to.be.closeTo(0.2, 0.01);

      const slow2 = new SlowTask();
      const waiting = createTask(() => waitFor(slow2.run(), 0.4));
      await sleep(0);
      waiting.cancel();
      await wait([waiting]);
      expect(slow2.exited).to.equal(true);
    });
  });

  describe('timeout <= 0', () => {
    it('returns the result of a Future already done', async () => {
      await runFaked(async () => {
        const fut = getRunningLoop().createFuture<string>();
        fut.setResult('done');
        expect(await waitFor(fut, 0)).to.equal('done');
      });
    });

    it('never starts a coroutine function or a generator', async () => {
      await runFaked(async () => {
        let started = false;
        const foo = async (): Promise<void> => {
          started = true;
        };
        const gen = function* (): Generator<unknown, void, unknown> {
          started = true;
        };
        expect(await rejection(waitFor(foo, 0))).to.be.instanceOf(TimeoutError);
        expect(await rejection(waitFor(gen(), -1))).to.be.instanceOf(TimeoutError);
        expect(await rejection(waitFor(gen, 0))).to.be.instanceOf(TimeoutError);
        expect(started).to.equal(false);
      });
    });

    it('cancels a running task and waits until it is done', async () => {
      await runFaked(async () => {
        const loop = getRunningLoop();
        for (const delay of [0, -1]) {
          let running: boolean | null = null;
          const started = loop.createFuture<void>();
          const fut = createTask(async () => {
            running = true;
            started.setResult(undefined);
            try {
              await sleep(10);
            } finally {
              running = false;
            }
          });
          await started;
          const t0 = loop.time();
          const err = await rejection(waitFor(fut, delay));
          expect(err).to.be.instanceOf(TimeoutError);
          expect((err as Error).cause).to.be.instanceOf(CancelledError);
          expect(loop.time() - t0).to.be.lessThan(0.1);
          expect(fut.cancelled()).to.equal(true);
          expect(running).to.equal(false);
        }
      });
    });
  });

  describe('cancelling the caller', () => {
    for (const delay of [null, 60]) {
      it(`cancels the awaited task too (timeout ${delay})`, async () => {
        await runFaked(async () => {
          const loop = getRunningLoop();
          const task = createTask(async () => {
            await loop.createFuture();
          });
          const waiting = createTask(() => waitFor(task, delay));
          await sleep(0);
          waiting.cancel();
          expect(await rejection(waiting)).to.be.instanceOf(CancelledError);
          expect(task.cancelled()).to.equal(true);
        });
      });
    }

    it('stays cancellable while the awaited task holds up its cancellation', async () => {
      await runFaked(async () => {
        const inner = createTask(async () => {
          try {
            await sleep(0.3);
          } catch {
            try {
              await sleep(0.3);
            } catch {
              await sleep(0.3);
            }
          }
          return 42;
        });
        const waiting = createTask(() => waitFor(inner, 0.1));
        waiting.cancel();
        expect(await rejection(waiting)).to.be.instanceOf(CancelledError);
        expect(await inner).to.equal(42);
      });
    });

    it('a cancel right after a quick waitFor is not lost', async () => {
      await runFaked(async () => {
        let reachedEnd = false;
        const task = createTask(async () => {
          await waitFor((async () => undefined)(), 100);
          await sleep(1);
          reachedEnd = true;
        });
        await sleep(0);
        expect(task.done()).to.equal(false);
        task.cancel();
        expect(await rejection(task)).to.be.instanceOf(CancelledError);
        expect(reachedEnd).to.equal(false);
      });
    });
  });

  describe('generator coroutines', () => {
    it('a generator task yields waitFor()', async () => {
      await runFaked(async () => {
        const task = createTask(function* (): Generator<unknown, string, unknown> {
          const quick = (yield waitFor(sleep(0.01, 'quick'), 1)) as string;
          try {
            yield waitFor(sleep(10), 0.01);
          } catch (e) {
            return `${quick} then ${(e as Error).name}`;
          }
          return 'no timeout';
        });
        expect(await task).to.equal('quick then TimeoutError');
      });
    });

    it('waitFor() of a generator cancels it on timeout', async () => {
      await runFaked(async () => {
        let cleanedUp = false;
        const gen = function* (): Generator<unknown, void, unknown> {
          try {
            yield sleep(10);
          } finally {
            cleanedUp = true;
          }
        };
        expect(await rejection(waitFor(gen(), 0.01))).to.be.instanceOf(TimeoutError);
        expect(cleanedUp).to.equal(true);
      });
    });
  });

  it('refuses what it cannot wait for, and a bad timeout', async () => {
    await runFaked(async () => {
      expect(await rejection(waitFor(42 as unknown as Promise<number>, 1))).to.be.instanceOf(TypeError);
      expect(await rejection(waitFor(sleep(0), '1' as unknown as number))).to.be.instanceOf(TypeError);
      expect(await rejection(waitFor(sleep(0), Number.NaN))).to.be.instanceOf(ValueError);
    });
  });
});
