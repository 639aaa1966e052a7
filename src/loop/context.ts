/**
 * Which task is running: an AsyncLocalStorage whose store is the task.
 *
 * An async function cannot be interrupted from outside, but every `await` of a
 * greenloop Future calls the Future's `then` in the awaiting task's async
 * context. Reading this store there tells the Future which task waits on it,
 * so `task.cancel()` can cancel exactly that Future and make the `await`
 * throw CancelledError, as asyncio does.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { CancelledError } from './errors.js';
import type { EventLoop } from './event-loop.js';

/**
 * What a task waits on and `task.cancel()` cancels: a Future, or a lighter
 * wait that settles one promise (a StreamReader's read).
 */
export interface TaskWaiter {
  /** Ends the wait with CancelledError(message); false if it already ended. */
  cancel(message?: string): boolean;
  /** @internal Calls `callback` once the awaiting coroutine has been told how the wait ended. */
  _onSettled(callback: () => void): void;
}

/** What a Future needs to know of the task that awaits it. */
export interface AwaitingTask {
  /** @internal */ _loop: EventLoop;
  /** @internal What the task waits on, cancelled by `task.cancel()`. */
  _futWaiter: TaskWaiter | null;
  /** @internal A cancel is pending, to be raised at the task's next await. */
  _mustCancel: boolean;
  /** @internal The message of the pending cancel. */
  _cancelMessage: string | undefined;
  /** @internal */ _makeCancelledError(): CancelledError;
  done(): boolean;
}

export const taskContext = new AsyncLocalStorage<AwaitingTask>();

/**
 * Runs `fn` with no current task, so Node resources it creates (sockets,
 * timers, immediates) call back outside every task's context.
 *
 * `taskContext.exit()` is not enough on Node 20: it only disables the
 * storage, and a `run()` inside `fn` (a task step) enables it again.
 */
export function runOutsideTasks<T>(fn: () => T): T {
  return taskContext.run(undefined as never, fn);
}
