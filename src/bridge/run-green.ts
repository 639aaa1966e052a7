/**
 * `runGreen`: async code starting green code.
 */
import { getRunningLoop } from '../loop/running.js';
import { GreenThread, spawn } from '../green/greenthread.js';
import { checkBridge, Hub, inGreenWorker } from '../green/runtime/index.js';

/**
 * Starts `fn(...args)` in a green thread served by the running loop and
 * returns its GreenThread, which async code awaits: `await runGreen(fn, x)`.
 * Cancelling the awaiting task kills the green thread; a green thread killed
 * with GreenletExit cancels the awaiting task. `fn` must be a module-level
 * exported function. RuntimeError if no loop runs; in green code it is `spawn`.
 */
export function runGreen<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): GreenThread<Awaited<R>> {
  checkBridge('runGreen');
  if (inGreenWorker()) return spawn(fn, ...args);
  const thread = Hub.for(getRunningLoop()).spawnFunction(fn, args, 0, false, 'the runGreen() target');
  return thread.facade as GreenThread<Awaited<R>>;
}
