/**
 * Runners (asyncio's `runners.py`): the entry points that own a loop's whole
 * life, `run(main)` for a program and `Runner` for several top-level calls on
 * one loop.
 *
 * Guarantees:
 * - A Runner creates its loop on first use and never runs it re-entrantly:
 *   `run()` while any loop runs is a RuntimeError.
 * - `close()` cancels every task still pending, runs the loop until they have
 *   all finished, reports the errors they end with to the loop's exception
 *   handler, shuts the default executor down (waiting for it), closes the
 *   loop and unsets it as the current loop if the runner had set it.
 * - While `Runner.run()` runs on the main thread and nobody else listens for
 *   SIGINT, the first Ctrl-C cancels the main task (so it can clean up) and
 *   `run()` rejects with KeyboardInterrupt if the task ends cancelled; a second
 *   Ctrl-C terminates the process by the signal's default action.
 */
import { isMainThread } from 'node:worker_threads';
import { describeValue } from './debug.js';
import { CancelledError, KeyboardInterrupt, RuntimeError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import { isThenable, type Future } from './futures.js';
import { _getRunningLoop, newEventLoop, setEventLoop } from './running.js';
import { allTasks, isGenerator, type CoroutineLike, type Task } from './tasks.js';

export interface RunnerOptions {
  /**
   * `true` or `false` forces the loop's debug mode on or off; when left out
   * (or null) the loop keeps its default (on when `GREENLOOP_DEBUG=1`).
   */
  debug?: boolean | null;
  /**
   * Creates the loop. By default `newEventLoop()` is used and that loop is
   * also made the current loop (`getEventLoop()`) until the runner closes.
   */
  loopFactory?: () => EventLoop;
}

/** The message `close()` reports a task's error with, as `asyncio.run()` does. */
const SHUTDOWN_ERROR_MESSAGE = 'unhandled exception during run() shutdown';

type RunnerState = 'created' | 'initialized' | 'closed';

/**
 * Runs coroutines on a loop it owns, from code that is not itself running
 * on a loop (a program's entry point, a test, a CLI command).
 *
 *     await using runner = new Runner();
 *     await runner.run(setUp);
 *     await runner.run(main);
 *
 * States: created → initialized (the loop exists, on first `run()` or
 * `getLoop()`) → closed (after `close()`, which `await using` calls).
 */
export class Runner {
  private state: RunnerState = 'created';
  private loop: EventLoop | null = null;
  private ownsCurrentLoop = false;
  private closing: Promise<void> | null = null;
  private interruptCount = 0;
  private readonly debug: boolean | null | undefined;
  private readonly loopFactory: (() => EventLoop) | undefined;

  constructor(options: RunnerOptions = {}) {
    checkOptions(options, 'Runner');
    this.debug = options.debug;
    this.loopFactory = options.loopFactory;
  }

  /**
   * Runs `main` as a Task on the runner's loop until it is done and returns
   * its result (or rejects with its error). `main` is a coroutine function
   * (async or generator function, called inside the task) or a started
   * coroutine (a promise, a generator object, a Future of this loop).
   *
   * Rejects with RuntimeError when a loop is already running (this method
   * cannot be nested) or the runner is closed, with TypeError when `main` is
   * not a coroutine, and with KeyboardInterrupt when SIGINT cancelled `main`.
   */
  async run<T>(main: CoroutineLike<T>): Promise<T> {
    checkCoroutine(main, 'Runner.run()');
    if (_getRunningLoop() !== null) {
      throw new RuntimeError('Runner.run() cannot be called from a running event loop');
    }
    const loop = this.lazyInit();
    const task = loop.createTask(main);
    this.interruptCount = 0;
    const stopListening = this.listenForSigint(task);
    try {
      return await loop.runUntilComplete(task);
    } catch (error) {
      // Only a cancel that SIGINT caused, and that the task did not take
      // back, becomes KeyboardInterrupt; any other cancel stays as it is.
      if (error instanceof CancelledError && this.interruptCount > 0 && task.uncancel() === 0) {
        throw new KeyboardInterrupt();
      }
      throw error;
    } finally {
      stopListening();
    }
  }

  /** The runner's loop, created now if needed; RuntimeError once closed. */
  getLoop(): EventLoop {
    return this.lazyInit();
  }

  /**
   * Finalizes and closes the loop (see the module's guarantees). Does nothing
   * before the loop exists; later calls return the first call's promise.
   * Rejects with RuntimeError when called while the loop runs.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    const loop = this.loop;
    if (this.state !== 'initialized' || loop === null) return Promise.resolve();
    if (loop.isRunning()) {
      return Promise.reject(new RuntimeError('Runner.close() cannot be called while the runner\'s loop is running'));
    }
    this.closing = this.finalize(loop);
    return this.closing;
  }

  /** `await using runner = new Runner()` closes the runner at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private lazyInit(): EventLoop {
    if (this.state === 'closed' || this.closing !== null) throw new RuntimeError('Runner is closed');
    if (this.loop !== null) return this.loop;
    let loop: EventLoop;
    if (this.loopFactory === undefined) {
      loop = newEventLoop();
      setEventLoop(loop);
      this.ownsCurrentLoop = true;
    } else {
      loop = this.loopFactory();
      if (loop === null || typeof loop !== 'object' || typeof loop.runUntilComplete !== 'function') {
        throw new TypeError(`Runner: loopFactory() must return an EventLoop, got ${describeValue(loop)}`);
      }
    }
    if (this.debug !== undefined && this.debug !== null) loop.setDebug(this.debug);
    this.loop = loop;
    this.state = 'initialized';
    return loop;
  }

  private async finalize(loop: EventLoop): Promise<void> {
    try {
      await cancelAllTasks(loop);
      await loop.runUntilComplete(loop.shutdownDefaultExecutor());
    } finally {
      if (this.ownsCurrentLoop) setEventLoop(null);
      loop.close();
      this.loop = null;
      this.state = 'closed';
    }
  }

  /**
   * Turns SIGINT into a cancel of `mainTask` while it runs, when this is the
   * main thread and no one else handles SIGINT (asyncio checks for Python's
   * default handler the same way). Returns what removes the listener.
   */
  private listenForSigint<T>(mainTask: Task<T>): () => void {
    if (!isMainThread || process.listenerCount('SIGINT') > 0) return () => undefined;
    const onSigint = (): void => {
      this.interruptCount++;
      if (this.interruptCount === 1 && !mainTask.done()) {
        mainTask.cancel();
        return;
      }
      // Asked twice (or the task is already finishing): the user wants out
      // now, whatever the task does. Give SIGINT back its default action
      // (terminate) and deliver it again.
      process.off('SIGINT', onSigint);
      process.kill(process.pid, 'SIGINT');
    };
    process.on('SIGINT', onSigint);
    return () => {
      process.off('SIGINT', onSigint);
    };
  }
}

/**
 * Runs `main` on a new loop and returns its result: the entry point of a
 * greenloop program. The loop is closed when `main` is done, after every
 * task left behind has been cancelled and has finished (see `Runner`).
 *
 *     await run(async () => { ... });
 *
 * Rejects with RuntimeError when called while a loop is running, and with
 * KeyboardInterrupt when Ctrl-C cancelled `main` (see `Runner.run`).
 */
export async function run<T>(main: CoroutineLike<T>, options: RunnerOptions = {}): Promise<T> {
  if (_getRunningLoop() !== null) throw new RuntimeError('run() cannot be called from a running event loop');
  checkCoroutine(main, 'run()');
  const runner = new Runner(options);
  try {
    return await runner.run(main);
  } finally {
    await runner.close();
  }
}

/**
 * Cancels every pending task of `loop`, runs the loop until all of them are
 * done, and reports the errors they ended with (asyncio's
 * `_cancel_all_tasks`).
 */
async function cancelAllTasks(loop: EventLoop): Promise<void> {
  const tasks = allTasks(loop);
  if (tasks.size === 0) return;
  for (const task of tasks) task.cancel();
  await loop.runUntilComplete(whenAllDone(loop, tasks));
  for (const task of tasks) {
    if (task.cancelled()) continue;
    const exception = task.exception();
    if (exception !== null) loop.callExceptionHandler({ message: SHUTDOWN_ERROR_MESSAGE, exception, task });
  }
}

/** A Future that completes once every one of `futures` is done, whatever their outcome. */
function whenAllDone(loop: EventLoop, futures: ReadonlySet<Future<unknown>>): Future<void> {
  const all = loop.createFuture<void>();
  let remaining = futures.size;
  const onDone = (): void => {
    remaining--;
    if (remaining === 0 && !all.done()) all.setResult(undefined);
  };
  for (const future of futures) future.addDoneCallback(onDone);
  return all;
}

function checkCoroutine(main: unknown, caller: string): void {
  if (typeof main === 'function' || isGenerator(main) || isThenable(main)) return;
  throw new TypeError(`${caller}: a coroutine function or a coroutine was expected, got ${describeValue(main)}`);
}

function checkOptions(options: RunnerOptions, caller: string): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${caller}: options must be an object, got ${describeValue(options)}`);
  }
  const { debug, loopFactory } = options;
  if (debug !== undefined && debug !== null && typeof debug !== 'boolean') {
    throw new TypeError(`${caller}: debug must be a boolean, got ${describeValue(debug)}`);
  }
  if (loopFactory !== undefined && typeof loopFactory !== 'function') {
    throw new TypeError(`${caller}: loopFactory must be a function returning an EventLoop, got ${describeValue(loopFactory)}`);
  }
}
