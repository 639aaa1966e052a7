/**
 * Future (asyncio's `futures.py`): a result that will be set later, by a
 * callback, a timer, I/O or a Task.
 *
 * Guarantees:
 * - Done callbacks run through `loop.callSoon`, in registration order, also
 *   when added after completion; never synchronously inside `setResult`.
 * - A Future is thenable, so `await fut` works in async functions. Awaiting
 *   from a Task records the Future as what the task waits on, so cancelling
 *   the task cancels the Future and the `await` throws CancelledError.
 * - `result()`/`exception()` raise InvalidStateError before completion and
 *   CancelledError (with the cancel message) after `cancel(msg)`.
 */
import { taskContext, type AwaitingTask } from './context.js';
import { describeValue, extractStack } from './debug.js';
import { CancelledError, InvalidStateError, RuntimeError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import { getEventLoop } from './running.js';

const PENDING = 0;
const CANCELLED = 1;
const FINISHED = 2;
type State = typeof PENDING | typeof CANCELLED | typeof FINISHED;
const STATE_NAMES = ['PENDING', 'CANCELLED', 'FINISHED'] as const;

export type DoneCallback<T> = (future: Future<T>) => void;

/** What a Future stands for in a dump: a string, or an object whose `toString()` says it. */
export type FutureLabel = string | { toString(): string };

export interface FutureOptions {
  /** The loop the Future belongs to; the current loop by default. */
  loop?: EventLoop;
}

interface UnretrievedError {
  loop: EventLoop;
  exception: unknown;
  description: string;
  sourceTraceback: string[] | null;
}

/**
 * Reports "exception was never retrieved" when a failed Future is garbage
 * collected without anyone reading its error. Best-effort: the collector
 * decides when (and whether) that happens.
 */
const unretrievedErrors = new FinalizationRegistry<UnretrievedError>((held) => {
  if (held.loop.isClosed()) return;
  const context: Record<string, unknown> = {
    message: `${held.description} exception was never retrieved`,
    exception: held.exception,
  };
  if (held.sourceTraceback !== null) context.source_traceback = held.sourceTraceback;
  held.loop.callExceptionHandler(context as { message: string });
});

export class Future<T = unknown> implements PromiseLike<T> {
  /** @internal */ _state: State = PENDING;
  /** @internal */ _result: T | undefined = undefined;
  /** @internal */ _exception: unknown = undefined;
  /** @internal */ _hasException = false;
  /** @internal */ readonly _loop: EventLoop;
  /** @internal */ _cancelMessage: string | undefined = undefined;
  /** @internal The task whose `_futWaiter` this is, so completion can clear it. */
  _awaitedBy: AwaitingTask | null = null;
  /** @internal Set by `sleep(0)`: a generator task treats it as a bare `yield`. */
  _yieldOnce = false;
  /** @internal Whether runUntilComplete owns this task (no destroy warning). */
  _logDestroyPending = true;
  /** @internal Where the Future was created, in debug mode. */
  readonly _sourceTraceback: string[] | null;
  /**
   * @internal What waiting on this Future means, for dumps (waits.ts): a
   * string, or an object whose `toString()` says it (formatted only when a
   * dump asks, so labelling costs an assignment).
   */
  _label: FutureLabel | null = null;

  // Stored with erased parameter types so Future<T> stays covariant in T
  // (a Future<number> is usable where a Future<unknown> is expected).
  private callbacks: ((future: never) => void)[] | null = null;
  private promise: Promise<T> | null = null;
  private resolvePromise: ((value: never) => void) | null = null;
  private rejectPromise: ((reason: unknown) => void) | null = null;
  private errorWatched = false;

  constructor(options: FutureOptions = {}) {
    this._loop = options.loop ?? getEventLoop();
    this._sourceTraceback = this._loop.getDebug() ? extractStack() : null;
  }

  // ---- state ---------------------------------------------------------------

  done(): boolean {
    return this._state !== PENDING;
  }

  cancelled(): boolean {
    return this._state === CANCELLED;
  }

  getLoop(): EventLoop {
    return this._loop;
  }

  /**
   * The result; throws the Future's error, CancelledError if it was
   * cancelled, or InvalidStateError if it is not done yet.
   */
  result(): T {
    if (this._state === CANCELLED) throw this._makeCancelledError();
    if (this._state !== FINISHED) throw new InvalidStateError('Result is not ready.');
    this.markErrorRetrieved();
    if (this._hasException) throw this._exception;
    return this._result as T;
  }

  /** The error (null when it succeeded); CancelledError or InvalidStateError as `result()`. */
  exception(): unknown {
    if (this._state === CANCELLED) throw this._makeCancelledError();
    if (this._state !== FINISHED) throw new InvalidStateError('Exception is not set.');
    this.markErrorRetrieved();
    return this._hasException ? this._exception : null;
  }

  // ---- completing ----------------------------------------------------------

  /** Marks the Future done with `value`; InvalidStateError if already done. */
  setResult(value: T): void {
    if (this._state !== PENDING) throw new InvalidStateError(`${STATE_NAMES[this._state]}: ${this}`);
    this._result = value;
    this._state = FINISHED;
    this.complete();
  }

  /** Marks the Future failed with `exception`; InvalidStateError if already done. */
  setException(exception: unknown): void {
    if (this._state !== PENDING) throw new InvalidStateError(`${STATE_NAMES[this._state]}: ${this}`);
    this._exception = exception;
    this._hasException = true;
    this._state = FINISHED;
    this.watchError();
    this.complete();
  }

  /**
   * Cancels the Future and schedules its callbacks. Returns false if it was
   * already done. `message` becomes the CancelledError's message.
   */
  cancel(message?: string): boolean {
    if (this._state !== PENDING) return false;
    this._state = CANCELLED;
    this._cancelMessage = message;
    this.complete();
    return true;
  }

  /** @internal The CancelledError that `result()` raises after a cancel. */
  _makeCancelledError(): CancelledError {
    return new CancelledError(this._cancelMessage);
  }

  // ---- callbacks -----------------------------------------------------------

  /** Calls `callback(future)` via callSoon once the Future is done. */
  addDoneCallback(callback: DoneCallback<T>): void {
    if (this._state !== PENDING) {
      this._loop.callSoon(callback, this);
      return;
    }
    if (this.callbacks === null) this.callbacks = [];
    this.callbacks.push(callback);
  }

  /** Removes every registration of `callback`; returns how many were removed. */
  removeDoneCallback(callback: DoneCallback<T>): number {
    if (this.callbacks === null) return 0;
    const before = this.callbacks.length;
    this.callbacks = this.callbacks.filter((cb) => cb !== (callback as (future: never) => void));
    return before - this.callbacks.length;
  }

  // ---- awaiting ------------------------------------------------------------

  /**
   * Makes the Future awaitable. Called from a Task, it records itself as the
   * Future the task waits on (so cancelling the task cancels it), and raises
   * a cancel the task has pending.
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    const task = taskContext.getStore();
    if (task !== undefined && !task.done()) {
      const refusal = this.refuseAwaitFrom(task);
      if (refusal !== null) return Promise.reject(refusal).then(onfulfilled, onrejected);
      if (this._state === PENDING) {
        task._futWaiter = this;
        task._waitStarted = this._loop.time();
        this._awaitedBy = task;
      }
      if (task._mustCancel) {
        // A cancel is pending: as asyncio's task step, cancel what the task
        // now awaits (a Task gets to handle it), or raise at once if that fails.
        task._mustCancel = false;
        if (this._state !== PENDING || !this.cancel(task._cancelMessage)) {
          return Promise.reject(task._makeCancelledError()).then(onfulfilled, onrejected);
        }
      }
    }
    return this.getPromise().then(onfulfilled, onrejected);
  }

  /** @internal Calls `callback` once settled, outside any task bookkeeping. */
  _onSettled(callback: () => void): void {
    this.getPromise().then(callback, callback);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.getPromise().finally(onfinally);
  }

  toString(): string {
    const name = this.constructor.name;
    if (this._state === PENDING) return `<${name} pending>`;
    if (this._state === CANCELLED) return `<${name} cancelled>`;
    if (this._hasException) return `<${name} finished exception=${describeError(this._exception)}>`;
    return `<${name} finished result=${describeValue(this._result)}>`;
  }

  // ---- internals -----------------------------------------------------------

  private refuseAwaitFrom(task: AwaitingTask): Error | null {
    if ((task as unknown) === this) return new RuntimeError(`Task cannot await on itself: ${this}`);
    if (task._loop !== this._loop) {
      return new RuntimeError(`Task ${String(task)} got Future ${this} attached to a different loop`);
    }
    return null;
  }

  private getPromise(): Promise<T> {
    this.markErrorRetrieved();
    if (this.promise !== null) return this.promise;
    if (this._state === FINISHED) {
      this.promise = this._hasException ? Promise.reject(this._exception) : Promise.resolve(this._result as T);
    } else if (this._state === CANCELLED) {
      this.promise = Promise.reject(this._makeCancelledError());
    } else {
      this.promise = new Promise<T>((resolve, reject) => {
        this.resolvePromise = resolve;
        this.rejectPromise = reject;
      });
    }
    return this.promise;
  }

  /** Runs on every completion: wakes awaiters, schedules done callbacks. */
  protected complete(): void {
    const task = this._awaitedBy;
    if (task !== null) {
      if (task._futWaiter === this) task._futWaiter = null;
      this._awaitedBy = null;
    }
    if (this.resolvePromise !== null) {
      if (this._state === CANCELLED) this.rejectPromise?.(this._makeCancelledError());
      else if (this._hasException) this.rejectPromise?.(this._exception);
      else (this.resolvePromise as (value: T) => void)(this._result as T);
      this.resolvePromise = null;
      this.rejectPromise = null;
    }
    const callbacks = this.callbacks;
    if (callbacks === null) return;
    this.callbacks = null;
    for (const callback of callbacks) this._loop.callSoon(callback as DoneCallback<T>, this);
  }

  /** Label used in "exception was never retrieved" ("Future" or "Task"). */
  protected describeForReport(): string {
    return 'Future';
  }

  private watchError(): void {
    if (this.promise !== null) return; // someone already awaits it
    this.errorWatched = true;
    unretrievedErrors.register(
      this,
      {
        loop: this._loop,
        exception: this._exception,
        description: this.describeForReport(),
        sourceTraceback: this._sourceTraceback,
      },
      this,
    );
  }

  private markErrorRetrieved(): void {
    if (!this.errorWatched) return;
    this.errorWatched = false;
    unretrievedErrors.unregister(this);
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}(${JSON.stringify(err.message)})` : describeValue(err);
}

/** True for greenloop Futures and Tasks. */
export function isFuture(value: unknown): value is Future<unknown> {
  return value instanceof Future;
}

/** True for any object with a `then` method (promises, Futures, thenables). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * A Future that follows `promise` (asyncio's `wrap_future`). Cancelling the
 * Future cannot stop the promise's work; its outcome is then ignored.
 */
export function futureFromPromise<T>(promise: PromiseLike<T>, loop: EventLoop): Future<T> {
  const future = new Future<T>({ loop });
  const settle = (apply: () => void): void => {
    if (!future.done() && !loop.isClosed()) apply();
  };
  promise.then(
    (value) => settle(() => future.setResult(value)),
    (error: unknown) =>
      settle(() => (error instanceof CancelledError ? future.cancel(error.message) : future.setException(error))),
  );
  return future;
}
