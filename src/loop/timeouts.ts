/**
 * Timeouts (asyncio's `timeouts.py`): `timeout(delay)` and `timeoutAt(when)`
 * bound how long a block of code may run in the current task.
 *
 * Guarantees:
 * - When the deadline passes while the block runs, the task is cancelled
 *   with `task.cancel()`, so the block gets CancelledError at the await it is
 *   blocked on. When that CancelledError leaves the block, the Timeout takes
 *   its cancel back (`task.uncancel()`) and raises TimeoutError instead (its
 *   `cause` is the CancelledError); the task goes on as if never cancelled.
 * - Only the Timeout's own cancel is converted. A cancel from elsewhere (another
 *   task's `task.cancel()`, an enclosing timeout that expired as well) keeps
 *   the task's cancel count above what it was on entry, and the error stays a
 *   CancelledError. With nested timeouts, the one that expired raises
 *   TimeoutError and the enclosing ones see it as an ordinary error.
 * - If the block swallows the cancellation and finishes normally, the Timeout
 *   still takes its cancel back and raises nothing; `expired()` says it fired.
 * - A deadline already past when the block starts cancels the task on the
 *   next loop iteration; `null` means no deadline; `Infinity` never fires.
 *
 * Two ways to write the block:
 *
 *     const data = await timeout(5).run(async (t) => fetchAll());   // exact
 *
 *     await using t = timeout(5);                                   // close
 *     const data = await fetchAll();
 *
 * `run()` sees how the block ended and has asyncio's semantics exactly. An
 * async disposer does not see the error thrown in the block: see
 * `[Symbol.asyncDispose]` for what that form does after an expiry.
 */
import { describeValue } from './debug.js';
import { CancelledError, RuntimeError, TimeoutError, ValueError } from './errors.js';
import { isFuture, isThenable } from './futures.js';
import type { Handle } from './handles.js';
import { _requireRunningLoop } from './running.js';
import { currentTask, ensureFuture, isGenerator, type Awaitable, type Coroutine, type Task } from './tasks.js';

/**
 * The block of a scope (`Timeout.run`, `TaskGroup.run`): a function called
 * with the scope (an async function, or a generator function, which runs as
 * its own Task awaited by the current one), or an awaitable to wait for.
 */
export type ScopeBody<T, S> = ((scope: S) => Coroutine<T>) | Awaitable<T>;

/**
 * @internal Starts `body` in the current task; returns what to await for its
 * result. A generator runs as a Task, which the current task awaits, so
 * cancelling the current task cancels the generator too.
 */
export function _startBody<T, S>(body: ScopeBody<T, S>, scope: S): PromiseLike<T> {
  const started = typeof body === 'function' ? body(scope) : body;
  if (isGenerator(started)) return ensureFuture(started as Coroutine<T>);
  if (isThenable(started)) return started as PromiseLike<T>;
  // A plain function's return value: nothing to wait for.
  return Promise.resolve(started as T);
}

/** @internal TypeError unless `body` is a function or an awaitable. */
export function _checkBody(body: unknown, owner: string): void {
  if (typeof body === 'function' || isFuture(body) || isGenerator(body) || isThenable(body)) return;
  throw new TypeError(`${owner} expects a coroutine function or an awaitable, got ${describeValue(body)}`);
}

/** @internal How a scope's block ended, as far as the scope can tell. */
export type BlockOutcome =
  | { readonly kind: 'returned' }
  | { readonly kind: 'threw'; readonly error: unknown }
  /** An async disposer ran: the block's error, if any, is out of sight. */
  | { readonly kind: 'unseen' };

/** The states of asyncio's Timeout, with the names its repr shows. */
type TimeoutState = 'created' | 'active' | 'expiring' | 'expired' | 'finished';

/**
 * A deadline for a block of code running in one task (asyncio's Timeout).
 * Create it with `timeout(delay)` or `timeoutAt(when)`; enter it once, with
 * `run()` or `await using`.
 */
export class Timeout {
  private state: TimeoutState = 'created';
  private deadline: number | null;
  private handle: Handle | null = null;
  private task: Task<unknown> | null = null;
  /** The task's cancel count on entry: more on exit means a foreign cancel. */
  private cancellingOnEntry = 0;

  /** `when` is a loop time (`loop.time()`, seconds) or null for no deadline. */
  constructor(when: number | null) {
    this.deadline = checkWhen(when, 'Timeout');
  }

  /** The deadline (loop time, seconds), or null when there is none. */
  when(): number | null {
    return this.deadline;
  }

  /**
   * Moves the deadline to `when` (loop time, or null for none). Only while
   * the block runs and before expiry: RuntimeError otherwise.
   */
  reschedule(when: number | null): void {
    if (this.state !== 'active') {
      if (this.state === 'created') throw new RuntimeError('Timeout has not been entered');
      throw new RuntimeError(`Cannot change state of ${this.state} Timeout`);
    }
    this.deadline = checkWhen(when, 'reschedule');
    this.handle?.cancel();
    this.handle = null;
    if (when === null || when === Infinity) return;
    const loop = _requireRunningLoop('Timeout.reschedule()');
    this.handle = when <= loop.time() ? loop.callSoon(this.onTimeout) : loop.callAt(when, this.onTimeout);
  }

  /** Whether the deadline passed while the block ran. */
  expired(): boolean {
    return this.state === 'expiring' || this.state === 'expired';
  }

  toString(): string {
    if (this.state !== 'active') return `<Timeout [${this.state}]>`;
    const when = this.deadline === null ? 'null' : String(Math.round(this.deadline * 1000) / 1000);
    return `<Timeout [active] when=${when}>`;
  }

  /**
   * Runs `body` under this deadline in the current task and returns its
   * result; TimeoutError if the deadline passed and cut the block short.
   * `body` gets the Timeout (to `reschedule` it); it may be an async
   * function, a generator function, or an awaitable. RuntimeError if the
   * Timeout was entered before or no task is running.
   */
  async run<T>(body: ScopeBody<T, Timeout>): Promise<T> {
    _checkBody(body, 'Timeout.run()');
    this.enter();
    let result: T;
    try {
      result = await _startBody(body, this);
    } catch (error) {
      throw this.exit({ kind: 'threw', error }) ?? error;
    }
    const replacement = this.exit({ kind: 'returned' });
    if (replacement !== null) throw replacement;
    return result;
  }

  /**
   * `await using t = timeout(delay)`: the declaration enters the Timeout (it
   * reads this property, which enters and returns the exit function), and the
   * end of the enclosing block exits it.
   *
   * An async disposer cannot see the error thrown by the block, so after an
   * expiry it assumes the block is ending with the CancelledError the
   * Timeout caused: it takes back its cancel and throws TimeoutError. What the
   * code around the block then catches:
   * - not expired: whatever the block threw, unchanged (as asyncio);
   * - expired, block ended by the CancelledError: a `SuppressedError` whose
   *   `error` is the TimeoutError and `suppressed` the CancelledError (JS
   *   combines a disposer's error with the block's this way; Node 20 has no
   *   global SuppressedError class, so test `err.name === 'SuppressedError'`);
   * - expired, block swallowed the cancel and returned: TimeoutError (asyncio
   *   raises nothing here);
   * - expired, block threw another error: a SuppressedError of the
   *   TimeoutError and that error (asyncio raises that error);
   * - a foreign cancel on top of the expiry: nothing is thrown, the block's
   *   CancelledError goes on (as asyncio).
   * Use `run()` where the exact asyncio behaviour matters.
   */
  get [Symbol.asyncDispose](): () => Promise<void> {
    this.enter();
    return async () => {
      const replacement = this.exit({ kind: 'unseen' });
      if (replacement !== null) throw replacement;
    };
  }

  // ---- asyncio's __aenter__ / __aexit__ --------------------------------------

  private enter(): void {
    if (this.state !== 'created') throw new RuntimeError('Timeout has already been entered');
    const task = currentTask();
    if (task === null) throw new RuntimeError('Timeout should be used inside a task');
    this.state = 'active';
    this.task = task;
    this.cancellingOnEntry = task.cancelling();
    this.reschedule(this.deadline);
  }

  /** Leaves the block; returns the TimeoutError to raise instead of its outcome, or null. */
  private exit(outcome: BlockOutcome): TimeoutError | null {
    if (this.state !== 'active' && this.state !== 'expiring') {
      throw new RuntimeError(`Timeout cannot be exited: it is ${this.state}`);
    }
    this.handle?.cancel();
    this.handle = null;
    if (this.state === 'active') {
      this.state = 'finished';
      return null;
    }
    this.state = 'expired';
    const task = this.task as Task<unknown>;
    // Our cancel is taken back; a count still above the entry count means
    // someone else cancelled the task too, and their CancelledError must go on.
    if (task.uncancel() > this.cancellingOnEntry || outcome.kind === 'returned') return null;
    if (outcome.kind === 'threw' && !(outcome.error instanceof CancelledError)) return null;
    const error = new TimeoutError(`Timeout expired (deadline: loop time ${describeDeadline(this.deadline)})`);
    if (outcome.kind === 'threw') error.cause = outcome.error;
    return error;
  }

  private readonly onTimeout = (): void => {
    if (this.state !== 'active') return;
    (this.task as Task<unknown>).cancel();
    this.state = 'expiring';
    this.handle = null;
  };
}

function describeDeadline(when: number | null): string {
  return when === null ? 'none' : when.toFixed(3);
}

function checkWhen(when: unknown, what: string): number | null {
  if (when === null) return null;
  if (typeof when !== 'number') {
    throw new TypeError(`${what}: the deadline must be a loop time in seconds or null, got ${describeValue(when)}`);
  }
  if (Number.isNaN(when)) throw new ValueError(`${what}: the deadline is NaN (not a number)`);
  return when;
}

/**
 * A Timeout that expires `delay` seconds from now (loop time); null for
 * none. Needs a running loop. Enter it with `.run(body)` or `await using`.
 */
export function timeout(delay: number | null): Timeout {
  const loop = _requireRunningLoop('timeout()');
  if (delay === null) return new Timeout(null);
  if (typeof delay !== 'number') {
    throw new TypeError(`timeout: delay must be a number of seconds or null, got ${describeValue(delay)}`);
  }
  if (Number.isNaN(delay)) throw new ValueError('timeout: delay is NaN (not a number)');
  return new Timeout(loop.time() + delay);
}

/** A Timeout that expires at loop time `when` (seconds, as `loop.time()`); null for none. */
export function timeoutAt(when: number | null): Timeout {
  return new Timeout(when);
}
