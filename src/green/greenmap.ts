/**
 * The ordered parallel map behind `GreenPool.imap` and `starmap`
 * (eventlet's GreenMap): each call in its own green thread, results in
 * input order, a bounded number in flight.
 *
 * The input is read on the thread that iterates, as results are asked for:
 * each `next()` first tops the calls in flight up to the window, sending
 * the new ones to the hub with the request for the next result (one round
 * trip from a green thread). The results are kept by a GreenPile of the
 * map's own (greenpool.ts).
 */
import type { Future } from '../loop/futures.js';
import { encodeArgs, type FunctionRef } from './runtime/index.js';

/** The pile a map keeps its results in (a GreenPile). */
export interface ResultPile<T> {
  /** The pile's state when it lives on this thread (async code may iterate), else null. */
  readonly _core: object | null;
  /** Calls started whose result was not read. */
  readonly counter: number;
  /** Starts the calls `batch` (encoded argument lists) of `ref`, then reads the next result, blocking. */
  _step(ref: FunctionRef, batch: unknown[][]): IteratorResult<T, undefined>;
  /** `_step` for async code on the loop's thread. */
  _stepAsync(ref: FunctionRef, batch: unknown[][]): Future<IteratorResult<T, undefined>>;
  /** Drops the results not read yet. */
  _abandon(): void;
}

/** The argument lists of the calls, read as results are asked for. */
export type RowSource = Iterator<unknown[]> | AsyncIterator<unknown[]>;

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}

/** TypeError unless `value` is iterable (sync or async). */
export function checkIterable(value: unknown, call: string): void {
  const iterable = typeof (value as { [Symbol.iterator]?: unknown } | null)?.[Symbol.iterator] === 'function';
  if (!iterable && !isAsyncIterable(value)) throw new TypeError(`${call}: expected an iterable, got ${typeof value}`);
}

/** The argument lists of imap: the items of `iterables` taken together, up to the shortest. */
export function zip(iterables: (Iterable<unknown> | AsyncIterable<unknown>)[]): RowSource {
  if (iterables.some(isAsyncIterable)) return zipAsync(iterables);
  return zipSync(iterables as Iterable<unknown>[]);
}

function* zipSync(iterables: Iterable<unknown>[]): Generator<unknown[], void, undefined> {
  if (iterables.length === 0) return;
  const iterators = iterables.map((iterable) => iterable[Symbol.iterator]());
  try {
    for (;;) {
      const row: unknown[] = [];
      for (const iterator of iterators) {
        const step = iterator.next();
        if (step.done === true) return;
        row.push(step.value);
      }
      yield row;
    }
  } finally {
    for (const iterator of iterators) iterator.return?.();
  }
}

async function* zipAsync(iterables: (Iterable<unknown> | AsyncIterable<unknown>)[]): AsyncGenerator<unknown[], void, undefined> {
  if (iterables.length === 0) return;
  const iterators = iterables.map((it) => (isAsyncIterable(it) ? it[Symbol.asyncIterator]() : it[Symbol.iterator]()));
  try {
    for (;;) {
      const row: unknown[] = [];
      for (const iterator of iterators) {
        const step = await iterator.next();
        if (step.done === true) return;
        row.push(step.value);
      }
      yield row;
    }
  } finally {
    for (const iterator of iterators) await iterator.return?.();
  }
}

/** A copy of one starmap item, a list of arguments. */
function toRow(item: unknown): unknown[] {
  if (item !== null && typeof (item as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') {
    return Array.from(item as Iterable<unknown>);
  }
  throw new TypeError(`starmap: each item must be a list of arguments, got ${item === null ? 'null' : typeof item}`);
}

/** The argument lists of starmap: each item of `iterable`, copied to an array. */
export function argumentRows(iterable: Iterable<unknown> | AsyncIterable<unknown>): RowSource {
  if (isAsyncIterable(iterable)) {
    return (async function* () {
      for await (const item of iterable) yield toRow(item);
    })();
  }
  return (function* () {
    for (const item of iterable) yield toRow(item);
  })();
}

/**
 * The iterator `imap` and `starmap` return: results in input order, at most
 * `window` items in flight. The input is read as results are asked for.
 * An error reading the input is raised after the results of the items read
 * before it; `return()` (leaving a `for` loop early) stops reading the
 * input and drops the results still to come, while their threads run on.
 */
export class GreenMap<T> implements Iterator<T, undefined>, AsyncIterable<T> {
  /** Items started and whose result was not read yet. */
  private outstanding = 0;
  private finished = false;
  private sourceError: { error: unknown } | null = null;

  /** @internal Made by GreenPool.imap and starmap. */
  constructor(
    private readonly pile: ResultPile<T>,
    private readonly window: number,
    private readonly ref: FunctionRef,
    private readonly source: RowSource,
  ) {}

  /** The next result in input order, blocking until it is ready (green code; see GreenPile.next). */
  next(): IteratorResult<T, undefined> {
    if (isAsyncIterable(this.source)) {
      throw new TypeError('this imap()/starmap() reads an async iterable: iterate it from async code with `for await`');
    }
    const source = this.source as Iterator<unknown[]>;
    const batch: unknown[][] = [];
    while (this.wantsMore(batch)) {
      const row = this.read(() => source.next());
      if (row !== null) batch.push(encodeArgs(row));
    }
    if (this.outstanding + batch.length === 0) return this.end();
    this.outstanding += batch.length;
    try {
      return this.consumed(this.pile._step(this.ref, batch));
    } catch (error) {
      this.resync();
      throw error;
    }
  }

  /** `next` for async code on the loop's thread (what `for await` calls). */
  async nextAsync(): Promise<IteratorResult<T, undefined>> {
    if (this.pile._core === null) return this.next();
    const batch: unknown[][] = [];
    while (this.wantsMore(batch)) {
      const row = await this.readAsync();
      if (row !== null) batch.push(encodeArgs(row));
    }
    if (this.outstanding + batch.length === 0) return this.end();
    this.outstanding += batch.length;
    try {
      return this.consumed(await this.pile._stepAsync(this.ref, batch));
    } catch (error) {
      this.resync();
      throw error;
    }
  }

  /** Stops reading the input and drops the results not read yet. */
  return(): IteratorResult<T, undefined> {
    if (!this.finished) {
      this.finished = true;
      const close = (this.source as Iterator<unknown[]>).return?.();
      if (close instanceof Promise) close.catch(() => undefined);
    }
    if (this.outstanding > 0) this.pile._abandon();
    this.outstanding = 0;
    return { done: true, value: undefined };
  }

  [Symbol.iterator](): this {
    return this;
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return { next: () => this.nextAsync(), return: async () => this.return() };
  }

  private wantsMore(batch: unknown[][]): boolean {
    return !this.finished && this.outstanding + batch.length < this.window;
  }

  /** One input row, or null when the input ended (or failed: raised once the earlier results are read). */
  private read(step: () => IteratorResult<unknown[]>): unknown[] | null {
    try {
      const result = step();
      if (result.done !== true) return result.value;
    } catch (error) {
      this.sourceError = { error };
    }
    this.finished = true;
    return null;
  }

  private async readAsync(): Promise<unknown[] | null> {
    try {
      const result = await this.source.next();
      if (result.done !== true) return result.value;
    } catch (error) {
      this.sourceError = { error };
    }
    this.finished = true;
    return null;
  }

  private consumed(result: IteratorResult<T, undefined>): IteratorResult<T, undefined> {
    if (result.done !== true) this.outstanding--;
    return result;
  }

  /** After an error: the pile knows whether the item was consumed (its error) or not (an interruption). */
  private resync(): void {
    try {
      this.outstanding = this.pile.counter;
    } catch {
      // The hub is gone: nothing more will come anyway.
    }
  }

  private end(): IteratorResult<T, undefined> {
    const failure = this.sourceError;
    this.sourceError = null;
    if (failure !== null) throw failure.error;
    return { done: true, value: undefined };
  }
}

