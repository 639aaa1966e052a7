/**
 * Task: driving async functions and generator coroutines, and asyncio's
 * cancellation semantics (in the spirit of CPython's test_tasks).
 */
import { expect } from 'chai';
import {
  CancelledError,
  RuntimeError,
  Task,
  allTasks,
  coroutine,
  createTask,
  currentTask,
  ensureFuture,
  getRunningLoop,
  isCoroutine,
  isCoroutineFunction,
  newEventLoop,
  sleep,
  type Future,
} from '../../src/loop/index.js';
import { runInLoop, rejection } from '../helpers.js';

describe('Task', () => {
  describe('running coroutines', () => {
    it('runs an async function with its arguments on the next iteration', async () => {
      const order: string[] = [];
      await runInLoop(async () => {
        const task = createTask(async (a: number, b: number) => {
          order.push('body');
          return a + b;
        }, 2, 3);
        order.push('created');
        expect(await task).to.equal(5);
      });
      expect(order).to.deep.equal(['created', 'body']);
    });

    it('currentTask() is the task from the first line of its body', async () => {
      await runInLoop(async () => {
        let seen: unknown = null;
        const task = createTask(async () => {
          seen = currentTask();
          await sleep(0);
          expect(currentTask()).to.equal(task);
        });
        await task;
        expect(seen).to.equal(task);
      });
      expect(currentTask()).to.equal(null);
    });

    it('runs a generator coroutine: yield waits, return ends, yield* delegates', async () => {
      function* inner(x: number): Generator<unknown, number, unknown> {
        const doubled = (yield sleep(0.001, x * 2)) as number;
        return doubled + 1;
      }
      function* outer(): Generator<unknown, string, unknown> {
        const a = yield* inner(1);
        const b = (yield inner(10)) as number; // a yielded generator runs inline
        const c = (yield Promise.resolve(100)) as number;
        const d = (yield createTask(async () => 1000)) as number;
        yield; // one loop iteration
        return `${a},${b},${c},${d}`;
      }
      expect(await runInLoop(outer)).to.equal('3,21,100,1000');
    });

    it('async functions and generators await each other both ways', async () => {
      const genCoro = coroutine(function* (x: number): Generator<unknown, number, unknown> {
        const v = (yield asyncPart(x)) as number;
        return v + 1;
      });
      async function asyncPart(x: number): Promise<number> {
        await sleep(0);
        return x * 3;
      }
      expect(await runInLoop(async () => await genCoro(2))).to.equal(7);
    });

    it('a generator that throws fails the task; the error reaches the awaiter', async () => {
      function* failing(): Generator<unknown, void, unknown> {
        yield sleep(0);
        throw new RangeError('gen failed');
      }
      const err = await runInLoop(async () => rejection(createTask(failing)));
      expect(err).to.be.instanceOf(RangeError);
    });

    it('an error thrown into a generator can be caught there', async () => {
      function* catching(): Generator<unknown, string, unknown> {
        try {
          yield Promise.reject(new Error('inner'));
        } catch (err) {
          return `caught ${(err as Error).message}`;
        }
        return 'no';
      }
      expect(await runInLoop(catching)).to.equal('caught inner');
    });

    it('a bad yield is a RuntimeError thrown into the generator', async () => {
      function* bad(): Generator<unknown, void, unknown> {
        yield 42;
      }
      const err = await runInLoop(async () => rejection(createTask(bad)));
      expect(err).to.be.instanceOf(RuntimeError);
      expect((err as Error).message).to.equal('Task got bad yield: 42');
    });

    it('refuses a non-coroutine with a TypeError', async () => {
      await runInLoop(async () => {
        expect(() => createTask(42 as unknown as () => Promise<void>)).to.throw(TypeError, 'a coroutine was expected, got 42');
        expect(() => ensureFuture(7 as unknown as Promise<number>)).to.throw(TypeError, /awaitable is required/);
      });
    });

    it('setResult and setException are refused on a task', async () => {
      await runInLoop(async () => {
        const task = createTask(async () => 1);
        expect(() => task.setResult()).to.throw(RuntimeError, /does not support setResult/);
        expect(() => task.setException()).to.throw(RuntimeError, /does not support setException/);
        await task;
      });
    });

    it('callbacks scheduled by a task never run as that task', async () => {
      const seen: unknown[] = [];
      await runInLoop(async () => {
        const loop = getRunningLoop();
        const task = createTask(async () => {
          await sleep(0);
          // Resumed in a microtask: this callSoon arms the next iteration from
          // inside the task's context, and another task steps first in it.
          createTask(async () => undefined);
          loop.callSoon(() => seen.push(currentTask()));
          await sleep(0.01);
        });
        await task;
      });
      expect(seen).to.deep.equal([null]);
    });

    it('currentTask() follows the task through foreign promises, thenables and promise combinators', async () => {
      const seen = await runInLoop(async () => {
        const task = createTask(async () => {
          const log: unknown[] = [];
          await new Promise<void>((resolve) => setTimeout(resolve, 1));
          log.push(currentTask());
          await { then: (resolve: () => void) => resolve() };
          log.push(currentTask());
          await Promise.all([sleep(0), Promise.resolve()]);
          log.push(currentTask());
          return { log, task: currentTask() };
        });
        const { log, task: self } = await task;
        return log.map((entry) => entry === self && self === task);
      });
      expect(seen).to.deep.equal([true, true, true]);
    });

    it('Node callbacks a task starts (timers, nextTick) run outside it, as loop callbacks do', async () => {
      const seen = await runInLoop(async () => {
        const found: unknown[] = [];
        await createTask(async () => {
          await new Promise<void>((resolve) => {
            process.nextTick(() => found.push(currentTask()));
            setTimeout(() => {
              found.push(currentTask());
              resolve();
            }, 1);
          });
        });
        return found;
      });
      expect(seen).to.deep.equal([null, null]);
    });

    it('names tasks Task-N by default; setName/getName/getCoro', async () => {
      await runInLoop(async () => {
        async function body(): Promise<void> {}
        const task = createTask(body);
        expect(task.getName()).to.match(/^Task-\d+$/);
        task.setName('worker');
        expect(task.getName()).to.equal('worker');
        expect(task.getCoro()).to.equal(body);
        expect(getRunningLoop().createTask(body, { name: 'named' }).getName()).to.equal('named');
        await task;
      });
    });

    it('allTasks lists the pending tasks of the loop', async () => {
      await runInLoop(async () => {
        const task = createTask(async () => sleep(0.01));
        const tasks = allTasks();
        expect(tasks.has(task)).to.equal(true);
        expect(tasks.has(currentTask() as Task)).to.equal(true);
        await task;
        expect(allTasks().has(task)).to.equal(false);
      });
    });

    it('ensureFuture wraps promises and generators in tasks, returns futures as they are', async () => {
      await runInLoop(async () => {
        const future = getRunningLoop().createFuture();
        expect(ensureFuture(future)).to.equal(future);
        const fromPromise = ensureFuture(Promise.resolve(3));
        expect(fromPromise).to.be.instanceOf(Task);
        expect(await fromPromise).to.equal(3);
        function* gen(): Generator<unknown, number, unknown> {
          return 4;
        }
        expect(await ensureFuture(gen())).to.equal(4);
      });
    });

    it('tells coroutines and coroutine functions apart', () => {
      function* gen(): Generator<unknown, void, unknown> {}
      async function asyncFn(): Promise<void> {}
      expect(isCoroutineFunction(gen)).to.equal(true);
      expect(isCoroutineFunction(asyncFn)).to.equal(true);
      expect(isCoroutineFunction(coroutine(gen))).to.equal(true);
      expect(isCoroutineFunction(() => 1)).to.equal(false);
      expect(isCoroutine(gen())).to.equal(true);
      expect(isCoroutine(Promise.resolve())).to.equal(true);
      expect(isCoroutine({})).to.equal(false);
    });
  });

  describe('cancellation', () => {
    it('raises CancelledError at the await inside an async function, which may clean up and return', async () => {
      const result = await runInLoop(async () => {
        const log: string[] = [];
        const task = createTask(async () => {
          try {
            await sleep(10);
          } catch (err) {
            log.push(`caught ${(err as Error).name}: ${(err as Error).message}`);
            return 'cleaned up';
          }
          return 'not cancelled';
        });
        await sleep(0);
        expect(task.cancel('because')).to.equal(true);
        const value = await task;
        return { value, log, cancelled: task.cancelled() };
      });
      expect(result).to.deep.equal({ value: 'cleaned up', log: ['caught CancelledError: because'], cancelled: false });
    });

    it('raises CancelledError at the yield inside a generator', async () => {
      const result = await runInLoop(async () => {
        function* body(): Generator<unknown, string, unknown> {
          try {
            yield sleep(10);
          } catch (err) {
            return `caught ${(err as Error).message}`;
          }
          return 'no';
        }
        const task = createTask(body);
        await sleep(0);
        task.cancel('gen stop');
        return await task;
      });
      expect(result).to.equal('caught gen stop');
    });

    it('a task that does not catch ends cancelled, and awaiting it raises CancelledError', async () => {
      await runInLoop(async () => {
        const task = createTask(async () => {
          await sleep(10);
        });
        await sleep(0);
        task.cancel('msg');
        const err = await rejection(task);
        expect(err).to.be.instanceOf(CancelledError);
        expect((err as Error).message).to.equal('msg');
        expect(task.cancelled()).to.equal(true);
        expect(task.cancel()).to.equal(false);
      });
    });

    it('a task cancelled before it starts never runs its body', async () => {
      await runInLoop(async () => {
        let ran = false;
        const task = createTask(async () => {
          ran = true;
        });
        task.cancel();
        await rejection(task);
        expect(ran).to.equal(false);
        expect(task.cancelled()).to.equal(true);
      });
    });

    it('a task that cancels itself is cancelled at its next await', async () => {
      await runInLoop(async () => {
        const steps: string[] = [];
        const task = createTask(async () => {
          currentTask()?.cancel();
          steps.push('still running');
          await sleep(0);
          steps.push('not reached');
        });
        await rejection(task);
        expect(steps).to.deep.equal(['still running']);
        expect(task.cancelled()).to.equal(true);
      });
    });

    it('reaches the innermost awaited task', async () => {
      await runInLoop(async () => {
        let innerTask: Task<void> | null = null;
        const outer = createTask(async () => {
          innerTask = createTask(async () => {
            await sleep(10);
          });
          await innerTask;
        });
        await sleep(0);
        await sleep(0);
        outer.cancel();
        await rejection(outer);
        expect(innerTask!.cancelled()).to.equal(true);
        expect(outer.cancelled()).to.equal(true);
      });
    });

    it('reaches an async function a generator task is waiting on', async () => {
      await runInLoop(async () => {
        const log: string[] = [];
        async function helper(): Promise<void> {
          try {
            await sleep(10);
          } catch (err) {
            log.push('helper saw cancel');
            throw err;
          }
        }
        function* body(): Generator<unknown, void, unknown> {
          yield helper();
        }
        const task = createTask(body);
        await sleep(0);
        task.cancel();
        await rejection(task);
        expect(log).to.deep.equal(['helper saw cancel']);
      });
    });

    it('a cancel requested before the task awaits reaches the task it then awaits', async () => {
      await runInLoop(async () => {
        let inner: Task<string> | null = null;
        const outer = createTask(async () => {
          inner = createTask(async () => {
            try {
              await sleep(10);
              return 'finished';
            } catch {
              return 'inner handled the cancel';
            }
          });
          await sleep(0); // the inner task starts and sleeps
          currentTask()!.cancel(); // pending until the next await
          return await inner;
        });
        await sleep(0);
        await sleep(0);
        // The inner task got the cancel, caught it and returned a value: the
        // outer task returns it too, as asyncio does.
        expect(await outer).to.equal('inner handled the cancel');
        expect(inner!.cancelled()).to.equal(false);
      });
    });

    it('two cancels before the task runs deliver one CancelledError', async () => {
      await runInLoop(async () => {
        let caught = 0;
        const task = createTask(async () => {
          try {
            await sleep(10);
          } catch {
            caught++;
          }
          await sleep(0);
          return 'went on';
        });
        await sleep(0);
        task.cancel();
        task.cancel();
        expect(task.cancelling()).to.equal(2);
        expect(await task).to.equal('went on');
        expect(caught).to.equal(1);
      });
    });

    it('cancelling() and uncancel() count requests', async () => {
      await runInLoop(async () => {
        const task = createTask(async () => {
          for (;;) {
            try {
              await sleep(10);
            } catch {
              if (currentTask()!.uncancel() === 0) return 'uncancelled';
            }
          }
        });
        await sleep(0);
        task.cancel();
        expect(task.cancelling()).to.equal(1);
        expect(await task).to.equal('uncancelled');
        expect(task.cancelling()).to.equal(0);
      });
    });

    it('cancel right before the coroutine returns still cancels the task', async () => {
      await runInLoop(async () => {
        const task = createTask(async () => {
          currentTask()!.cancel();
          return 'value';
        });
        await rejection(task);
        expect(task.cancelled()).to.equal(true);
      });
    });

    it('aborts task.signal on cancel, so AbortSignal-aware APIs stop too', async () => {
      await runInLoop(async () => {
        const { setTimeout: delay } = await import('node:timers/promises');
        const task = createTask(async () => {
          await delay(10_000, undefined, { signal: currentTask()!.signal });
        });
        await sleep(0);
        task.cancel('abort it');
        const err = await rejection(task);
        expect(task.signal.aborted).to.equal(true);
        expect((task.signal.reason as Error).message).to.equal('abort it');
        expect(err).to.be.instanceOf(Error);
      });
    });

    it('reaches a Future an async helper returns rather than awaits', async () => {
      await runInLoop(async () => {
        const loop = getRunningLoop();
        const inner = loop.createFuture<string>();
        async function helper(): Promise<string> {
          return inner as unknown as Promise<string>;
        }
        const task = createTask(async () => await helper());
        await sleep(0);
        await sleep(0);
        task.cancel('via helper');
        const err = await rejection(task);
        expect(err).to.be.instanceOf(CancelledError);
        expect(inner.cancelled()).to.equal(true);
      });
    });

    it('a task awaiting a foreign promise is cancelled at its next greenloop await', async () => {
      await runInLoop(async () => {
        const steps: string[] = [];
        let release!: () => void;
        const foreign = new Promise<void>((resolve) => (release = resolve));
        const task = createTask(async () => {
          await foreign;
          steps.push('foreign done');
          await sleep(0);
          steps.push('not reached');
        });
        await sleep(0);
        task.cancel();
        expect(task.done()).to.equal(false);
        release();
        await rejection(task);
        expect(steps).to.deep.equal(['foreign done']);
      });
    });
  });

  describe('misuse', () => {
    it('a task awaiting itself gets a RuntimeError', async () => {
      await runInLoop(async () => {
        const task: Task<void> = createTask(async () => {
          await sleep(0);
          await task;
        });
        const err = await rejection(task);
        expect(err).to.be.instanceOf(RuntimeError);
        expect((err as Error).message).to.match(/Task cannot await on itself/);
      });
    });

    it('awaiting a future of another loop is a RuntimeError', async () => {
      const other = newEventLoop();
      const foreign: Future<number> = other.createFuture<number>();
      const err = await runInLoop(async () => rejection(createTask(async () => await foreign)));
      other.close();
      expect(err).to.be.instanceOf(RuntimeError);
      expect((err as Error).message).to.match(/attached to a different loop/);
    });

    it('createTask without a running loop is a RuntimeError', () => {
      expect(() => createTask(async () => undefined)).to.throw(RuntimeError, 'no running event loop');
    });
  });

  describe('sleep', () => {
    it('sleep(0) yields exactly one iteration in async functions and generators', async () => {
      const order: string[] = [];
      await runInLoop(async () => {
        const loop = getRunningLoop();
        const asyncTask = createTask(async () => {
          order.push('async before');
          await sleep(0);
          order.push('async after');
        });
        function* genBody(): Generator<unknown, void, unknown> {
          order.push('gen before');
          yield sleep(0);
          order.push('gen after');
        }
        const genTask = createTask(genBody);
        // Both tasks start in iteration 1; these markers run in iterations 2 and 3.
        loop.callSoon(() => loop.callSoon(() => order.push('iteration 2')));
        loop.callSoon(() => loop.callSoon(() => loop.callSoon(() => order.push('iteration 3'))));
        await asyncTask;
        await genTask;
      });
      expect(order.indexOf('async after')).to.be.below(order.indexOf('iteration 3'));
      expect(order.indexOf('gen after')).to.be.below(order.indexOf('iteration 3'));
      expect(order.indexOf('async after')).to.be.above(order.indexOf('async before'));
    });

    it('returns the value and refuses NaN', async () => {
      await runInLoop(async () => {
        expect(await sleep(0.001, 'v')).to.equal('v');
        expect(() => sleep(Number.NaN)).to.throw(/NaN/);
      });
    });

    it('a cancelled sleep drops its timer', async () => {
      await runInLoop(async () => {
        const future = sleep(100);
        future.cancel();
        expect(future.cancelled()).to.equal(true);
      });
    });
  });
});

describe('Task debug reports', () => {
  it('reports "Task was destroyed but it is pending!" in debug mode (best-effort, at GC)', async function () {
    this.timeout(20000);
    const { spawnSync } = await import('node:child_process');
    const script = [
      "import { newEventLoop } from './src/loop/index.ts';",
      'const loop = newEventLoop();',
      'loop.setDebug(true);',
      "loop.setExceptionHandler((_l, c) => console.log('reported:', c.message, Array.isArray(c.source_traceback)));",
      'async function stuck() { await loop.createFuture(); }',
      'await loop.runUntilComplete(async () => { loop.createTask(stuck); await null; });',
      'loop.stop(); await loop.runForever();',
      'for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }',
    ].join('\n');
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 15000,
    });
    expect(child.stdout).to.include('reported: Task was destroyed but it is pending! true');
  });
});
