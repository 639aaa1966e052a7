/**
 * Synchronization primitives (asyncio's `locks.py`): Lock, Event, Condition,
 * and what every primitive and queue shares: blocking operations usable from
 * both kinds of coroutine, FIFO waiter lists, loop binding, and the scoped
 * forms `run(fn)` and `hold()`.
 *
 * Guarantees, for every primitive built on these pieces:
 * - Waiters are woken in FIFO order, and a newcomer never overtakes a waiter
 *   that was woken but has not run yet. A woken generator coroutine runs on
 *   the next loop iteration, a woken async function right after the current
 *   one, so when waiters of both kinds are woken together the async functions
 *   run first.
 * - `task.cancel()` raises CancelledError inside a blocked operation, where it
 *   waits, in both kinds of coroutine; the operation undoes its bookkeeping
 *   before the error leaves it. A waiter cancelled *after* it was woken passes
 *   the wake-up on to the next waiter: no wake-up, permit or item is lost.
 * - Like asyncio's, primitives are not thread-safe: they belong to the loop
 *   they first wait on; using them from another loop raises RuntimeError.
 */
import { taskContext } from './context.js';
import { describeValue } from './debug.js';
import { Deque } from './deque.js';
import { CancelledError, RuntimeError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import { type Future, isThenable } from './futures.js';
import { getRunningLoop } from './running.js';
import { ensureFuture, isGenerator } from './tasks.js';

// ---- operations usable from both kinds of coroutine -------------------------

/**
 * A blocking operation (`lock.acquire()`, `queue.get()`, ...): `await op` in an
 * async function, `yield op` or `yield* op` in a generator coroutine.
 *
 * Like a Python coroutine object it does nothing until it is awaited or
 * yielded, and it runs at most once: `lock.acquire()` without `await` (or
 * `yield`) does not acquire. A generator coroutine that yields it runs it
 * inline, in the same task, so a cancel reaches the operation itself.
 */
export type Operation<T> = Generator<unknown, T, unknown> & PromiseLike<T>;

/** Makes the generator `steps` an Operation: awaitable, and still a generator. */
export function toOperation<T>(steps: Generator<unknown, T, unknown>): Operation<T> {
  let outcome: Promise<T> | null = null;
  const then: Operation<T>['then'] = (onfulfilled, onrejected) => {
    outcome ??= start(steps);
    return outcome.then(onfulfilled, onrejected);
  };
  Object.defineProperty(steps, 'then', { value: then, configurable: true });
  return steps as Operation<T>;
}

/** Runs the first step now: an operation that need not wait settles at once. */
function start<T>(steps: Generator<unknown, T, unknown>): Promise<T> {
  let first: IteratorResult<unknown, T>;
  try {
    first = steps.next();
  } catch (error) {
    return Promise.reject(error);
  }
  return first.done === true ? Promise.resolve(first.value) : drive(steps, first);
}

/**
 * Runs an operation's steps for an async function: awaits what each step
 * yields and sends the outcome back. Awaiting a Future from inside the task
 * makes it what `task.cancel()` cancels; a cancel that arrives after the Future
 * got its result (so it could not be cancelled) is raised here, at this await,
 * exactly as the task would raise it at a generator's `yield`.
 */
async function drive<T>(steps: Generator<unknown, T, unknown>, first: IteratorResult<unknown, T>): Promise<T> {
  let next = first;
  while (next.done !== true) {
    let outcome: { value: unknown } | { error: unknown };
    try {
      // A generator yielded here (a `run(fn)` body) runs as a Task.
      const value = await (isGenerator(next.value) ? ensureFuture(next.value) : next.value);
      const cancel = takePendingCancel();
      outcome = cancel === null ? { value } : { error: cancel };
    } catch (error) {
      outcome = { error };
    }
    next = 'error' in outcome ? steps.throw(outcome.error) : steps.next(outcome.value);
  }
  return next.value;
}

/** The cancel the current task has pending (and clears it), or null. */
function takePendingCancel(): CancelledError | null {
  const task = taskContext.getStore();
  if (task === undefined || task.done() || !task._mustCancel) return null;
  task._mustCancel = false;
  return task._makeCancelledError();
}

/** What `run(fn)` resolves to: the generator's return value or the awaited result. */
export type Outcome<R> = R extends Generator<unknown, infer V, unknown> ? V : Awaited<R>;

/** Runs `fn()` as a step: a returned generator or thenable is waited for. */
function* callStep<R>(fn: () => R): Generator<unknown, Outcome<R>, unknown> {
  if (typeof fn !== 'function') throw new TypeError(`run() expects a function, got ${describeValue(fn)}`);
  const result = fn();
  if (isGenerator(result) || isThenable(result)) return (yield result) as Outcome<R>;
  return result as Outcome<R>;
}

// ---- waiter lists ------------------------------------------------------------

export interface ParkOptions {
  /** Park at the head of the line (a waiter keeping its place), not the back. */
  front?: boolean;
  /** Runs when the waiter is cancelled after it was woken: pass the wake-up on. */
  onLostWakeUp?: () => void;
}

/**
 * @internal A FIFO list of parked waiters, one Future each. A waiter's Future
 * stays in the list until its owner runs again, so the list knows how many
 * waiters were woken but have not run yet (`woken`).
 */
export class Waiters<T = boolean> {
  private readonly futures = new Deque<Future<T>>();
  private wokenCount = 0;

  /** How many waiters are parked (woken ones included, until they run). */
  get length(): number {
    return this.futures.length;
  }
  /** How many waiters were woken and have not run yet. */
  get woken(): number {
    return this.wokenCount;
  }

  /** `state` plus the waiter count, for a primitive's toString(). */
  describe(state: string): string {
    return this.futures.length > 0 ? `${state}, waiters:${this.futures.length}` : state;
  }

  /** True if some waiter is parked or woken (cancelled ones do not count). */
  hasLive(): boolean {
    for (const future of this.futures) if (!future.cancelled()) return true;
    return false;
  }

  /** Wakes the first waiter not yet woken or cancelled; false if there is none. */
  wakeNext(value: T): boolean {
    for (const future of this.futures) {
      if (future.done()) continue;
      future.setResult(value);
      this.wokenCount++;
      return true;
    }
    return false;
  }

  /** Wakes up to `n` waiters (all by default) in FIFO order. */
  wake(value: T, n = Infinity): void {
    let count = 0;
    while (count < n && this.wakeNext(value)) count++;
  }

  /**
   * Parks the caller until woken; returns the value it was woken with. On any
   * error (a cancel) the waiter leaves the list; if it had been woken already,
   * `onLostWakeUp` runs so the wake-up is not lost.
   */
  *park(loop: EventLoop, options: ParkOptions = {}): Generator<unknown, T, unknown> {
    const future = loop.createFuture<T>();
    if (options.front === true) this.futures.unshift(future);
    else this.futures.push(future);
    let value: T;
    try {
      value = (yield future) as T;
    } catch (error) {
      this.futures.remove(future);
      if (future.done() && !future.cancelled()) {
        this.wokenCount--;
        options.onLostWakeUp?.();
      } else {
        future.cancel();
      }
      throw error;
    }
    this.futures.remove(future);
    this.wokenCount--;
    return value;
  }
}

// ---- loop binding and scoped use ----------------------------------------------

/**
 * A primitive that binds to the first loop it waits on (asyncio's
 * `_LoopBoundMixin`); using it from another loop raises RuntimeError.
 */
export class LoopBound {
  private boundLoop: EventLoop | null = null;

  /** @internal The running loop, checked against the bound one. */
  protected _getLoop(): EventLoop {
    const loop = getRunningLoop();
    if (this.boundLoop === null) this.boundLoop = loop;
    else if (this.boundLoop !== loop) throw new RuntimeError(`${String(this)} is bound to a different event loop`);
    return loop;
  }
}

/**
 * A held Lock, Semaphore or Condition, from `hold()`: released by `release()`
 * or at the end of an `await using` (generators: `using`) block. Releasing it
 * again does nothing, so it never releases a hold that is not its own.
 */
export class Hold {
  private active = true;

  constructor(private readonly target: { release(): void }) {}

  get held(): boolean {
    return this.active;
  }

  release(): void {
    if (!this.active) return;
    this.active = false;
    this.target.release();
  }

  [Symbol.dispose](): void {
    this.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}

/**
 * What Lock, Semaphore and Condition share: `acquire`/`release`/`locked`,
 * and two scoped forms that always release (asyncio's `async with lock:`):
 *
 * ```ts
 * const value = await lock.run(async () => compute());   // acquire, run, release
 * {
 *   await using held = await lock.hold();                  // released at block end
 *   ...
 * }
 * // generator coroutines: `yield* lock.run(fn)` or `using held = yield* lock.hold();`
 * ```
 */
export abstract class Acquirable extends LoopBound {
  abstract acquire(): Operation<true>;
  abstract release(): void;
  abstract locked(): boolean;

  /**
   * Acquires, runs `fn()` (waiting for the promise or generator it returns),
   * and releases in every case, also on error and cancel. Resolves to `fn`'s
   * result.
   */
  run<R>(fn: () => R): Operation<Outcome<R>> {
    return toOperation(this.runSteps(fn));
  }

  /** Acquires and resolves to a Hold that releases once, e.g. with `await using`. */
  hold(): Operation<Hold> {
    return toOperation(this.holdSteps());
  }

  private *runSteps<R>(fn: () => R): Generator<unknown, Outcome<R>, unknown> {
    yield* this.acquire();
    try {
      return yield* callStep(fn);
    } finally {
      this.release();
    }
  }

  private *holdSteps(): Generator<unknown, Hold, unknown> {
    yield* this.acquire();
    return new Hold(this);
  }
}

// ---- Lock ------------------------------------------------------------------------

/**
 * A mutual-exclusion lock, not owned by a task (asyncio.Lock). `acquire()`
 * waits until the lock is free, then locks it; `release()` unlocks it and
 * lets exactly one waiter proceed, in FIFO order. Releasing an unlocked lock
 * raises RuntimeError.
 */
export class Lock extends Acquirable {
  private isLocked = false;
  private readonly waiters = new Waiters<true>();

  /** True while the lock is held. */
  locked(): boolean {
    return this.isLocked;
  }

  /** Waits until the lock is free, locks it, resolves to true. */
  acquire(): Operation<true> {
    return toOperation(this.acquireSteps());
  }

  /** Unlocks and wakes the first waiter; RuntimeError if the lock is not held. */
  release(): void {
    if (!this.isLocked) throw new RuntimeError('Lock is not acquired.');
    this.isLocked = false;
    this.wakeUpFirst();
  }

  override toString(): string {
    return `<Lock [${this.waiters.describe(this.isLocked ? 'locked' : 'unlocked')}]>`;
  }

  private *acquireSteps(): Generator<unknown, true, unknown> {
    // Fair: take the lock at once only if nobody (not cancelled) waits for it.
    if (!this.isLocked && !this.waiters.hasLive()) {
      this.isLocked = true;
      return true;
    }
    try {
      yield* this.waiters.park(this._getLoop());
    } catch (error) {
      // Keep the invariant: a free lock with waiters has one of them woken.
      if (!this.isLocked) this.wakeUpFirst();
      throw error;
    }
    this.isLocked = true;
    return true;
  }

  /** Wakes the first waiter, unless one is already woken and about to lock. */
  private wakeUpFirst(): void {
    if (this.waiters.woken === 0) this.waiters.wakeNext(true);
  }
}

// ---- Event -------------------------------------------------------------------------

/**
 * A flag tasks can wait for (asyncio.Event). `set()` wakes every waiter and
 * makes later `wait()` calls return at once, until `clear()`.
 */
export class Event extends LoopBound {
  private value = false;
  private readonly waiters = new Waiters<true>();

  /** True if the flag is set. */
  isSet(): boolean {
    return this.value;
  }

  /** Sets the flag and wakes every waiting task. */
  set(): void {
    if (this.value) return;
    this.value = true;
    this.waiters.wake(true);
  }

  /** Clears the flag: later `wait()` calls block until the next `set()`. */
  clear(): void {
    this.value = false;
  }

  /** Resolves to true once the flag is set (at once if it is set now). */
  wait(): Operation<true> {
    return toOperation(this.waitSteps());
  }

  override toString(): string {
    return `<Event [${this.waiters.describe(this.value ? 'set' : 'unset')}]>`;
  }

  private *waitSteps(): Generator<unknown, true, unknown> {
    if (this.value) return true;
    yield* this.waiters.park(this._getLoop());
    return true;
  }
}

// ---- Condition -------------------------------------------------------------------

/**
 * A condition variable (asyncio.Condition): tasks holding its lock wait for
 * a notification with `wait()`, which releases the lock while waiting and
 * re-acquires it before returning, also when cancelled. `lock` lets several
 * conditions share one Lock. `wait()` may return spuriously (a waiter that
 * is cancelled after being notified passes the notification on), so callers
 * re-check their predicate, or use `waitFor(predicate)`.
 */
export class Condition extends Acquirable {
  private readonly lock: Lock;
  private readonly waiters = new Waiters<false>();

  constructor(lock?: Lock) {
    super();
    if (lock !== undefined && !(lock instanceof Lock)) {
      throw new TypeError(`Condition(lock): lock must be a Lock, got ${describeValue(lock)}`);
    }
    this.lock = lock ?? new Lock();
  }

  /** Acquires the underlying lock. */
  acquire(): Operation<true> {
    return this.lock.acquire();
  }

  /** Releases the underlying lock; RuntimeError if it is not held. */
  release(): void {
    this.lock.release();
  }

  /** True while the underlying lock is held. */
  locked(): boolean {
    return this.lock.locked();
  }

  /**
   * Releases the lock, waits for a notification, re-acquires the lock and
   * resolves to true. RuntimeError if the lock is not held. When cancelled,
   * the lock is still re-acquired before CancelledError is raised.
   */
  wait(): Operation<true> {
    return toOperation(this.waitSteps());
  }

  /**
   * Waits until `predicate()` is truthy, re-checking after each notification;
   * resolves to the predicate's last value. The lock must be held.
   */
  waitFor<R>(predicate: () => R): Operation<R> {
    if (typeof predicate !== 'function') {
      throw new TypeError(`waitFor() expects a predicate function, got ${describeValue(predicate)}`);
    }
    return toOperation(this.waitForSteps(predicate));
  }

  /** Wakes up to `n` waiting tasks; RuntimeError if the lock is not held. */
  notify(n = 1): void {
    if (typeof n !== 'number' || Number.isNaN(n)) {
      throw new TypeError(`notify(n): n must be a number, got ${describeValue(n)}`);
    }
    if (!this.locked()) throw new RuntimeError('cannot notify on un-acquired lock');
    this.waiters.wake(false, n);
  }

  /** Wakes every waiting task; RuntimeError if the lock is not held. */
  notifyAll(): void {
    this.notify(Infinity);
  }

  override toString(): string {
    return `<Condition [${this.waiters.describe(this.locked() ? 'locked' : 'unlocked')}]>`;
  }

  private *waitSteps(): Generator<unknown, true, unknown> {
    if (!this.locked()) throw new RuntimeError('cannot wait on un-acquired lock');
    const loop = this._getLoop();
    this.release();
    try {
      try {
        yield* this.waiters.park(loop);
        return true;
      } finally {
        yield* this.reacquire();
      }
    } catch (error) {
      // The error may have come after this waiter was notified: notify
      // another one instead (a spurious wake-up is allowed; a lost one is not).
      this.waiters.wake(false, 1);
      throw error;
    }
  }

  /** Re-acquires the lock even through cancels; the last cancel is raised after. */
  private *reacquire(): Generator<unknown, void, unknown> {
    let cancel: CancelledError | null = null;
    for (;;) {
      try {
        yield* this.lock.acquire();
        break;
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
        cancel = error;
      }
    }
    if (cancel !== null) throw cancel;
  }

  private *waitForSteps<R>(predicate: () => R): Generator<unknown, R, unknown> {
    let result = predicate();
    while (!result) {
      yield* this.wait();
      result = predicate();
    }
    return result;
  }
}
