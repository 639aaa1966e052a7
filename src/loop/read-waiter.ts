/**
 * A StreamReader's wait for data: one promise, settled by the reader itself.
 *
 * Every stream server waits for data once per message. Waiting on a Future
 * costs the Future, the promise behind it, and a second promise (and one more
 * microtask) to turn its wake-up into the bytes read. This waiter is a single
 * promise that `feedData()` settles with the bytes, so the reading coroutine
 * resumes one microtask after the data arrives.
 *
 * It keeps what awaiting a Future gives a Task: the task records the waiter as
 * what it waits on, so `task.cancel()` rejects the read with CancelledError at
 * its `await`; a cancel the task has pending is raised by the read at once; a
 * task of another loop gets a RuntimeError. A reader has at most one wait
 * pending, so it keeps one waiter and reuses it.
 */
import { taskContext, type AwaitingTask, type TaskWaiter } from './context.js';
import { CancelledError, RuntimeError } from './errors.js';
import type { EventLoop } from './event-loop.js';

type Resolve = (data: Buffer) => void;
type Reject = (error: unknown) => void;

export class ReadWaiter implements TaskWaiter {
  private resolveRead: Resolve | null = null;
  private rejectRead: Reject | null = null;
  /** The promise of the pending or last cancelled wait, for `_onSettled()`. */
  private promise: Promise<Buffer> | null = null;
  private task: AwaitingTask | null = null;
  /** @internal What the wait is, for dumps (the reader sets it). */
  _label: string | { toString(): string } | null = null;
  // Bound once: a wait allocates no closure of its own.
  private readonly capture = (resolve: Resolve, reject: Reject): void => {
    this.resolveRead = resolve;
    this.rejectRead = reject;
  };

  constructor(private readonly loop: EventLoop) {}

  /** Whether a wait is pending. */
  get pending(): boolean {
    return this.resolveRead !== null;
  }

  /**
   * Starts a wait for the running task (if any) and returns its promise;
   * settled by `resolve()`, `reject()` or the task's `cancel()`.
   */
  start(): Promise<Buffer> {
    const task = taskContext.getStore();
    if (task !== undefined && !task.done()) {
      const refusal = this.refusal(task);
      if (refusal !== null) return Promise.reject(refusal);
      task._futWaiter = this;
      task._waitStarted = this.loop.time();
      this.task = task;
    }
    const promise = new Promise<Buffer>(this.capture);
    this.promise = promise;
    return promise;
  }

  /** Ends the pending wait with `data`. */
  resolve(data: Buffer): void {
    const resolve = this.resolveRead;
    if (resolve === null) return;
    this.release();
    // Only a cancelled wait is asked about later (_onSettled): holding this
    // one would keep the bytes read alive until the next read.
    this.promise = null;
    resolve(data);
  }

  /** Ends the pending wait with `error`. */
  reject(error: unknown): void {
    const reject = this.rejectRead;
    if (reject === null) return;
    this.release();
    reject(error);
  }

  /** `task.cancel()` ends the wait with CancelledError; false if none is pending. */
  cancel(message?: string): boolean {
    if (this.rejectRead === null) return false;
    this.reject(new CancelledError(message));
    return true;
  }

  /** @internal */
  _onSettled(callback: () => void): void {
    if (this.promise === null) callback();
    else this.promise.then(callback, callback);
  }

  toString(): string {
    return `<ReadWaiter ${this.pending ? 'pending' : 'idle'}>`;
  }

  /** Why `task` may not wait here (another loop, a pending cancel), or null; consumes the pending cancel. */
  private refusal(task: AwaitingTask): Error | null {
    if (task._loop !== this.loop) return new RuntimeError(`Task ${String(task)} got Future ${String(this)} attached to a different loop`);
    if (!task._mustCancel) return null;
    // As awaiting a Future: a cancel requested while the task ran is raised here.
    task._mustCancel = false;
    return task._makeCancelledError();
  }

  private release(): void {
    this.resolveRead = null;
    this.rejectRead = null;
    const task = this.task;
    if (task === null) return;
    this.task = null;
    if (task._futWaiter === this) task._futWaiter = null;
  }
}
