/**
 * Blocking operations usable from both kinds of coroutine, and the FIFO
 * waiter lists they park on: the machinery every primitive and queue shares
 * (locks.ts, semaphores.ts, barrier.ts, queues.ts, and the green twins).
 */
import { taskContext } from './context.js';
import { describeValue } from './debug.js';
import { Deque } from './deque.js';
import { CancelledError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import { type Future, type FutureLabel, isThenable } from './futures.js';
import { ensureFuture, isGenerator } from './tasks.js';

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
export function* callStep<R>(fn: () => R): Generator<unknown, Outcome<R>, unknown> {
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
  /** What a parked waiter waits for, in dumps: made once, formatted only when asked. */
  private readonly label: FutureLabel | null;

  /** `owner.what()` names the wait in dumps (`Lock.acquire() on <Lock [locked]>`). */
  constructor(owner?: object, what?: string) {
    this.label =
      owner === undefined || what === undefined
        ? null
        : { toString: () => `${owner.constructor.name}.${what}() on ${String(owner)}` };
  }

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
    future._label = this.label;
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
