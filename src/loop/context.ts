/**
 * Which task is running: a context that follows a task's async functions
 * across their awaits.
 *
 * An async function cannot be interrupted from outside, but every `await` of a
 * greenloop Future calls the Future's `then` in the awaiting task's context.
 * Reading the context there tells the Future which task waits on it, so
 * `task.cancel()` can cancel exactly that Future and make the `await` throw
 * CancelledError, as asyncio does.
 *
 * Why not AsyncLocalStorage: on Node 20 it rides on async_hooks, whose JS
 * hooks run for every promise and every native callback in the process (async
 * ids, resource stacks), which made it the largest cost of a stream server's
 * read. V8's own promise hooks are enough here: a promise created while a task
 * runs is tagged with the task (init), and the reaction that resumes it enters
 * the task again (before/after). Only promises carry the context: Node
 * callbacks (timers, sockets, immediates) and loop callbacks run outside every
 * task, as in asyncio. The hooks are installed when the first task step runs,
 * so a process that imports greenloop without running tasks pays nothing.
 */
import { promiseHooks } from 'node:v8';
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
  /** @internal What waiting here means, for dumps: a string, or an object formatted only when asked. */
  _label: string | { toString(): string } | null;
}

/** What a Future needs to know of the task that awaits it. */
export interface AwaitingTask {
  /** @internal */ _loop: EventLoop;
  /** @internal What the task waits on, cancelled by `task.cancel()`. */
  _futWaiter: TaskWaiter | null;
  /** @internal Loop time when `_futWaiter` was set, for dumps. */
  _waitStarted: number;
  /** @internal A cancel is pending, to be raised at the task's next await. */
  _mustCancel: boolean;
  /** @internal The message of the pending cancel. */
  _cancelMessage: string | undefined;
  /** @internal */ _makeCancelledError(): CancelledError;
  done(): boolean;
}

const kTask = Symbol('greenloop.task');

/** A promise as the hooks see it: tagged with the task that created it, if any. */
interface TaggedPromise extends Promise<unknown> {
  [kTask]?: AwaitingTask;
}

class TaskContext {
  private current: AwaitingTask | undefined = undefined;
  /** What each running promise reaction interrupted, restored when it ends. */
  private readonly saved: (AwaitingTask | undefined)[] = [];
  private hooked = false;

  /** The task running now, or undefined. */
  getStore(): AwaitingTask | undefined {
    return this.current;
  }

  /** Calls `fn(...args)` as `task` (undefined: as no task). */
  run<R, A extends unknown[]>(task: AwaitingTask | undefined, fn: (...args: A) => R, ...args: A): R {
    if (!this.hooked && task !== undefined) this.hook();
    const outer = this.current;
    this.current = task;
    try {
      return fn(...args);
    } finally {
      this.current = outer;
    }
  }

  /** Calls `fn(...args)` outside every task. */
  exit<R, A extends unknown[]>(fn: (...args: A) => R, ...args: A): R {
    return this.run(undefined, fn, ...args);
  }

  private hook(): void {
    this.hooked = true;
    promiseHooks.createHook({ init: this.onInit, before: this.onBefore, after: this.onAfter });
  }

  private readonly onInit = (promise: Promise<unknown>): void => {
    const task = this.current;
    if (task !== undefined) (promise as TaggedPromise)[kTask] = task;
  };

  private readonly onBefore = (promise: Promise<unknown>): void => {
    this.saved.push(this.current);
    this.current = (promise as TaggedPromise)[kTask];
  };

  private readonly onAfter = (): void => {
    this.current = this.saved.pop();
  };
}

export const taskContext = new TaskContext();

/**
 * Runs `fn` with no current task, so nothing it starts (promises, loop
 * iterations) runs as the task that called it.
 */
export function runOutsideTasks<T>(fn: () => T): T {
  return taskContext.run(undefined, fn);
}
