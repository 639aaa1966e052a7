/**
 * Executors for `loop.runInExecutor` (concurrent.futures.Executor).
 *
 * An executor runs a function somewhere that may block (another thread) and
 * settles a promise with its outcome. Any object with this shape can be
 * passed to `runInExecutor`. The default executor (`runInExecutor(null,
 * ...)`) is a `ThreadPoolExecutor` over greenloop's pooled worker threads:
 * an executor is an asyncio feature, so it needs neither `greenloop/green`
 * nor the bridge (it runs with `GREENLOOP_BRIDGE=off`). Its module is loaded
 * on first use only, so a program that never uses it starts no worker and
 * loads none of the thread machinery. `setDefaultExecutorFactory` replaces
 * how every loop creates its default executor.
 */
import { RuntimeError } from './errors.js';

export interface Executor {
  /** Runs `fn(...args)` and settles with its result or error. */
  submit<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Promise<Awaited<R>>;
  /** Stops accepting work; when `wait` is true, settles once running work is done. */
  shutdown(wait?: boolean): Promise<void>;
}

let defaultExecutorFactory: (() => Executor) | null = null;
let threadPoolLoader: (() => Promise<Executor>) | null = null;

/**
 * Registers how `runInExecutor(null, ...)` creates a loop's default
 * executor (null: back to the thread pool). Loops that already have one keep it.
 */
export function setDefaultExecutorFactory(factory: (() => Executor) | null): void {
  defaultExecutorFactory = factory;
}

/**
 * @internal Registers how the thread pool is loaded on first use. The
 * package entry (index.ts) does it: the pool lives in the green runtime, a
 * layer above the loop, so no module of the loop imports it.
 */
export function setThreadPoolLoader(loader: () => Promise<Executor>): void {
  threadPoolLoader = loader;
}

/**
 * @internal A new default executor: the registered factory's (synchronous),
 * else a promise of a thread pool, once its module is loaded.
 */
export function createDefaultExecutor(): Executor | Promise<Executor> {
  if (defaultExecutorFactory !== null) return defaultExecutorFactory();
  if (threadPoolLoader !== null) return threadPoolLoader();
  throw new RuntimeError('no default executor: import greenloop (or greenloop/loop), or call setDefaultExecutorFactory()');
}
