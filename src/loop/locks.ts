/**
 * Synchronization primitives (asyncio's `locks.py`): Lock, Event, Condition,
 * and what every lock-like primitive shares: loop binding and the scoped
 * forms `run(fn)` and `hold()`. Blocking operations and waiter lists are in
 * operations.ts.
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
import { describeValue } from './debug.js';
import { CancelledError, RuntimeError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import { callStep, toOperation, Waiters, type Operation, type Outcome } from './operations.js';
import { _requireRunningLoop } from './running.js';


// ---- loop binding and scoped use ----------------------------------------------

/**
 * A primitive that binds to the first loop it waits on (asyncio's
 * `_LoopBoundMixin`); using it from another loop raises RuntimeError.
 */
export class LoopBound {
  private boundLoop: EventLoop | null = null;

  /** @internal The running loop, checked against the bound one; `method` names the waiting call in errors. */
  protected _getLoop(method: string): EventLoop {
    const loop = _requireRunningLoop(`${this.constructor.name}.${method}()`);
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
  private readonly waiters = new Waiters<true>(this, 'acquire');

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
      yield* this.waiters.park(this._getLoop('acquire'));
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
  private readonly waiters = new Waiters<true>(this, 'wait');

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
    yield* this.waiters.park(this._getLoop('wait'));
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
  private readonly waiters = new Waiters<false>(this, 'wait');

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
    const loop = this._getLoop('wait');
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
