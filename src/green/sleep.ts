/**
 * `sleep(seconds = 0)` for green code (eventlet's `greenthread.sleep`).
 */
import { ValueError } from '../loop/errors.js';
import type { Future } from '../loop/futures.js';
import {
  blockingOnHub,
  callHub,
  checkBridge,
  type GreenCaller,
  inGreenWorker,
  registerOperation,
} from './runtime/index.js';

const MODULE = import.meta.url;

/** Sleeps this short (seconds) or less: the reply is likely to come while the caller still spins. */
const SPIN_WORTHY = 0.001;

/**
 * Blocks the current green thread for at least `seconds`, while the loop
 * and other green threads go on. `sleep(0)` is the cooperative yield: one
 * round trip through the loop, behind the callbacks already scheduled.
 * A kill or the loop closing interrupts it. On the event loop's thread it
 * throws BlockingOnHubError: use `await sleep(seconds)` from greenloop/loop.
 */
export function sleep(seconds = 0): void {
  checkBridge('sleep');
  if (typeof seconds !== 'number') throw new TypeError(`sleep: seconds must be a number, got ${typeof seconds}`);
  if (Number.isNaN(seconds)) throw new ValueError('sleep: seconds is NaN');
  if (!inGreenWorker()) throw blockingOnHub('sleep()', 'use `await sleep(seconds)` from greenloop/loop');
  callHub('green.sleep', [seconds], { spin: seconds <= SPIN_WORTHY, module: MODULE });
}

registerOperation('green.sleep', (caller: GreenCaller, seconds: number): Future<void> | undefined => {
  // The call itself came through callSoon: for 0 the reply is the yield.
  if (seconds <= 0) return undefined;
  const future = caller.loop.createFuture<void>();
  future._label = `green.sleep(${seconds})`;
  const timer = caller.loop.callLater(seconds, () => {
    if (!future.done()) future.setResult(undefined);
  });
  future.addDoneCallback(() => timer.cancel());
  return future;
});
