/**
 * Waiting for several Futures, or one with a deadline (asyncio's `wait`,
 * `wait_for` and `as_completed` from `tasks.py`).
 *
 * - `wait(futures, { timeout, returnWhen })` → `[done, pending]`: never
 *   cancels anything and never raises TimeoutError; what is not done when it
 *   returns is in `pending`.
 * - `waitFor(aw, timeout)` → the result, or TimeoutError after cancelling
 *   `aw` and waiting until it has finished (so nothing of it still runs).
 * - `asCompleted(aws, { timeout })` → the awaitables in the order they finish.
 */
import { describeValue } from './debug.js';
import { CancelledError, TimeoutError, ValueError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import { Future, isFuture, isThenable } from './futures.js';
import type { TimerHandle } from './handles.js';
import { _requireRunningLoop, getEventLoop } from './running.js';
import { ensureFuture, isGenerator, type Awaitable, type CoroutineFunction } from './tasks.js';
import { timeout as timeoutScope } from './timeouts.js';

/** `wait()` returns as soon as any Future is done or cancelled. */
export const FIRST_COMPLETED = 'FIRST_COMPLETED';
/** `wait()` returns when a Future fails (not cancelled), or when all are done. */
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
/** `wait()` returns when all Futures are done (the default). */
export const ALL_COMPLETED = 'ALL_COMPLETED';

export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/**
 * A Future or Task of any result type, as `wait()` takes them (a
 * `Future<T>` is invariant in `T`, so a list of Tasks of different result
 * types is not a `Future<unknown>[]`).
 */
export interface AnyFuture {
  done(): boolean;
  cancelled(): boolean;
  result(): unknown;
  exception(): unknown;
  getLoop(): EventLoop;
}

/**
 * A finished Future as the async form of `asCompleted()` yields it: read it
 * with `result()` or `exception()`, or compare it with the Tasks you passed.
 * (Typed without `then`: TypeScript would otherwise type the `for await`
 * variable as the result, while it is the Future.)
 */
export type CompletedFuture<T> = Omit<Future<T>, 'then' | 'catch' | 'finally'>;

export interface WaitOptions {
  /** Seconds to wait at most; null or absent waits as long as it takes. */
  timeout?: number | null;
  /** When to return; ALL_COMPLETED by default. */
  returnWhen?: ReturnWhen;
}

// ---- wait --------------------------------------------------------------------

/**
 * Waits for Futures and Tasks until `returnWhen` is met or `timeout` seconds
 * have passed, and returns `[done, pending]` (two Sets). Nothing is
 * cancelled: pending Futures keep running.
 *
 * As in asyncio 3.12+, only Futures and Tasks are accepted: a generator
 * object or a promise is a TypeError (wrap it with `ensureFuture()` or
 * `createTask()` first, and keep the Task to look it up in the sets). An
 * empty collection or an unknown `returnWhen` is a ValueError.
 */
export async function wait<F extends AnyFuture>(futures: Iterable<F>, options: WaitOptions = {}): Promise<[Set<F>, Set<F>]> {
  const fs = collectFutures(futures);
  const returnWhen = options.returnWhen ?? ALL_COMPLETED;
  if (returnWhen !== FIRST_COMPLETED && returnWhen !== FIRST_EXCEPTION && returnWhen !== ALL_COMPLETED) {
    throw new ValueError(`Invalid returnWhen value: ${describeValue(returnWhen)}`);
  }
  const delay = checkTimeout(options.timeout ?? null, 'wait');
  const [done, pending] = await waitUntil(fs, delay, returnWhen, _requireRunningLoop('wait()'));
  return [done as Set<unknown> as Set<F>, pending as Set<unknown> as Set<F>];
}

function collectFutures(futures: Iterable<unknown>): Set<Future<unknown>> {
  if (isFuture(futures) || isGenerator(futures) || !isIterable(futures)) {
    throw new TypeError(`wait() expects an iterable of Futures, not ${describeValue(futures)}`);
  }
  const fs = new Set(futures);
  if (fs.size === 0) throw new ValueError('Set of Tasks/Futures is empty.');
  for (const f of fs) {
    if (isFuture(f)) continue;
    if (isGenerator(f)) throw new TypeError('Passing coroutines is forbidden, use tasks explicitly.');
    if (isThenable(f)) {
      throw new TypeError('wait() accepts Futures and Tasks only: wrap promises with ensureFuture() first');
    }
    throw new TypeError(`wait() expects Futures, got ${describeValue(f)}`);
  }
  return fs as Set<Future<unknown>>;
}

/** asyncio's `_wait`: one waiter Future released by completions or the timer. */
async function waitUntil(
  fs: Set<Future<unknown>>,
  delay: number | null,
  returnWhen: ReturnWhen,
  loop: EventLoop,
): Promise<[Set<Future<unknown>>, Set<Future<unknown>>]> {
  const waiter = loop.createFuture<void>();
  const timer = delay === null ? null : loop.callLater(delay, releaseWaiter, waiter);
  let counter = fs.size;
  const onCompletion = (f: Future<unknown>): void => {
    counter--;
    const failed = returnWhen === FIRST_EXCEPTION && !f.cancelled() && f.exception() !== null;
    if (counter <= 0 || returnWhen === FIRST_COMPLETED || failed) {
      timer?.cancel();
      releaseWaiter(waiter);
    }
  };
  for (const f of fs) f.addDoneCallback(onCompletion);
  try {
    await waiter;
  } finally {
    timer?.cancel();
    for (const f of fs) f.removeDoneCallback(onCompletion);
  }
  const done = new Set<Future<unknown>>();
  const pending = new Set<Future<unknown>>();
  for (const f of fs) (f.done() ? done : pending).add(f);
  return [done, pending];
}

function releaseWaiter(waiter: Future<void>): void {
  if (!waiter.done()) waiter.setResult(undefined);
}

// ---- waitFor -----------------------------------------------------------------

/**
 * Waits for `aw` with a deadline of `timeout` seconds (null: no deadline)
 * and returns its result. On timeout `aw` is cancelled, waited for until it
 * has finished, and TimeoutError is raised. Cancelling the caller cancels
 * `aw` too (wrap it in `shield()` to prevent both).
 *
 * Built as in asyncio 3.12 on `timeout()`: `aw` is awaited inside a Timeout
 * in the current task. If `aw` catches the cancellation and returns a value
 * anyway, waitFor returns that value. With `timeout <= 0`, `aw` is wrapped in
 * a Task and cancelled before it can start (a Task that is already done
 * gives its result): a coroutine *function* or a generator object is then
 * never started. A promise is already running when waitFor gets it; it can
 * only be stopped at its next greenloop await.
 */
export async function waitFor<T>(aw: Awaitable<T> | CoroutineFunction<T>, timeout: number | null): Promise<T> {
  const loop = _requireRunningLoop('waitFor()');
  checkAwaitable(aw, 'waitFor()', true);
  const delay = checkTimeout(timeout, 'waitFor');
  if (delay !== null && delay <= 0) return cancelBeforeStart(aw, loop);
  // Awaited in the current task, as asyncio awaits the coroutine in place (a generator runs as a Task).
  return timeoutScope(delay).run(typeof aw === 'function' ? () => aw() : aw);
}

async function cancelBeforeStart<T>(aw: Awaitable<T> | CoroutineFunction<T>, loop: EventLoop): Promise<T> {
  const fut = typeof aw === 'function' ? loop.createTask(aw) : ensureFuture(aw, { loop });
  if (fut.done()) return fut.result();
  await cancelAndWait(fut as Future<unknown>, loop);
  try {
    return fut.result();
  } catch (err) {
    if (!(err instanceof CancelledError)) throw err;
    const error = new TimeoutError('waitFor() timed out: the timeout was 0 or less');
    error.cause = err;
    throw error;
  }
}

/** Cancels `fut` and waits until it is done, through a waiter of our own so the wait itself stays cancellable. */
async function cancelAndWait(fut: Future<unknown>, loop: EventLoop): Promise<void> {
  const waiter = loop.createFuture<void>();
  const release = (): void => releaseWaiter(waiter);
  fut.addDoneCallback(release);
  try {
    fut.cancel();
    await waiter;
  } finally {
    fut.removeDoneCallback(release);
  }
}

// ---- asCompleted -------------------------------------------------------------

export interface AsCompletedOptions {
  /** Seconds after which the remaining awaits raise TimeoutError; null or absent for none. */
  timeout?: number | null;
}

/**
 * Iterates over `aws` in the order they finish (asyncio 3.13's
 * `as_completed`). Every awaitable is wrapped with `ensureFuture()` at once.
 *
 *     for await (const fut of asCompleted(tasks)) use(fut.result());
 *         // yields the Futures/Tasks themselves, done (a Task made for a
 *         // promise or generator stands in for it); typed CompletedFuture
 *
 *     for (const next of asCompleted(tasks)) use(await next);
 *         // yields one Future per item, resolving to the next result
 *         // (or its error); also works in generators: `yield next`
 *
 * With `timeout`, once that many seconds have passed every remaining wait
 * raises TimeoutError; nothing is cancelled. In the sync form each Future is
 * bound to a completion when it is taken from the iterator (asyncio binds it
 * when awaited); with a plain `for...of` the two are the same.
 */
export function asCompleted<T>(aws: Iterable<Awaitable<T>>, options: AsCompletedOptions = {}): AsCompleted<T> {
  return new AsCompleted(aws, checkTimeout(options.timeout ?? null, 'asCompleted'));
}

/** One taker of the next completion: a Future settled from it. */
interface Taker<T> {
  future: Future<T> | Future<Delivery<T>>;
  /** Settles `future` from a finished Future, or from the timeout (null). */
  settle(finished: Future<T> | null): void;
}

/** A finished Future handed to a taker (null: the timeout passed). */
interface Delivery<T> {
  finished: Future<T> | null;
}

/** What `asCompleted()` returns: iterable both synchronously and asynchronously. */
export class AsCompleted<T> implements Iterable<Future<T>>, AsyncIterable<CompletedFuture<T>> {
  private readonly loop: EventLoop;
  private readonly todo: Set<Future<T>>;
  private readonly finished: (Future<T> | null)[] = [];
  private readonly takers: Taker<T>[] = [];
  private readonly timer: TimerHandle | null = null;
  private readonly delay: number | null;
  private left: number;

  /** @internal Use asCompleted(). */
  constructor(aws: Iterable<Awaitable<T>>, delay: number | null) {
    if (isFuture(aws) || isGenerator(aws) || !isIterable(aws)) {
      throw new TypeError(`asCompleted() expects an iterable of awaitables, not ${describeValue(aws)}`);
    }
    const unique = new Set(aws);
    for (const aw of unique) checkAwaitable(aw, 'asCompleted()');
    this.loop = getEventLoop();
    this.todo = new Set([...unique].map((aw) => ensureFuture(aw, { loop: this.loop })));
    this.left = this.todo.size;
    this.delay = delay;
    for (const f of this.todo) f.addDoneCallback(this.onCompletion);
    if (this.todo.size > 0 && delay !== null) this.timer = this.loop.callLater(delay, this.onTimeout);
  }

  /** Sync form: one Future per remaining item, resolving to the next result in finishing order. */
  [Symbol.iterator](): Iterator<Future<T>> {
    return {
      next: (): IteratorResult<Future<T>> => {
        if (this.left === 0) return { done: true, value: undefined };
        this.left--;
        return { done: false, value: this.takeResult() };
      },
    };
  }

  /** Async form: the Futures themselves, in finishing order. */
  [Symbol.asyncIterator](): AsyncIterator<CompletedFuture<T>> {
    return {
      next: async (): Promise<IteratorResult<CompletedFuture<T>>> => {
        if (this.left === 0) return { done: true, value: undefined };
        this.left--;
        // Boxed all the way: a promise cannot resolve to a Future, it would adopt its result.
        const { finished } = await this.takeFinished();
        if (finished === null) throw asCompletedTimeout(this.delay);
        return { done: false, value: finished };
      },
    };
  }

  private takeResult(): Future<T> {
    const future = this.loop.createFuture<T>();
    this.addTaker({ future, settle: (finished) => copyOutcome(finished, future, this.delay) });
    return future;
  }

  private takeFinished(): Future<Delivery<T>> {
    const future = this.loop.createFuture<Delivery<T>>();
    this.addTaker({ future, settle: (finished) => future.setResult({ finished }) });
    return future;
  }

  private addTaker(taker: Taker<T>): void {
    this.takers.push(taker);
    this.dispatch();
  }

  /** Hands finished Futures to takers in order; a cancelled taker is skipped. */
  private dispatch(): void {
    while (this.finished.length > 0 && this.takers.length > 0) {
      const taker = this.takers.shift() as Taker<T>;
      if (taker.future.done()) continue;
      taker.settle(this.finished.shift() as Future<T> | null);
    }
  }

  private readonly onCompletion = (f: Future<T>): void => {
    if (!this.todo.delete(f)) return; // the timeout came first
    this.finished.push(f);
    if (this.todo.size === 0) this.timer?.cancel();
    this.dispatch();
  };

  private readonly onTimeout = (): void => {
    for (const f of this.todo) {
      f.removeDoneCallback(this.onCompletion);
      this.finished.push(null);
    }
    this.todo.clear();
    this.dispatch();
  };
}

function copyOutcome<T>(from: Future<T> | null, to: Future<T>, delay: number | null): void {
  if (from === null) to.setException(asCompletedTimeout(delay));
  else if (from.cancelled()) to.cancel(from._cancelMessage);
  else if (from.exception() !== null) to.setException(from.exception());
  else to.setResult(from.result());
}

function asCompletedTimeout(delay: number | null): TimeoutError {
  return new TimeoutError(`asCompleted() timed out after ${delay} s`);
}

// ---- argument checks ---------------------------------------------------------

function isIterable(value: unknown): value is Iterable<unknown> {
  return (
    value !== null &&
    value !== undefined &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  );
}

function checkAwaitable(aw: unknown, what: string, functionsToo = false): void {
  if (isFuture(aw) || isGenerator(aw) || isThenable(aw) || (functionsToo && typeof aw === 'function')) return;
  const expected = functionsToo ? 'an awaitable or a coroutine function' : 'an awaitable';
  throw new TypeError(`${what} expects ${expected} (a Future, Task, promise or generator), got ${describeValue(aw)}`);
}

function checkTimeout(value: unknown, what: string): number | null {
  if (value === null) return null;
  if (typeof value !== 'number') {
    throw new TypeError(`${what}: timeout must be a number of seconds or null, got ${describeValue(value)}`);
  }
  if (Number.isNaN(value)) throw new ValueError(`${what}: timeout is NaN (not a number)`);
  // Infinity never expires: no timer at all rather than one the loop cannot arm.
  return value === Infinity ? null : value;
}
