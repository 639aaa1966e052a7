/**
 * The executor interface `runInExecutor` uses (concurrent.futures.Executor).
 *
 * An executor runs a function somewhere that may block (another thread) and
 * settles a promise with its outcome. greenloop's own thread-pool executor is
 * in the green runtime; any object with this shape can be passed.
 */
export interface Executor {
  /** Runs `fn(...args)` and settles with its result or error. */
  submit<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Promise<Awaited<R>>;
  /** Stops accepting work; when `wait` is true, settles once running work is done. */
  shutdown(wait?: boolean): Promise<void>;
}
