/**
 * timeout() / timeoutAt() / Timeout, in the spirit of CPython's test_timeouts:
 * only the Timeout that expired turns its own cancel into TimeoutError.
 */
import { expect } from 'chai';
import {
  CancelledError,
  RuntimeError,
  Timeout,
  TimeoutError,
  ValueError,
  createTask,
  currentTask,
  getRunningLoop,
  sleep,
  timeout,
  timeoutAt,
  type Task,
} from '../../src/loop/index.js';
import { runInLoop, runFaked, rejection } from '../helpers.js';

/** Blocks the thread (the loop too) for `ms` milliseconds, as a busy callback would. */
function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

function self(): Task<unknown> {
  return currentTask() as Task<unknown>;
}

describe('timeout()', () => {
  describe('with run()', () => {
    it('raises TimeoutError when the block overruns, caused by the CancelledError', async () => {
      await runFaked(async () => {
        const cm = timeout(0.01);
        const err = await rejection(cm.run(() => sleep(10)));
        expect(err).to.be.instanceOf(TimeoutError);
        expect((err as Error).cause).to.be.instanceOf(CancelledError);
        expect(cm.expired()).to.equal(true);
        expect(self().cancelling()).to.equal(0);
        await sleep(0.01); // the task is not left cancelled
      });
    });

    it('timeoutAt() takes a loop time, and when() reports it', async () => {
      await runFaked(async () => {
        const deadline = getRunningLoop().time() + 0.01;
        const cm = timeoutAt(deadline);
        expect(cm.when()).to.equal(deadline);
        expect(await rejection(cm.run(() => sleep(10)))).to.be.instanceOf(TimeoutError);
        expect(cm.expired()).to.equal(true);
        expect(cm.when()).to.equal(deadline);
      });
    });

    it('returns the result and does not expire when the block is in time', async () => {
      await runFaked(async () => {
        const loop = getRunningLoop();
        const cm = timeout(10);
        expect(await cm.run(() => sleep(0.01, 'value'))).to.equal('value');
        expect(cm.expired()).to.equal(false);
        expect(cm.when()).to.be.greaterThan(loop.time());
      });
    });

    it('passes the Timeout to the block', async () => {
      await runFaked(async () => {
        const cm = timeout(10);
        expect(await cm.run(async (t) => t)).to.equal(cm);
      });
    });

    it('the block sees CancelledError at its await', async () => {
      await runFaked(async () => {
        let seen: unknown = null;
        const err = await rejection(
          timeout(0.01).run(async () => {
            try {
              await sleep(10);
            } catch (e) {
              seen = e;
              throw e;
            }
          }),
        );
        expect(seen).to.be.instanceOf(CancelledError);
        expect(err).to.be.instanceOf(TimeoutError);
      });
    });

    it('null disables it: when() is null and it never expires', async () => {
      await runFaked(async () => {
        for (const cm of [timeout(null), timeoutAt(null)]) {
          await cm.run(() => sleep(0.01));
          expect(cm.expired()).to.equal(false);
          expect(cm.when()).to.equal(null);
        }
      });
    });

    it('Infinity never fires', async () => {
      await runFaked(async () => {
        const cm = timeout(Infinity);
        await cm.run(() => sleep(5));
        expect(cm.expired()).to.equal(false);
      });
    });

    it('a zero or past deadline expires on the next iteration, even around sleep(0)', async () => {
      await runFaked(async () => {
        const loop = getRunningLoop();
        for (const delay of [0, -11]) {
          const t0 = loop.time();
          const cm = timeout(delay);
          expect(await rejection(cm.run(() => sleep(0)))).to.be.instanceOf(TimeoutError);
          expect(cm.expired()).to.equal(true);
          expect(cm.when()).to.be.at.most(loop.time());
          expect(cm.when()).to.be.closeTo(t0 + delay, 1e-9);
        }
      });
    });

    it('lets an error of the block through unchanged when it did not expire', async () => {
      await runFaked(async () => {
        const cm = timeout(0.01);
        const boom = new Error('boom');
        expect(
          await rejection(
            cm.run(async () => {
              throw boom;
            }),
          ),
        ).to.equal(boom);
        expect(cm.expired()).to.equal(false);
      });
    });

    it('an error raised while handling the expiry wins over TimeoutError', async () => {
      await runFaked(async () => {
        const crash = async (): Promise<void> => {
          try {
            await sleep(1);
          } finally {
            // eslint-disable-next-line no-unsafe-finally
            throw new RangeError('cleanup failed');
          }
        };
        expect(await rejection(timeout(0.01).run(crash))).to.be.instanceOf(RangeError);
      });
    });

    it('a foreign cancel stays a CancelledError when the timeout did not expire', async () => {
      await runFaked(async () => {
        const cm = timeout(10);
        const err = await rejection(
          cm.run(async () => {
            self().cancel();
            await sleep(10);
          }),
        );
        expect(err).to.be.instanceOf(CancelledError);
        expect(cm.expired()).to.equal(false);
        self().uncancel();
      });
    });

    it('does not leave the task cancelled', async () => {
      await runFaked(async () => {
        const task = createTask(async () => {
          expect(await rejection(timeout(0.001).run(() => sleep(10)))).to.be.instanceOf(TimeoutError);
          return 'finished';
        });
        expect(await task).to.equal('finished');
        expect(task.cancelled()).to.equal(false);
      });
    });

    it('a block that swallows the cancel returns normally, and expired() tells', async () => {
      await runFaked(async () => {
        const cm = timeout(0.01);
        const result = await cm.run(async () => {
          try {
            await sleep(10);
          } catch {
            return 'swallowed';
          }
          return 'slept';
        });
        expect(result).to.equal('swallowed');
        expect(cm.expired()).to.equal(true);
        expect(self().cancelling()).to.equal(0);
      });
    });
  });

  describe('nesting', () => {
    it('two expiring together: the inner passes CancelledError on, the outer raises TimeoutError', async () => {
      await runFaked(async () => {
        const deadline = getRunningLoop().time() + 0.01;
        const outer = timeoutAt(deadline);
        const inner = timeoutAt(deadline);
        let innerSaw: unknown = null;
        const err = await rejection(
          outer.run(async () => {
            try {
              await inner.run(() => sleep(10));
            } catch (e) {
              innerSaw = e;
              throw e;
            }
          }),
        );
        expect(innerSaw).to.be.instanceOf(CancelledError);
        expect(err).to.be.instanceOf(TimeoutError);
        expect(outer.expired()).to.equal(true);
        expect(inner.expired()).to.equal(true);
      });
    });

    it('only the expired one raises TimeoutError; the outer sees it as a plain error', async () => {
      await runFaked(async () => {
        const outer = timeout(10);
        const inner = timeout(0.01);
        const err = await rejection(outer.run(() => inner.run(() => sleep(10))));
        expect(err).to.be.instanceOf(TimeoutError);
        expect(inner.expired()).to.equal(true);
        expect(outer.expired()).to.equal(false);
      });
    });

    it('the outer one interrupts the block when only it expires', async () => {
      await runFaked(async () => {
        const outer = timeout(0.02);
        const inner = timeout(10);
        let innerSaw: unknown = null;
        const err = await rejection(
          outer.run(async () => {
            try {
              await inner.run(() => sleep(10));
            } catch (e) {
              innerSaw = e;
              throw e;
            }
          }),
        );
        expect(innerSaw).to.be.instanceOf(CancelledError);
        expect(err).to.be.instanceOf(TimeoutError);
        expect(inner.expired()).to.equal(false);
      });
    });

    it('a busy loop that makes both due at once (real time)', async () => {
      await runInLoop(async () => {
        const loop = getRunningLoop();
        const t0 = loop.time();
        const outer = timeout(0.02);
        const inner = timeout(0.01);
        const err = await rejection(
          outer.run(async () => {
            const innerErr = await rejection(
              inner.run(async () => {
                busyWait(30);
                await sleep(1);
              }),
            );
            // Both cancelled the task: the inner one is not alone, so it passes the cancel on.
            expect(innerErr).to.be.instanceOf(CancelledError);
            throw innerErr;
          }),
        );
        expect(err).to.be.instanceOf(TimeoutError);
        expect(loop.time() - t0).to.be.lessThan(0.5);
      });
    });

    it('the outer one still stops the work after an inner TimeoutError was caught', async () => {
      await runFaked(async () => {
        const outer = timeout(0.1);
        const err = await rejection(
          outer.run(async () => {
            expect(await rejection(timeout(0.01).run(() => sleep(1)))).to.be.instanceOf(TimeoutError);
            await sleep(10);
          }),
        );
        expect(err).to.be.instanceOf(TimeoutError);
        expect(outer.expired()).to.equal(true);
      });
    });

    it('a timeout inside the cleanup of an expired one', async () => {
      await runFaked(async () => {
        const err = await rejection(
          timeout(0.01).run(async () => {
            try {
              await sleep(1);
            } finally {
              expect(await rejection(timeout(0.01).run(() => sleep(10)))).to.be.instanceOf(TimeoutError);
            }
          }),
        );
        expect(err).to.be.instanceOf(TimeoutError);
      });
    });

    it('in the cleanup after a caught cancellation, a timeout still converts its own cancel', async () => {
      await runFaked(async () => {
        try {
          self().cancel();
          await sleep(1);
        } catch (e) {
          expect(e).to.be.instanceOf(CancelledError);
        }
        expect(await rejection(timeout(0).run(() => sleep(1)))).to.be.instanceOf(TimeoutError);
        const err = await rejection(
          timeout(1).run(async () => {
            self().cancel();
            await sleep(2);
          }),
        );
        expect(err).to.be.instanceOf(CancelledError);
        self().uncancel();
        self().uncancel();
      });
    });
  });

  describe('reschedule()', () => {
    it('moves the deadline, null removes it', async () => {
      await runFaked(async () => {
        const loop = getRunningLoop();
        const entered = loop.createFuture<Timeout>();
        const deadline1 = loop.time() + 10;
        const deadline2 = deadline1 + 20;
        const cm = timeoutAt(deadline1);
        const task = createTask(() =>
          cm.run(async (t) => {
            entered.setResult(t);
            await sleep(50);
          }),
        );
        await entered;
        expect(cm.when()).to.equal(deadline1);
        cm.reschedule(deadline2);
        expect(cm.when()).to.equal(deadline2);
        cm.reschedule(null);
        expect(cm.when()).to.equal(null);
        task.cancel();
        expect(await rejection(task)).to.be.instanceOf(CancelledError);
        expect(cm.expired()).to.equal(false);
      });
    });

    it('to a later time: nothing happens at the old deadline', async () => {
      await runFaked(async () => {
        const loop = getRunningLoop();
        const cm = timeout(0.01);
        await cm.run(async (t) => {
          t.reschedule(loop.time() + 1);
          await sleep(0.5);
        });
        expect(cm.expired()).to.equal(false);
      });
    });

    it('to the past: expires on the next iteration', async () => {
      await runFaked(async () => {
        const loop = getRunningLoop();
        const cm = timeout(10);
        const err = await rejection(
          cm.run(async (t) => {
            t.reschedule(loop.time() - 1);
            await sleep(10);
          }),
        );
        expect(err).to.be.instanceOf(TimeoutError);
      });
    });

    it('is a RuntimeError before entry and after exit', async () => {
      await runFaked(async () => {
        const cm = timeout(0.01);
        expect(() => cm.reschedule(1)).to.throw(RuntimeError, /has not been entered/);
        await cm.run(() => sleep(0));
        expect(() => cm.reschedule(1)).to.throw(RuntimeError, /finished/);
        const expired = timeout(0);
        await rejection(expired.run(() => sleep(1)));
        expect(() => expired.reschedule(1)).to.throw(RuntimeError, /expired/);
      });
    });
  });

  describe('misuse and bad input', () => {
    it('cannot be entered twice', async () => {
      await runFaked(async () => {
        const cm = timeout(0.01);
        const err = await rejection(cm.run(() => cm.run(() => sleep(0))));
        expect(err).to.be.instanceOf(RuntimeError).with.property('message').that.match(/has already been entered/);
        expect(await rejection(cm.run(() => sleep(0)))).to.be.instanceOf(RuntimeError);
      });
    });

    it('needs a task', async () => {
      await runFaked(async () => {
        const cm = timeout(0.01);
        // A callback of the loop runs outside any task.
        const err = await new Promise((resolve) => {
          getRunningLoop().callSoon(() => {
            cm.run(() => sleep(0)).then(resolve, resolve);
          });
        });
        expect(err).to.be.instanceOf(RuntimeError).with.property('message').that.match(/task/);
        expect(() => cm.reschedule(1)).to.throw(RuntimeError, /has not been entered/);
      });
    });

    it('timeout() needs a running loop', () => {
      expect(() => timeout(1)).to.throw(RuntimeError, /no running event loop/);
    });

    it('refuses a non-number delay, NaN and a body that is not awaitable', async () => {
      await runFaked(async () => {
        expect(() => timeout('1' as unknown as number)).to.throw(TypeError, /delay/);
        expect(() => timeout(Number.NaN)).to.throw(ValueError, /NaN/);
        expect(() => timeoutAt(Number.NaN)).to.throw(ValueError, /NaN/);
        const cm = timeout(1);
        expect(await rejection(cm.run(42 as unknown as () => Promise<void>))).to.be.instanceOf(TypeError);
        // The refused call did not enter it.
        await cm.run(() => sleep(0));
      });
    });

    it('toString() shows the state', async () => {
      await runFaked(async () => {
        const active = timeout(10);
        await active.run(async (t) => {
          expect(String(t)).to.match(/^<Timeout \[active\] when=\d+(\.\d+)?>$/);
        });
        expect(String(active)).to.equal('<Timeout [finished]>');
        await timeout(null).run(async (t) => {
          expect(String(t)).to.equal('<Timeout [active] when=null>');
        });
        const expired = timeout(0.01);
        await rejection(expired.run(() => sleep(10)));
        expect(String(expired)).to.equal('<Timeout [expired]>');
        expect(String(timeout(1))).to.equal('<Timeout [created]>');
      });
    });
  });

  describe('with generator coroutines', () => {
    it('a generator task yields run() of a generator block', async () => {
      await runFaked(async () => {
        const task = createTask(function* (): Generator<unknown, string, unknown> {
          try {
            yield timeout(0.01).run(function* () {
              yield sleep(10);
            });
          } catch (e) {
            return (e as Error).name;
          }
          return 'no error';
        });
        expect(await task).to.equal('TimeoutError');
        expect(task.cancelled()).to.equal(false);
      });
    });

    it('an async task runs a generator block, which gets the cancel', async () => {
      await runFaked(async () => {
        let seen = '';
        const err = await rejection(
          timeout(0.01).run(function* () {
            try {
              yield sleep(10);
            } catch (e) {
              seen = (e as Error).name;
              throw e;
            }
          }),
        );
        expect(seen).to.equal('CancelledError');
        expect(err).to.be.instanceOf(TimeoutError);
      });
    });

    it('a generator block finishing in time gives its result', async () => {
      await runFaked(async () => {
        const result = await timeout(1).run(function* (): Generator<unknown, number, unknown> {
          const value = (yield sleep(0.01, 20)) as number;
          return value + 1;
        });
        expect(result).to.equal(21);
      });
    });
  });

  describe('with await using', () => {
    it('after an expiry: SuppressedError of the TimeoutError over the CancelledError', async () => {
      await runFaked(async () => {
        const cm = timeout(0.01);
        let caught: unknown = null;
        try {
          await using _t = cm;
          await sleep(10);
        } catch (e) {
          caught = e;
        }
        const suppressed = caught as Error & { error: unknown; suppressed: unknown };
        expect(suppressed.name).to.equal('SuppressedError');
        expect(suppressed.error).to.be.instanceOf(TimeoutError);
        expect(suppressed.suppressed).to.be.instanceOf(CancelledError);
        expect(cm.expired()).to.equal(true);
        expect(self().cancelling()).to.equal(0);
        await sleep(0.01);
      });
    });

    it('in time: nothing is thrown and the timer is gone', async () => {
      await runFaked(async () => {
        const cm = timeout(0.05);
        {
          await using _t = cm;
          await sleep(0.01);
        }
        await sleep(0.1); // past the old deadline: no cancel arrives
        expect(cm.expired()).to.equal(false);
        expect(String(cm)).to.equal('<Timeout [finished]>');
      });
    });

    it("the block's own error goes on unchanged when not expired", async () => {
      await runFaked(async () => {
        const boom = new Error('boom');
        const err = await rejection(
          (async () => {
            await using _t = timeout(10);
            await sleep(0.01);
            throw boom;
          })(),
        );
        expect(err).to.equal(boom);
      });
    });

    it('a block that swallowed the cancel gets a plain TimeoutError', async () => {
      await runFaked(async () => {
        const err = await rejection(
          (async () => {
            await using _t = timeout(0.01);
            try {
              await sleep(10);
            } catch {
              // swallowed
            }
          })(),
        );
        expect(err).to.be.instanceOf(TimeoutError);
        expect(self().cancelling()).to.equal(0);
      });
    });

    it('a foreign cancel on top of the expiry stays a CancelledError', async () => {
      await runFaked(async () => {
        const task = createTask(async () => {
          await using _t = timeout(0.01);
          await sleep(10);
        });
        const loop = getRunningLoop();
        // Both cancel the task in the same iteration.
        loop.callLater(0.01, () => task.cancel());
        expect(await rejection(task)).to.be.instanceOf(CancelledError);
        expect(task.cancelled()).to.equal(true);
      });
    });

    it('the declaration outside a task is a RuntimeError', async () => {
      await runFaked(async () => {
        const err = await new Promise((resolve) => {
          getRunningLoop().callSoon(() => {
            (async () => {
              await using _t = timeout(1);
            })().then(resolve, resolve);
          });
        });
        expect(err).to.be.instanceOf(RuntimeError).with.property('message').that.match(/inside a task/);
      });
    });
  });
});
