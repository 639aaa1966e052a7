/**
 * eventlet's `tpool`: running blocking code without blocking other green
 * threads. (The loops' default executor, a thread pool over the same
 * workers, is the loop's own: see src/loop/executor.ts.)
 */
import { blockingOnHub, checkBridge, currentGreenThread, inGreenWorker } from './runtime/index.js';

/**
 * Runs a blocking function for the current green thread and returns its
 * result (eventlet's `tpool.execute`). A green thread already is a real
 * thread of its own, so blocking it stops neither the loop nor other green
 * threads: `fn` simply runs here, and cannot be interrupted by a kill until
 * it returns (as in eventlet). On the event loop's thread this would block
 * the loop: use `await loop.runInExecutor(null, fn, ...args)` there.
 */
export function execute<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R {
  checkBridge('execute');
  if (typeof fn !== 'function') throw new TypeError('execute() needs a function');
  if (!inGreenWorker()) throw blockingOnHub('execute()', 'use `await loop.runInExecutor(null, fn, ...args)`');
  currentGreenThread('execute');
  const result = fn(...args);
  if (result instanceof Promise) {
    throw new TypeError('execute() runs blocking functions; for an async function use callAsync() or await it');
  }
  return result;
}
