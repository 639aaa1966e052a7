/**
 * `gather(...aws, { returnExceptions })` (asyncio's `gather` from `tasks.py`):
 * one Future for the results of many awaitables.
 *
 * Guarantees:
 * - The result lists the results in argument order, whatever order the
 *   awaitables finish in. A repeated argument is awaited once and its result
 *   appears at each of its positions. `gather()` of nothing resolves to [].
 * - Without `returnExceptions`, the first error (or the CancelledError of a
 *   child that was cancelled) is raised to whoever awaits the gather at once;
 *   the other children are *not* cancelled and go on running.
 * - With `returnExceptions: true`, errors take the place of results, and a
 *   cancelled child gives a CancelledError in its slot; the gather waits for
 *   every child.
 * - Cancelling the gather Future (directly, or by cancelling the task that
 *   awaits it) cancels every child that is not done yet; the gather then
 *   raises CancelledError even with `returnExceptions`. Cancelling a finished
 *   gather does nothing.
 *
 * The options: a trailing argument is read as the options object when it is
 * a plain object (made with `{...}` or `Object.create(null)`) without a
 * `then` method. Every other argument must be awaitable: a Future, a Task, a
 * promise or a generator object (coroutines are wrapped in Tasks).
 */
import { describeValue } from './debug.js';
import { CancelledError, ValueError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import { Future, isFuture, isThenable } from './futures.js';
import { getEventLoop } from './running.js';
import { ensureFuture, isGenerator, type Awaitable } from './tasks.js';

export interface GatherOptions {
  /** Put errors in the results instead of raising the first one. */
  returnExceptions?: boolean;
}

/** The awaitables whose results are the tuple `R`. */
type AwaitablesOf<R extends readonly unknown[]> = { [K in keyof R]: Awaitable<R[K]> };
/** The results, in argument order. */
type Results<R extends readonly unknown[]> = { -readonly [K in keyof R]: R[K] };
/** With `returnExceptions`, any slot may hold an error instead: check with `instanceof`. */
type ResultsOrErrors<R extends readonly unknown[]> = { -readonly [K in keyof R]: unknown };

/**
 * The Future `gather()` returns (asyncio's `_GatheringFuture`): cancelling it
 * cancels the children, and it completes, raising CancelledError, only once
 * they have ended (as `Task.cancel()`, it does not end at once).
 */
class _GatheringFuture<T> extends Future<T> {
  /** @internal Set when cancel() reached at least one child. */
  _cancelRequested = false;

  constructor(
    private readonly children: readonly Future<unknown>[],
    loop: EventLoop,
  ) {
    super({ loop });
  }

  /**
   * Cancels every child that is not done; returns whether any was. The
   * gather itself completes (with CancelledError) once the children have.
   */
  override cancel(message?: string): boolean {
    if (this.done()) return false;
    let cancelledAny = false;
    for (const child of this.children) {
      if (child.cancel(message)) cancelledAny = true;
    }
    if (cancelledAny) this._cancelRequested = true;
    return cancelledAny;
  }
}

export function gather<const R extends readonly unknown[]>(...aws: AwaitablesOf<R>): Future<Results<R>>;
export function gather<const R extends readonly unknown[]>(
  ...args: [...AwaitablesOf<R>, GatherOptions & { returnExceptions?: false }]
): Future<Results<R>>;
export function gather<const R extends readonly unknown[]>(
  ...args: [...AwaitablesOf<R>, GatherOptions]
): Future<ResultsOrErrors<R>>;
/**
 * A Future of the results of `aws`, in argument order (see the module
 * comment for errors and cancellation). A trailing plain object is the
 * options: `{ returnExceptions }`.
 */
export function gather(...args: unknown[]): Future<unknown[]> {
  const { aws, returnExceptions } = splitOptions(args);
  if (aws.length === 0) {
    const outer = getEventLoop().createFuture<unknown[]>();
    outer.setResult([]);
    return outer;
  }
  checkAwaitables(aws);
  return gatherFutures(aws as Awaitable<unknown>[], returnExceptions);
}

function gatherFutures(aws: Awaitable<unknown>[], returnExceptions: boolean): Future<unknown[]> {
  const futureOf = new Map<unknown, Future<unknown>>();
  const children: Future<unknown>[] = [];
  let loop: EventLoop | undefined;
  for (const aw of aws) {
    let fut = futureOf.get(aw);
    if (fut === undefined) {
      fut = ensureFuture(aw, { loop });
      loop ??= fut.getLoop();
      // A Task made here for a coroutine is not the caller's to watch.
      if (fut !== aw) fut._logDestroyPending = false;
      futureOf.set(aw, fut);
    }
    children.push(fut);
  }
  const outer = new _GatheringFuture<unknown[]>(children, loop as EventLoop);
  const total = futureOf.size;
  let finished = 0;
  const onChildDone = (fut: Future<unknown>): void => {
    finished++;
    if (outer.done()) {
      if (!fut.cancelled()) fut.exception(); // mark the error as retrieved
      return;
    }
    if (!returnExceptions && failFast(outer, fut)) return;
    if (finished === total) completeGather(outer, children);
  };
  for (const fut of futureOf.values()) fut.addDoneCallback(onChildDone);
  return outer;
}

/** Without returnExceptions: a failed or cancelled child fails the gather at once. */
function failFast(outer: Future<unknown[]>, fut: Future<unknown>): boolean {
  if (fut.cancelled()) {
    outer.setException(fut._makeCancelledError());
    return true;
  }
  const error = fut.exception();
  if (error === null) return false;
  outer.setException(error);
  return true;
}

/** Every child is done: the results (or errors) in argument order. */
function completeGather(outer: _GatheringFuture<unknown[]>, children: readonly Future<unknown>[]): void {
  const results = children.map((fut) => {
    if (fut.cancelled()) return new CancelledError(fut._cancelMessage);
    const error = fut.exception();
    return error !== null ? error : fut.result();
  });
  if (outer._cancelRequested) {
    // The gather was cancelled: that wins over returnExceptions.
    outer.setException(children[children.length - 1]._makeCancelledError());
  } else {
    outer.setResult(results);
  }
}

function splitOptions(args: unknown[]): { aws: unknown[]; returnExceptions: boolean } {
  const last = args[args.length - 1];
  if (!isPlainOptions(last)) return { aws: args, returnExceptions: false };
  for (const key of Object.keys(last)) {
    if (key !== 'returnExceptions') throw new TypeError(`gather(): unknown option ${JSON.stringify(key)}`);
  }
  return { aws: args.slice(0, -1), returnExceptions: Boolean((last as GatherOptions).returnExceptions) };
}

function isPlainOptions(value: unknown): value is GatherOptions {
  if (value === null || typeof value !== 'object' || isThenable(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** TypeError/ValueError before any Task is created, so bad input starts nothing. */
function checkAwaitables(aws: unknown[]): void {
  let loop: EventLoop | null = null;
  aws.forEach((aw, index) => {
    if (!isFuture(aw) && !isGenerator(aw) && !isThenable(aw)) {
      throw new TypeError(`gather(): argument ${index + 1} is not awaitable: ${describeValue(aw)}`);
    }
    if (!isFuture(aw)) return;
    if (loop !== null && aw.getLoop() !== loop) {
      throw new ValueError('gather(): the Futures belong to different event loops');
    }
    loop = aw.getLoop();
  });
}
