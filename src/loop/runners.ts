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
   * Runs `main(...args)` as a Task on the runner's loop until it is done and
   * returns its result (or rejects with its error). `main` is a coroutine
   * function (async or generator function, called inside the task, so with
   * the loop running) or a started coroutine (a promise, a generator object,
   * a Future of this loop), which takes no `args`.
   *
   * Rejects with RuntimeError when a loop is already running (this method
   * cannot be nested) or the runner is closed, with TypeError when `main` is
   * not a coroutine or `args` come with a started one, and with
   * KeyboardInterrupt when SIGINT cancelled `main`.
   */
  async run<T, A extends unknown[] = []>(main: CoroutineLike<T, A>, ...args: A): Promise<T> {
    checkCoroutine(main, args, 'Runner.run()');
    if (_getRunningLoop() !== null) {
      throw new RuntimeError('Runner.run() cannot be called from a running event loop');
    }
    const loop = this.lazyInit();
    const task = loop.createTask(main, { args });
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

/** The signatures of `run`: see `run` below. */
export interface Run {
  /**
   * The older form `run(main, { debug })`, kept: a single plain object made
   * only of RunnerOptions keys, after a `main` that takes no arguments, is
   * read as options. Prefer `run.withOptions(options, main, ...args)`.
   */
  <T>(main: CoroutineLike<T>, options: RunnerOptions): Promise<T>;
  <T, A extends unknown[] = []>(main: CoroutineLike<T, A>, ...args: A): Promise<T>;
  /** `run(main, ...args)` on a loop set up with `options` (`debug`, `loopFactory`). */
  withOptions<T, A extends unknown[] = []>(options: RunnerOptions, main: CoroutineLike<T, A>, ...args: A): Promise<T>;
}

/**
 * Runs `main(...args)` on a new loop and returns its result: the entry point
 * of a greenloop program. The loop is closed when `main` is done, after every
 * task left behind has been cancelled and has finished (see `Runner`).
 *
 *     await run(main);                 // not run(main()): see below
 *     await run(serve, '0.0.0.0', 8080);
 *     await run.withOptions({ debug: true }, serve, '0.0.0.0', 8080);
 *
 * Pass the coroutine *function*, as to `createTask(fn, ...args)`: `main` is
 * then called inside the main task, with the loop running. A JS async
 * function runs up to its first await when called, so `run(main())` starts
 * it before the loop runs and its first loop call (`sleep()`,
 * `openConnection()`...) fails with "no running event loop".
 *
 * For compatibility, `run(main, { debug })` (one plain object of
 * RunnerOptions keys only, after a `main` that declares no parameters or a
 * started coroutine) still reads the object as options; `run.withOptions`
 * says it without guessing.
 *
 * Rejects with RuntimeError when called while a loop is running, and with
 * KeyboardInterrupt when Ctrl-C cancelled `main` (see `Runner.run`).
 */
export const run: Run = Object.assign(
  function run<T>(main: CoroutineLike<T, unknown[]>, ...args: unknown[]): Promise<T> {
    if (args.length === 1 && takesNoArguments(main) && isRunnerOptions(args[0])) {
      return runWith(args[0], main as CoroutineLike<T>, [], 'run()');
    }
    return runWith({}, main, args, 'run()');
  },
  {
    withOptions<T, A extends unknown[] = []>(options: RunnerOptions, main: CoroutineLike<T, A>, ...args: A): Promise<T> {
      return runWith(options, main, args, 'run.withOptions()');
    },
  },
);

async function runWith<T, A extends unknown[]>(
  options: RunnerOptions,
  main: CoroutineLike<T, A>,
  args: A,
  caller: string,
): Promise<T> {
  if (_getRunningLoop() !== null) throw new RuntimeError(`${caller} cannot be called from a running event loop`);
  checkCoroutine(main, args, caller);
  checkOptions(options, caller);
  const runner = new Runner(options);
  try {
    return await runner.run(main, ...args);
  } finally {
    await runner.close();
  }
}

const RUNNER_OPTION_NAMES: readonly string[] = ['debug', 'loopFactory'];

/** A started coroutine, or a function that declares no parameters. */
function takesNoArguments(main: unknown): boolean {
  return typeof main !== 'function' || main.length === 0;
}

/** A plain object whose own keys are all RunnerOptions names (`{}` included). */
function isRunnerOptions(value: unknown): value is RunnerOptions {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  return Reflect.ownKeys(value).every((key) => typeof key === 'string' && RUNNER_OPTION_NAMES.includes(key));
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

function checkCoroutine(main: unknown, args: readonly unknown[], caller: string): void {
  if (typeof main === 'function') return;
  if (isGenerator(main) || isThenable(main)) {
    if (args.length === 0) return;
    throw new TypeError(
      `${caller}: arguments were given with a coroutine that has already started (${describeValue(main)}); ` +
        'pass the coroutine function instead: run(fn, ...args)',
    );
  }
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
