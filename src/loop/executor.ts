/**
 * Executors for `loop.runInExecutor` (concurrent.futures.Executor).
 *
 * An executor runs a function somewhere that may block (another thread) and
 * settles a promise with its outcome. The default executor is a pool of
 * worker threads provided by the green runtime, which registers its factory
 * here when loaded; any object with this shape can be passed instead.
 */
import { RuntimeError } from './errors.js';

export interface Executor {
  /** Runs `fn(...args)` and settles with its result or error. */
  submit<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Promise<Awaited<R>>;
  /** Stops accepting work; when `wait` is true, settles once running work is done. */
  shutdown(wait?: boolean): Promise<void>;
}

let defaultExecutorFactory: (() => Executor) | null = null;

/** Registers how `runInExecutor(null, ...)` creates its default executor. */
export function setDefaultExecutorFactory(factory: (() => Executor) | null): void {
  defaultExecutorFactory = factory;
}

/** @internal A new default executor; RuntimeError when none is registered. */
export function createDefaultExecutor(): Executor {
  if (defaultExecutorFactory === null) {
    throw new RuntimeError(
      "runInExecutor(null, ...): no default executor; import 'greenloop/green' (thread pool) or pass an executor",
    );
  }
  return defaultExecutorFactory();
}
