/**
 * TaskGroup (asyncio's `taskgroups.py`): tasks that live and die together
 * inside one block of the parent task.
 *
 * Guarantees:
 * - The group ends only when every task created in it has ended.
 * - When a child fails (an error other than CancelledError), the other
 *   children and the block itself (the parent task, at the await it is
 *   blocked on) are cancelled; once all have ended, the group raises an
 *   `ExceptionGroup` ("unhandled errors in a TaskGroup") holding every child
 *   error in the order they happened, then the block's own error if it threw
 *   one. A block that throws also cancels the children, and its error alone
 *   comes out in an ExceptionGroup too (as asyncio 3.12).
 * - The group takes back (`uncancel()`) only the cancel it sent to the
 *   parent task: a cancel from outside cancels the children and comes out as
 *   a plain CancelledError (unless children failed: the ExceptionGroup wins
 *   and the parent task is left cancelled, so its next await raises).
 * - A KeyboardInterrupt from a child or the block comes out as itself.
 * - `createTask` before entry, after the group finished or while it shuts
 *   down is a RuntimeError.
 *
 * Two ways to write the block:
 *
 *     const result = await TaskGroup.run(async (tg) => {   // exact
 *       tg.createTask(fetch, 'a');
 *       tg.createTask(fetch, 'b');
 *     });
 *
 *     await using tg = new TaskGroup();                   // close
 *     tg.createTask(fetch, 'a');
 *
 * See `[Symbol.asyncDispose]` for what the second form cannot do.
 */
import { CancelledError, ExceptionGroup, KeyboardInterrupt, RuntimeError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import type { Future } from './futures.js';
import { _requireRunningLoop } from './running.js';
import { currentTask, isGenerator, type CoroutineLike, type Task } from './tasks.js';
import { _checkBody, _startBody, type BlockOutcome, type ScopeBody } from './timeouts.js';

export class TaskGroup {
  private entered = false;
  private exiting = false;
  private aborting = false;
  private loop: EventLoop | null = null;
  private parentTask: Task<unknown> | null = null;
  private parentCancelRequested = false;
  private cancellingOnEntry = 0;
  private readonly tasks = new Set<Task<unknown>>();
  private errors: unknown[] = [];
  private baseError: KeyboardInterrupt | null = null;
  private onCompleted: Future<boolean> | null = null;

  /**
   * Runs `body(tg)` in the current task with a new TaskGroup and returns
   * its result once every child has ended. `body` may be an async function
   * or a generator function (run as a Task that the current one awaits).
   */
  static async run<T>(body: ScopeBody<T, TaskGroup>): Promise<T> {
    _checkBody(body, 'TaskGroup.run()');
    const group = new TaskGroup();
    group.enter();
    let result: T;
    try {
      result = await _startBody(body, group);
    } catch (error) {
      await group.exit({ kind: 'threw', error });
      throw error;
    }
    await group.exit({ kind: 'returned' });
    return result;
  }

  /**
   * `await using tg = new TaskGroup()`: the declaration enters the group (it
   * reads this property), and the end of the enclosing block waits for the
   * children as `TaskGroup.run()` does.
   *
   * An async disposer does not see the error thrown by the block. The
   * disposer takes the block to be ending with CancelledError when the parent
   * task has a cancel pending that it did not have on entry (a child failed,
   * or the task was cancelled from outside), and to have finished normally
   * otherwise. So, unlike `run()`:
   * - a block that throws an error of its own does not cancel the children:
   *   the disposer waits for them to end, and the error is not put in the
   *   ExceptionGroup;
   * - when the disposer throws (an ExceptionGroup, or a CancelledError
   *   received while waiting) over an error of the block, JS combines the two
   *   into a `SuppressedError` (`error`: the group's, `suppressed`: the
   *   block's; test `err.name === 'SuppressedError'` on Node 20, which has no
   *   global class for it); when it has nothing to add, the block's error goes
   *   on as is;
   * - a block that caught the cancel and finished normally still has its
   *   children cancelled.
   * Use `TaskGroup.run()` where a block may throw.
   */
  get [Symbol.asyncDispose](): () => Promise<void> {
    this.enter();
    return () => this.exit({ kind: 'unseen' });
  }

  /**
   * Starts `fn(...args)` as a Task in the group (as `createTask()`; also a
   * generator object or a promise). RuntimeError if the group is not entered,
   * has finished, or is shutting down after a failure.
   */
  createTask<T, A extends unknown[]>(fn: CoroutineLike<T, A>, ...args: A): Task<T> {
    const refusal = this.refusal();
    if (refusal !== null) {
      // It will never run: close it, as asyncio closes the coroutine.
      if (isGenerator(fn)) (fn as Generator<unknown, unknown, unknown>).return(undefined);
      throw new RuntimeError(`TaskGroup ${this} ${refusal}`);
    }
    const task = (this.loop as EventLoop).createTask(fn, { args });
    const member = task as unknown as Task<unknown>;
    this.tasks.add(member);
    member.addDoneCallback(this.onTaskDone);
    return task;
  }

  toString(): string {
    const info: string[] = [];
    if (this.tasks.size > 0) info.push(`tasks=${this.tasks.size}`);
    if (this.errors.length > 0) info.push(`errors=${this.errors.length}`);
    if (this.aborting) info.push('cancelling');
    else if (this.entered) info.push('entered');
    return `<TaskGroup${info.map((part) => ` ${part}`).join('')}>`;
  }

  // ---- asyncio's __aenter__ / __aexit__ --------------------------------------

  private enter(): void {
    if (this.entered) throw new RuntimeError(`TaskGroup ${this} has already been entered`);
    this.loop ??= _requireRunningLoop('TaskGroup');
    const parent = currentTask(this.loop);
    if (parent === null) throw new RuntimeError(`TaskGroup ${this} cannot determine the parent task`);
    this.parentTask = parent;
    this.cancellingOnEntry = parent.cancelling();
    this.entered = true;
  }

  private refusal(): string | null {
    if (!this.entered) return 'has not been entered';
    if (this.exiting && this.tasks.size === 0) return 'is finished';
    if (this.aborting) return 'is shutting down';
    return null;
  }

  /**
   * Waits for the children and decides what leaves the block. Throws the
   * error that replaces the block's outcome; returns when the outcome stands.
   */
  private async exit(outcome: BlockOutcome): Promise<void> {
    if (this.exiting) throw new RuntimeError(`TaskGroup ${this} has already been exited`);
    this.exiting = true;
    const parent = this.parentTask as Task<unknown>;
    const blockError = outcome.kind === 'threw' ? outcome.error : undefined;
    const blockFailed =
      outcome.kind === 'threw' || (outcome.kind === 'unseen' && parent.cancelling() > this.cancellingOnEntry);
    if (blockError instanceof KeyboardInterrupt && this.baseError === null) this.baseError = blockError;
    // The CancelledError to raise at the end; UNSEEN: the block's own, already on its way out.
    let propagateCancel: CancelledError | typeof UNSEEN | null = null;
    if (blockError instanceof CancelledError) propagateCancel = blockError;
    else if (blockFailed && outcome.kind === 'unseen') propagateCancel = UNSEEN;
    if (blockFailed && !this.aborting) this.abort();

    const waited = await this.waitForChildren();
    if (waited.abortedBy !== null) propagateCancel = waited.abortedBy;
    if (this.baseError !== null) throw this.raiseBaseError();

    if (this.parentCancelRequested) {
      // We cancelled the parent: take exactly that cancel back. A cancel
      // still counted after that is someone else's and must not be lost.
      if (parent.uncancel() === 0) propagateCancel = null;
      else propagateCancel ??= waited.received;
    }
    if (propagateCancel !== null && this.errors.length === 0) {
      if (propagateCancel !== UNSEEN) throw propagateCancel;
      return;
    }
    if (outcome.kind === 'threw' && !(blockError instanceof CancelledError)) this.errors.push(blockError);
    if (this.errors.length > 0) throw this.raiseErrors();
  }

  /**
   * Waits until every child has ended. A cancel of the parent meanwhile
   * aborts the group (if a failure did not already) and the wait goes on.
   * Returns the last CancelledError received, and the one that aborted.
   */
  private async waitForChildren(): Promise<{ received: CancelledError | null; abortedBy: CancelledError | null }> {
    let received: CancelledError | null = null;
    let abortedBy: CancelledError | null = null;
    while (this.tasks.size > 0) {
      this.onCompleted ??= (this.loop as EventLoop).createFuture<boolean>();
      try {
        await this.onCompleted;
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
        received = error;
        if (!this.aborting) {
          abortedBy = error;
          this.abort();
        }
      }
      this.onCompleted = null;
    }
    return { received, abortedBy };
  }

  private raiseBaseError(): KeyboardInterrupt {
    // The errors that the KeyboardInterrupt displaces still get reported.
    for (const error of this.errors) {
      if (error === this.baseError) continue;
      (this.loop as EventLoop).callExceptionHandler({
        message: 'TaskGroup task exception was not propagated because the TaskGroup body is being closed with a KeyboardInterrupt',
        exception: error,
        task_group: this,
      });
    }
    return this.baseError as KeyboardInterrupt;
  }

  private raiseErrors(): ExceptionGroup {
    const parent = this.parentTask as Task<unknown>;
    // A cancel from outside must survive the ExceptionGroup replacing its
    // CancelledError: re-arm it, keeping the count, for the next await.
    if (parent.cancelling() > 0) {
      parent.uncancel();
      parent.cancel();
    }
    const errors = this.errors;
    this.errors = [];
    const count = `${errors.length} sub-exception${errors.length === 1 ? '' : 's'}`;
    return new ExceptionGroup(`unhandled errors in a TaskGroup (${count})`, errors);
  }

  private abort(): void {
    this.aborting = true;
    for (const task of this.tasks) if (!task.done()) task.cancel();
  }

  private readonly onTaskDone = (future: Future<unknown>): void => {
    const task = future as Task<unknown>;
    this.tasks.delete(task);
    if (this.onCompleted !== null && this.tasks.size === 0 && !this.onCompleted.done()) {
      this.onCompleted.setResult(true);
    }
    if (task.cancelled()) return;
    const error = task.exception();
    if (error === null) return;
    this.errors.push(error);
    if (error instanceof KeyboardInterrupt && this.baseError === null) this.baseError = error;
    const parent = this.parentTask as Task<unknown>;
    if (parent.done()) {
      (this.loop as EventLoop).callExceptionHandler({
        message: `Task ${task} has errored out but its parent task ${parent} is already completed`,
        exception: error,
        task,
      });
      return;
    }
    if (!this.aborting && !this.parentCancelRequested) {
      // Stop whatever the block is awaiting; exit() takes this cancel back.
      this.abort();
      this.parentCancelRequested = true;
      parent.cancel();
    }
  };
}

/** Marks a CancelledError that the group cannot see (the `await using` form). */
const UNSEEN = Symbol('unseen CancelledError');
