/**
 * Green semaphores (eventlet's `semaphore` module): `Semaphore`,
 * `BoundedSemaphore`, `CappedSemaphore`, usable from every green thread of
 * the process and, through `acquireAsync`, from async code.
 *
 * A semaphore is owned by the hub (hub-object.ts): created anywhere and
 * passed to green threads, it is one semaphore everywhere.
 *
 * Semantics follow eventlet:
 * - `acquire(blocking = true, timeout = null)` returns true once it holds a
 *   permit; false at once when `blocking` is false and none is free, or
 *   after `timeout` seconds (a timeout of -1 means none; other negative
 *   timeouts, and a timeout with `blocking` false, are ValueError);
 * - waiters get permits in FIFO order, whatever thread or task they come
 *   from, and a newcomer never takes a permit before them;
 * - a blocked `acquire()` is interrupted by `kill()` and by a green
 *   Timeout; it then holds nothing (a permit it was handed at that very
 *   moment goes to the next waiter);
 * - `release()` adds a permit. A BoundedSemaphore raises ValueError past
 *   its initial value; a CappedSemaphore's `release()` blocks at its limit.
 * `run(fn)` holds a permit while `fn` runs (eventlet's `with sem:`),
 * `hold()` returns a Hold for `using`, and `runAsync(fn)` is the async form.
 *
 * Permits of a thread that dies abnormally go back. A semaphore is not
 * owned: a thread that returns (or raises) while holding permits keeps
 * them taken, as in eventlet. But the hub records which green thread holds
 * how many permits, and when a green thread dies abnormally (its worker
 * crashed, called `process.exit()`, ran out of memory, or was terminated
 * after a kill's grace period: its `finally` blocks never ran), the permits
 * it still holds are released, waking the waiters, and the loop's exception
 * handler is told which thread died holding what. Any thread (or async
 * code) may release a permit another acquired: a release pays back one of
 * the releaser's own permits if it holds any, else the one held longest by
 * another holder, so a permit released on another thread's behalf is never
 * released again when that thread dies.
 */
import { ValueError } from '../loop/errors.js';
import { isThenable } from '../loop/futures.js';
import { Hold } from '../loop/locks.js';
import { toOperation, type Operation, type Outcome } from '../loop/operations.js';
import { getRunningLoop } from '../loop/running.js';
import { isGenerator } from '../loop/tasks.js';
import { blockingOnHub, type GreenCaller, onThreadExit } from './runtime/index.js';
import { HubObject, checkTimeout, defineHubObject, onUndelivered, registerCoreOperation } from './hub-object.js';
import { ASYNC_HOLDER, CappedCore, SemaphoreCore, type AcquireCore } from './semaphore-core.js';
import { awaitWaiter } from './waiters.js';

const MODULE = import.meta.url;

/** What the three semaphores share: acquiring, and the scoped forms. */
abstract class GreenSemaphore<C extends AcquireCore> extends HubObject<C> {
  /** Releases a permit (see each class). */
  abstract release(): boolean;

  /**
   * Takes a permit, blocking until one is free; true then. False at once if
   * `blocking` is false and none is free, or after `timeout` seconds.
   */
  acquire(blocking = true, timeout: number | null = null): boolean {
    const seconds = checkAcquire(blocking, timeout, 'acquire()');
    const core = this._core;
    if (core === null) return this._remote('sem.acquire', [Boolean(blocking), seconds]);
    if (core.tryAcquire()) {
      acquiredBy(core, ASYNC_HOLDER);
      return true;
    }
    if (!blocking) return false;
    throw blockingOnHub(`${this.constructor.name}.acquire()`, 'use `await semaphore.acquireAsync()`');
  }

  /** `acquire()` for async code on the loop's thread: true once held, false after `timeout` seconds. */
  acquireAsync(timeout: number | null = null): Operation<boolean> {
    const core = this._asyncCore('acquireAsync', 'acquire');
    return toOperation(acquireSteps(core, checkAcquire(true, timeout, 'acquireAsync()')));
  }

  /** Whether `acquire()` would block now. */
  locked(): boolean {
    return this._core !== null ? this._core.locked() : this._remote('sem.locked');
  }

  /** Whether `release()` would block now (only a CappedSemaphore's can). */
  bounded(): boolean {
    return this._core !== null ? this._core.bounded() : this._remote('sem.bounded');
  }

  /**
   * How many `acquire()` calls could succeed before one blocks; negative:
   * how many `release()` calls are owed to the blocked acquirers.
   */
  get balance(): number {
    return this._core !== null ? this._core.balance() : this._remote('sem.balance');
  }

  /** Holds a permit while `fn()` runs and returns its result (eventlet's `with sem:`); releases on error too. */
  run<R>(fn: () => R): R {
    if (typeof fn !== 'function') throw new TypeError('run() expects a function');
    this.acquire();
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /** Acquires and returns a Hold that releases once: `using held = sem.hold();`. */
  hold(): Hold {
    this.acquire();
    return new Hold(this);
  }

  /**
   * `run()` for async code on the loop's thread: waits for a permit, runs
   * `fn()` (awaiting the promise or generator it returns) and releases in
   * every case, also on cancel.
   */
  runAsync<R>(fn: () => R): Operation<Outcome<R>> {
    if (typeof fn !== 'function') throw new TypeError('runAsync() expects a function');
    const core = this._asyncCore('runAsync', 'run');
    return toOperation(this.runSteps(core, fn));
  }

  /** @internal Releasing at the end of `runAsync()`. */
  protected *_releaseSteps(): Generator<unknown, void, unknown> {
    this.release();
  }

  private *runSteps<R>(core: C, fn: () => R): Generator<unknown, Outcome<R>, unknown> {
    yield* acquireSteps(core, null);
    try {
      const result = fn();
      if (isGenerator(result) || isThenable(result)) return (yield result) as Outcome<R>;
      return result as Outcome<R>;
    } finally {
      yield* this._releaseSteps();
    }
  }
}

/**
 * A semaphore (eventlet's Semaphore): `value` permits (1 by default), no
 * upper bound. See the module documentation.
 */
export class Semaphore extends GreenSemaphore<SemaphoreCore> {
  constructor(value = 1) {
    super([value]);
  }

  /** The free permits now. */
  get counter(): number {
    return this._core !== null ? this._core.counter : this._remote('sem.counter');
  }

  /** Adds a permit, waking the first waiter; always true (as eventlet). */
  release(): true {
    if (this._core !== null) releasedBy(this._core, ASYNC_HOLDER);
    else this._remote('sem.release');
    return true;
  }
}

/** A Semaphore whose `release()` raises ValueError past its initial value (a sign of a bug). */
export class BoundedSemaphore extends Semaphore {}

/**
 * A semaphore between 0 and `limit` (eventlet's CappedSemaphore): starts
 * at `count`, `acquire()` blocks at 0 and `release()` blocks at `limit`.
 */
export class CappedSemaphore extends GreenSemaphore<CappedCore> {
  constructor(count: number, limit: number) {
    super([count, limit]);
  }

  /**
   * Adds a permit, blocking while the count is at the limit; true then.
   * False at once if `blocking` is false and it would block, or after
   * `timeout` seconds.
   */
  release(blocking = true, timeout: number | null = null): boolean {
    const seconds = checkTimeout(timeout, 'release()');
    const core = this._core;
    if (core === null) return this._remote('capped.release', [Boolean(blocking), seconds]);
    if (core.tryRelease()) {
      core.holdings.pay(ASYNC_HOLDER);
      return true;
    }
    if (!blocking) return false;
    throw blockingOnHub('CappedSemaphore.release()', 'use `await semaphore.releaseAsync()`');
  }

  /** `release()` for async code on the loop's thread. */
  releaseAsync(timeout: number | null = null): Operation<boolean> {
    const core = this._asyncCore('releaseAsync', 'release');
    return toOperation(releaseSteps(core, checkTimeout(timeout, 'releaseAsync()')));
  }

  protected override *_releaseSteps(): Generator<unknown, void, unknown> {
    yield* releaseSteps(this._core as CappedCore, null);
  }
}

// ---- construction ----------------------------------------------------------------------

function checkCount(value: unknown, call: string, what: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${call} expects ${what} to be a number, got ${String(value)}`);
  }
  return Math.trunc(value);
}

function createSemaphore(value: unknown, call: string, bounded: boolean): SemaphoreCore {
  const count = checkCount(value, call, 'value');
  if (count < 0) throw new ValueError(`${call} expects value >= 0, got ${count}`);
  return new SemaphoreCore(count, bounded ? count : null);
}

defineHubObject(Semaphore, {
  name: 'Semaphore',
  module: MODULE,
  create: ([value]) => createSemaphore(value, 'Semaphore()', false),
});

defineHubObject(BoundedSemaphore, {
  name: 'BoundedSemaphore',
  module: MODULE,
  create: ([value]) => createSemaphore(value, 'BoundedSemaphore()', true),
});

defineHubObject(CappedSemaphore, {
  name: 'CappedSemaphore',
  module: MODULE,
  create: ([count, limit]) => {
    const start = checkCount(count, 'CappedSemaphore()', 'count');
    if (start < 0) throw new ValueError(`CappedSemaphore must be initialized with a positive number, got ${start}`);
    if (limit === null || limit === undefined) throw new ValueError("'count' cannot be more than 'limit'");
    const max = checkCount(limit, 'CappedSemaphore()', 'limit');
    if (start > max) throw new ValueError("'count' cannot be more than 'limit'");
    return new CappedCore(start, max);
  },
});

/** eventlet's checks: -1 means no timeout; no timeout without blocking. */
function checkAcquire(blocking: boolean, timeout: number | null, call: string): number | null {
  if (timeout === -1) return checkAcquire(blocking, null, call);
  if (typeof timeout === 'number' && timeout < 0) throw new ValueError(`${call}: timeout value must be strictly positive`);
  const seconds = checkTimeout(timeout, call);
  if (!blocking && seconds !== null) throw new ValueError(`${call}: can't specify timeout for non-blocking acquire`);
  return seconds;
}

// ---- async twins -------------------------------------------------------------------------

/** A permit handed to an acquirer that never received it goes back. */
function giveBack(core: AcquireCore, acquired: boolean): void {
  if (acquired) core.undoAcquire();
}

function* acquireSteps(core: AcquireCore, timeout: number | null): Generator<unknown, boolean, unknown> {
  const loop = core.bind(getRunningLoop());
  const acquired = core.tryAcquire() || (yield* awaitWaiter(core.parkAcquirer(loop, timeout), (got) => giveBack(core, got)));
  if (acquired) acquiredBy(core, ASYNC_HOLDER);
  return acquired;
}

function* releaseSteps(core: CappedCore, timeout: number | null): Generator<unknown, boolean, unknown> {
  const loop = core.bind(getRunningLoop());
  const released = core.tryRelease() || (yield* awaitWaiter(core.parkReleaser(loop, timeout)));
  if (released) core.holdings.pay(ASYNC_HOLDER);
  return released;
}

// ---- who holds permits ---------------------------------------------------------------------

/** The semaphores each live green thread took permits of (hub side). */
const heldBy = new Map<number, Set<AcquireCore>>();

/** `holder` (a green thread id, or ASYNC_HOLDER) now holds one more permit of `core`. */
function acquiredBy(core: AcquireCore, holder: number): void {
  core.holdings.add(holder);
  if (holder === ASYNC_HOLDER) return;
  let cores = heldBy.get(holder);
  if (cores === undefined) heldBy.set(holder, (cores = new Set()));
  cores.add(core);
}

/** A Semaphore's or BoundedSemaphore's release by `releaser`. */
function releasedBy(core: SemaphoreCore, releaser: number): void {
  core.release();
  core.holdings.pay(releaser);
}

/** A permit handed to a green thread that never received it goes back, and is no longer its. */
function giveBackTo(core: AcquireCore, holder: number, acquired: boolean): void {
  if (!acquired) return;
  core.holdings.pay(holder);
  core.undoAcquire();
}

// A thread that dies abnormally gives back the permits it still holds;
// one that ends normally keeps them taken (a semaphore is not owned).
onThreadExit((thread, abnormal) => {
  const cores = heldBy.get(thread.id);
  if (cores === undefined) return;
  heldBy.delete(thread.id);
  if (!abnormal) return;
  const released: string[] = [];
  for (const core of cores) {
    const count = core.releaseLost(core.holdings.take(thread.id));
    if (count > 0) released.push(`${count} permit${count === 1 ? '' : 's'} of a ${core.kind}`);
  }
  return released;
});

// ---- operations for green threads ----------------------------------------------------------

registerCoreOperation(
  'sem.acquire',
  (caller: GreenCaller, core: AcquireCore, blocking: boolean, timeout: number | null) => {
    if (core.tryAcquire()) {
      acquiredBy(core, caller.id);
      return true;
    }
    if (!blocking) return false;
    const waiter = core.parkAcquirer(caller.loop, timeout);
    // Handed a permit: it is the caller's (given back below if it never receives it).
    waiter.addDoneCallback(() => {
      if (!waiter.cancelled() && waiter.exception() === null && waiter.result()) acquiredBy(core, caller.id);
    });
    onUndelivered(caller, waiter, (acquired) => giveBackTo(core, caller.id, acquired));
    return waiter;
  },
);

registerCoreOperation('sem.release', (caller: GreenCaller, core: SemaphoreCore) => releasedBy(core, caller.id));

registerCoreOperation(
  'capped.release',
  (caller: GreenCaller, core: CappedCore, blocking: boolean, timeout: number | null) => {
    if (core.tryRelease()) {
      core.holdings.pay(caller.id);
      return true;
    }
    if (!blocking) return false;
    const waiter = core.parkReleaser(caller.loop, timeout);
    waiter.addDoneCallback(() => {
      if (!waiter.cancelled() && waiter.exception() === null && waiter.result()) core.holdings.pay(caller.id);
    });
    return waiter;
  },
);

registerCoreOperation('sem.locked', (_caller: GreenCaller, core: AcquireCore) => core.locked());
registerCoreOperation('sem.bounded', (_caller: GreenCaller, core: AcquireCore) => core.bounded());
registerCoreOperation('sem.balance', (_caller: GreenCaller, core: AcquireCore) => core.balance());
registerCoreOperation('sem.counter', (_caller: GreenCaller, core: SemaphoreCore) => core.counter);
