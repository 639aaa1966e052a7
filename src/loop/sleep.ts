/**
 * `sleep(delay, value)`: a Future that resolves to `value` after `delay`
 * seconds. `sleep(0)` gives up exactly one loop iteration, in async functions
 * and generators alike.
 */
import { ValueError } from './errors.js';
import { Future } from './futures.js';
import type { TimerHandle } from './handles.js';
import { _requireRunningLoop } from './running.js';

/** A sleeping Future that drops its timer when cancelled. */
class SleepFuture<T> extends Future<T> {
  /** @internal */ _timer: TimerHandle | null = null;

  override cancel(message?: string): boolean {
    this._timer?.cancel();
    this._timer = null;
    return super.cancel(message);
  }
}

function setResultUnlessCancelled<T>(future: SleepFuture<T>, value: T): void {
  future._timer = null;
  if (!future.done()) future.setResult(value);
}

/** Waits `delay` seconds (0 or less: one loop iteration) and returns `value`. */
export function sleep<T = undefined>(delay: number, value?: T): Future<T> {
  if (typeof delay !== 'number') throw new TypeError(`sleep: delay must be a number of seconds, got ${typeof delay}`);
  if (Number.isNaN(delay)) throw new ValueError('Invalid delay: NaN (not a number)');
  const loop = _requireRunningLoop('sleep()');
  const future = new SleepFuture<T>({ loop });
  future._label = delay <= 0 ? 'sleep(0)' : `sleep(${delay})`;
  if (delay <= 0) {
    future._yieldOnce = true;
    loop.callSoon(setResultUnlessCancelled, future, value as T);
  } else {
    future._timer = loop.callLater(delay, setResultUnlessCancelled, future, value as T);
  }
  return future;
}
