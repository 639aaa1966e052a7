/**
 * TaskGroup, in the spirit of CPython's test_taskgroups: children live and
 * die together, errors come out as one ExceptionGroup, and the group takes
 * back only its own cancel of the parent task.
 */
import { expect } from 'chai';
import {
  CancelledError,
  ExceptionGroup,
  KeyboardInterrupt,
  RuntimeError,
  TaskGroup,
  TimeoutError,
  createTask,
  currentTask,
  getRunningLoop,
  sleep,
  timeout,
  type Task,
} from '../../src/loop/index.js';
import { runFaked, rejection } from '../helpers.js';

async function failAfter(delay: number, error: unknown): Promise<never> {
  await sleep(delay);
  throw error;
}

/** Sleeps `delay`; records in `log` whether it finished or was cancelled. */
async function sleeper(log: string[], name: string, delay = 10): Promise<string> {
  try {
    await sleep(delay);
  } catch (e) {
    log.push(`${name} cancelled`);
    throw e;
  }
  log.push(`${name} done`);
  return name;
}

function self(): Task<unknown> {
  return currentTask() as Task<unknown>;
}

function asGroup(err: unknown): ExceptionGroup {
  expect(err).to.be.instanceOf(ExceptionGroup);
  return err as ExceptionGroup;
}

describe('TaskGroup', () => {
  describe('TaskGroup.run()', () => {
    it('waits for every child and returns the result of the block', async () => {
      await runFaked(async () => {
        const log: string[] = [];
        let t1: Task<string> | null = null;
        let t2: Task<string> | null = null;
        const result = await TaskGroup.run(async (tg) => {
          t1 = tg.createTask(sleeper, log, 't1', 0.02);
          t2 = tg.createTask(sleeper, log, 't2', 0.01);
          return 'block';
        });
        expect(result).to.equal('block');
        expect(log).to.deep.equal(['t2 done', 't1 done']);
        expect((t1 as unknown as Task<string>).result()).to.equal('t1');
        expect((t2 as unknown as Task<string>).result()).to.equal('t2');
      });
    });

    it('a failing child cancels the others and the block; the error comes out in an ExceptionGroup', async () => {
      await runFaked(async () => {
        const log: string[] = [];
        const boom = new RangeError('boom');
        const err = await rejection(
          TaskGroup.run(async (tg) => {
            tg.createTask(sleeper, log, 'sibling');
            tg.createTask(failAfter, 0.01, boom);
            await sleeper(log, 'block');
          }),
        );
        const group = asGroup(err);
        expect(group.exceptions).to.deep.equal([boom]);
        expect(group.message).to.equal('unhandled errors in a TaskGroup (1 sub-exception)');
        expect(log).to.have.members(['sibling cancelled', 'block cancelled']);
        // The group took back its own cancel: the task goes on normally.
        expect(self().cancelling()).to.equal(0);
        await sleep(0.001);
      });
    });

    it('the task survives a failure of its group when it catches the ExceptionGroup', async () => {
      await runFaked(async () => {
        const task = createTask(async () => {
          try {
            await TaskGroup.run(async (tg) => {
              tg.createTask(failAfter, 0.01, new Error('crash'));
              await sleep(10);
            });
          } catch {
            // ignore the group's errors
          }
          await sleep(0.01); // must run, not be cancelled
          return 'after';
        });
        expect(await task).to.equal('after');
        expect(task.cancelled()).to.equal(false);
      });
    });

    it('collects every child error, in the order they happened', async () => {
      await runFaked(async () => {
        const err = await rejection(
          TaskGroup.run(async (tg) => {
            // Created first, fails last: when the group cancels it.
            tg.createTask(async () => {
              try {
                await sleep(10);
              } finally {
                // eslint-disable-next-line no-unsafe-finally
                throw new Error('c, while cancelled');
              }
            });
            // Both fail in the same loop iteration, before the group can cancel either.
            tg.createTask(failAfter, 0.01, new Error('a'));
            tg.createTask(failAfter, 0.01, new Error('b'));
          }),
        );
        const messages = asGroup(err).exceptions.map((e) => (e as Error).message);
        expect(messages).to.deep.equal(['a', 'b', 'c, while cancelled']);
        expect(asGroup(err).message).to.match(/\(3 sub-exceptions\)/);
      });
    });

    it('a child that is cancelled on its own does not fail the group', async () => {
      await runFaked(async () => {
        const result = await TaskGroup.run(async (tg) => {
          const doomed = tg.createTask(() => sleep(10));
          const fine = tg.createTask(() => sleep(0.02, 'fine'));
          await sleep(0.01);
          doomed.cancel();
          return [doomed, fine];
        });
        expect(result[0].cancelled()).to.equal(true);
        expect(result[1].result()).to.equal('fine');
      });
    });

    it("the block's own error cancels the children and comes out in an ExceptionGroup", async () => {
      await runFaked(async () => {
        const log: string[] = [];
        const boom = new TypeError('block failed');
        const err = await rejection(
          TaskGroup.run(async (tg) => {
            tg.createTask(sleeper, log, 'child');
            await sleep(0.01);
            throw boom;
          }),
        );
        expect(asGroup(err).exceptions).to.deep.equal([boom]);
        expect(log).to.deep.equal(['child cancelled']);
      });
    });

    it("the block's error comes after the children's", async () => {
      await runFaked(async () => {
        const child = new Error('child');
        const block = new Error('block');
        const err = await rejection(
          TaskGroup.run(async (tg) => {
            tg.createTask(failAfter, 0.01, child);
            try {
              await sleep(10);
            } catch {
              throw block;
            }
          }),
        );
        expect(asGroup(err).exceptions).to.deep.equal([child, block]);
      });
    });

    it('a cancel from outside cancels the children and stays a plain CancelledError', async () => {
      await runFaked(async () => {
        const log: string[] = [];
        const task = createTask(() =>
          TaskGroup.run(async (tg) => {
            tg.createTask(sleeper, log, 'a');
            tg.createTask(sleeper, log, 'b');
            await sleeper(log, 'block');
          }),
        );
        await sleep(0.01);
        task.cancel();
        const err = await rejection(task);
        expect(err).to.be.instanceOf(CancelledError);
        expect(err).not.to.be.instanceOf(ExceptionGroup);
        expect(task.cancelled()).to.equal(true);
        expect(log).to.have.members(['a cancelled', 'b cancelled', 'block cancelled']);
      });
    });

    it('a cancel from outside while the group waits for its children', async () => {
      await runFaked(async () => {
        const log: string[] = [];
        const task = createTask(() =>
          TaskGroup.run(async (tg) => {
            tg.createTask(sleeper, log, 'child');
          }),
        );
        await sleep(0.01);
        task.cancel();
        expect(await rejection(task)).to.be.instanceOf(CancelledError);
        expect(log).to.deep.equal(['child cancelled']);
      });
    });

    it('children failing while the parent is cancelled from outside: the ExceptionGroup wins, the cancel is kept', async () => {
      await runFaked(async () => {
        const seen: unknown[] = [];
        const task = createTask(async () => {
          try {
            await TaskGroup.run(async (tg) => {
              tg.createTask(async () => {
                try {
                  await sleep(10);
                } catch {
                  throw new Error('failed while cancelled');
                }
              });
              await sleep(10);
            });
          } catch (e) {
            seen.push(e);
          }
          // The outside cancel is still pending: the next await raises it.
          await sleep(1);
          seen.push('not reached');
        });
        await sleep(0.01);
        task.cancel();
        expect(await rejection(task)).to.be.instanceOf(CancelledError);
        expect(seen).to.have.length(1);
        expect((asGroup(seen[0]).exceptions[0] as Error).message).to.equal('failed while cancelled');
      });
    });

    it('a KeyboardInterrupt of a child comes out as itself', async () => {
      await runFaked(async () => {
        const interrupt = new KeyboardInterrupt();
        const err = await rejection(
          TaskGroup.run(async (tg) => {
            tg.createTask(failAfter, 0.01, interrupt);
            await sleep(10);
          }),
        );
        expect(err).to.equal(interrupt);
      });
    });

    it('composes with timeout(): the children are cancelled, TimeoutError comes out', async () => {
      await runFaked(async () => {
        const log: string[] = [];
        const err = await rejection(
          timeout(0.01).run(() =>
            TaskGroup.run(async (tg) => {
              tg.createTask(sleeper, log, 'child');
              await sleeper(log, 'block');
            }),
          ),
        );
        expect(err).to.be.instanceOf(TimeoutError);
        expect(log).to.have.members(['child cancelled', 'block cancelled']);
        expect(self().cancelling()).to.equal(0);
      });
    });

    it('nested groups: an inner failure reaches the outer group as an ExceptionGroup', async () => {
      await runFaked(async () => {
        const boom = new Error('inner boom');
        const err = await rejection(
          TaskGroup.run(async (outer) => {
            outer.createTask(() =>
              TaskGroup.run(async (inner) => {
                inner.createTask(failAfter, 0.01, boom);
                await sleep(10);
              }),
            );
            await sleep(10);
          }),
        );
        const nested = asGroup(asGroup(err).exceptions[0]);
        expect(nested.exceptions).to.deep.equal([boom]);
      });
    });
  });

  describe('createTask()', () => {
    it('is a RuntimeError before entry, after the end, and while shutting down', async () => {
      await runFaked(async () => {
        expect(() => new TaskGroup().createTask(() => sleep(0))).to.throw(RuntimeError, /has not been entered/);
        let kept: TaskGroup | null = null;
        await TaskGroup.run(async (tg) => {
          kept = tg;
        });
        expect(() => (kept as unknown as TaskGroup).createTask(() => sleep(0))).to.throw(RuntimeError, /is finished/);
        let refusal: unknown = null;
        await rejection(
          TaskGroup.run(async (tg) => {
            tg.createTask(failAfter, 0, new Error('boom'));
            try {
              await sleep(10);
            } catch {
              try {
                tg.createTask(() => sleep(0));
              } catch (e) {
                refusal = e;
              }
            }
          }),
        );
        expect(refusal).to.be.instanceOf(RuntimeError).with.property('message').that.match(/is shutting down/);
      });
    });

    it('closes a generator object it refuses', async () => {
      await runFaked(async () => {
        let closed = false;
        const gen = (function* () {
          try {
            yield sleep(0);
          } finally {
            closed = true;
          }
        })();
        gen.next(); // started, so that closing it runs its finally
        expect(() => new TaskGroup().createTask(gen)).to.throw(RuntimeError);
        expect(closed).to.equal(true);
      });
    });

    it('passes the arguments and runs generator functions too', async () => {
      await runFaked(async () => {
        const tasks = await TaskGroup.run(async (tg) => [
          tg.createTask(async (a: number, b: number) => a + b, 1, 2),
          tg.createTask(function* (x: number): Generator<unknown, number, unknown> {
            yield sleep(0.001);
            return x * 2;
          }, 21),
        ]);
        expect(tasks.map((t) => t.result())).to.deep.equal([3, 42]);
      });
    });
  });

  describe('entering', () => {
    it('needs a task', async () => {
      await runFaked(async () => {
        const err = await new Promise((resolve) => {
          getRunningLoop().callSoon(() => {
            TaskGroup.run(async () => undefined).then(resolve, resolve);
          });
        });
        expect(err).to.be.instanceOf(RuntimeError).with.property('message').that.match(/cannot determine the parent task/);
      });
    });

    it('cannot be entered twice', async () => {
      await runFaked(async () => {
        const tg = new TaskGroup();
        const err = await rejection(
          (async () => {
            await using _a = tg;
            await using _b = tg;
          })(),
        );
        expect(err).to.be.instanceOf(RuntimeError).with.property('message').that.match(/has already been entered/);
      });
    });

    it('refuses a block that is not a function or awaitable', async () => {
      await runFaked(async () => {
        expect(await rejection(TaskGroup.run(42 as unknown as () => Promise<void>))).to.be.instanceOf(TypeError);
      });
    });

    it('toString() shows the state', async () => {
      await runFaked(async () => {
        expect(String(new TaskGroup())).to.equal('<TaskGroup>');
        await TaskGroup.run(async (tg) => {
          tg.createTask(() => sleep(0.001));
          expect(String(tg)).to.equal('<TaskGroup tasks=1 entered>');
        });
      });
    });
  });

  describe('with generator coroutines', () => {
    it('a generator task runs a generator block; a failing child cancels the block', async () => {
      await runFaked(async () => {
        const log: string[] = [];
        const task = createTask(function* (): Generator<unknown, string, unknown> {
          try {
            yield TaskGroup.run(function* (tg) {
              tg.createTask(function* () {
                yield sleep(0.01);
                throw new Error('gen child failed');
              });
              try {
                yield sleep(10);
              } catch (e) {
                log.push('block cancelled');
                throw e;
              }
            });
          } catch (e) {
            return (asGroup(e).exceptions[0] as Error).message;
          }
          return 'no error';
        });
        expect(await task).to.equal('gen child failed');
        expect(log).to.deep.equal(['block cancelled']);
        expect(task.cancelled()).to.equal(false);
      });
    });

    it('a generator task is cancelled from outside with its group', async () => {
      await runFaked(async () => {
        const log: string[] = [];
        const task = createTask(function* (): Generator<unknown, void, unknown> {
          yield TaskGroup.run(async (tg) => {
            tg.createTask(sleeper, log, 'child');
            await sleeper(log, 'block');
          });
        });
        await sleep(0.01);
        task.cancel();
        expect(await rejection(task)).to.be.instanceOf(CancelledError);
        expect(log).to.have.members(['child cancelled', 'block cancelled']);
      });
    });
  });

  describe('with await using', () => {
    it('waits for the children at the end of the block', async () => {
      await runFaked(async () => {
        const log: string[] = [];
        {
          await using tg = new TaskGroup();
          tg.createTask(sleeper, log, 'child', 0.01);
          log.push('block end');
        }
        log.push('after');
        expect(log).to.deep.equal(['block end', 'child done', 'after']);
      });
    });

    it('a failing child: SuppressedError of the ExceptionGroup over the CancelledError', async () => {
      await runFaked(async () => {
        const log: string[] = [];
        const boom = new Error('boom');
        let caught: unknown = null;
        try {
          await using tg = new TaskGroup();
          tg.createTask(sleeper, log, 'sibling');
          tg.createTask(failAfter, 0.01, boom);
          await sleeper(log, 'block');
        } catch (e) {
          caught = e;
        }
        const suppressed = caught as Error & { error: unknown; suppressed: unknown };
        expect(suppressed.name).to.equal('SuppressedError');
        expect(asGroup(suppressed.error).exceptions).to.deep.equal([boom]);
        expect(suppressed.suppressed).to.be.instanceOf(CancelledError);
        expect(log).to.have.members(['sibling cancelled', 'block cancelled']);
        expect(self().cancelling()).to.equal(0);
      });
    });

    it('a cancel from outside stays a plain CancelledError and cancels the children', async () => {
      await runFaked(async () => {
        const log: string[] = [];
        const task = createTask(async () => {
          await using tg = new TaskGroup();
          tg.createTask(sleeper, log, 'child');
          await sleeper(log, 'block');
        });
        await sleep(0.01);
        task.cancel();
        const err = await rejection(task);
        expect(err).to.be.instanceOf(CancelledError);
        expect(log).to.have.members(['child cancelled', 'block cancelled']);
      });
    });

    it("cannot see the block's own error: the children run to their end and the error goes on as is", async () => {
      await runFaked(async () => {
        const log: string[] = [];
        const boom = new Error('block failed');
        const err = await rejection(
          (async () => {
            await using tg = new TaskGroup();
            tg.createTask(sleeper, log, 'child', 0.01);
            throw boom;
          })(),
        );
        expect(err).to.equal(boom);
        expect(log).to.deep.equal(['child done']);
      });
    });
  });
});
