/**
 * `shield(aw)` (asyncio's `shield` from `tasks.py`): waits for `aw` while
 * protecting it from the waiter's cancellation.
 *
 * Guarantees:
 * - `await shield(aw)` gives what `await aw` would, except that cancelling
 *   the awaiting task (or the returned Future) does not cancel `aw`: the
 *   awaiter gets CancelledError at once and `aw` runs on to its end.
 * - If `aw` itself is cancelled (from inside, or by someone holding it), the
 *   shield raises CancelledError too.
 * - An `aw` already done is returned as is.
 *
 * A promise or generator is wrapped in a Task; keep a reference to it (pass
 * `ensureFuture(aw)`) if you need to look at it after the shield is gone.
 */
import type { Future } from './futures.js';
import { ensureFuture, type Awaitable } from './tasks.js';

/** A Future that follows `aw` but whose cancellation does not reach it. */
export function shield<T>(aw: Awaitable<T>): Future<T> {
  const inner = ensureFuture(aw);
  if (inner.done()) return inner;
  const outer = inner.getLoop().createFuture<T>();

  const onInnerDone = (done: Future<T>): void => {
    if (outer.cancelled()) {
      if (!done.cancelled()) done.exception(); // mark the error as retrieved
      return;
    }
    if (done.cancelled()) {
      outer.cancel();
      return;
    }
    const error = done.exception();
    if (error !== null) outer.setException(error);
    else outer.setResult(done.result());
  };
  const onOuterDone = (): void => {
    if (!inner.done()) inner.removeDoneCallback(onInnerDone);
  };

  inner.addDoneCallback(onInnerDone);
  outer.addDoneCallback(onOuterDone);
  return outer;
}
