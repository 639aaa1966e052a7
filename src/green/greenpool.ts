/**
 * eventlet's `greenpool`: GreenPool (a bounded set of green threads) and
 * GreenPile (results in spawn order); `imap`/`starmap` return a GreenMap
 * (greenmap.ts).
 *
 * A pool and a pile are hub-owned objects (greenpool-core.ts keeps their
 * state on the event loop's thread). Green threads hold handles to them:
 * pass one to a green thread as an argument and it uses the same pool.
 * Async code on the loop's thread uses them directly, through the
 * `...Async` twins of the calls that block. Functions spawned through a
 * pool follow `spawn`'s rules: module-level exported functions, arguments
 * and results by structured clone.
 *
 * A call that must wait for a slot or a result blocks the green thread
 * calling it; a kill or a green Timeout interrupts the wait and withdraws
 * it. On the loop's thread nothing may block: a call that would wait throws
 * BlockingOnHubError naming its async twin, and one that need not wait
 * (spawn into a pool with a free slot, a result already there) just works.
 * Note that module-level state is per thread: a pool created at the top of
 * a module is a different pool in every green thread that imports it.
 */
import { RuntimeError, ValueError } from '../loop/errors.js';
import type { EventLoop } from '../loop/event-loop.js';
import { Future } from '../loop/futures.js';
import { _getRunningLoop, getEventLoop } from '../loop/running.js';
import {
  blockingOnHub,
  callHub,
  checkBridge,
  currentGreenThread,
  encodeArgs,
  functionRef,
  type FunctionRef,
  type GreenCaller,
  HubThread,
  inGreenWorker,
  onPush,
  registerValueCodec,
  threadOf,
} from './runtime/index.js';
import { GreenletExit } from './errors.js';
import { GreenThread } from './greenthread.js';
import { EXHAUSTED, PENDING, PileCore, PoolCore, type SpawnRequest } from './greenpool-core.js';
import { GreenMap, argumentRows, checkIterable, zip, type RowSource } from './greenmap.js';
import { HubObject, defineHubObject, registerCoreOperation } from './hub-object.js';

const MODULE = import.meta.url;

type Fn<A extends unknown[], R> = (...args: A) => R;

/**
 * What `spawnAsync` gives: the started thread. It is wrapped because a
 * GreenThread is awaitable, so a promise of one would wait for its result.
 */
export interface Spawned<T> {
  readonly thread: GreenThread<T>;
}

/** Iterables of each argument of a function, for imap: `[Iterable<A0>, Iterable<A1>, ...]`. */
export type ArgumentIterables<A extends unknown[]> = { [K in keyof A]: Iterable<A[K]> | AsyncIterable<A[K]> };

// ---- checks and helpers ------------------------------------------------------------

function checkSize(size: unknown, call: string): number {
  if (typeof size !== 'number') throw new TypeError(`${call}: size must be a number, got ${typeof size}`);
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`${call}: size must be a non-negative integer, got ${String(size)}`);
  }
  return size;
}

function checkTimeout(timeout: number | undefined): number | undefined {
  if (timeout === undefined || timeout === null) return undefined;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
    throw new ValueError(`timeout must be a non-negative number of seconds, got ${String(timeout)}`);
  }
  return timeout;
}

/** The loop async code on this thread runs on (or will). */
function currentLoop(): EventLoop {
  return _getRunningLoop() ?? getEventLoop();
}

function facadeOf<T>(thread: HubThread): GreenThread<T> {
  return thread.facade as GreenThread<T>;
}

function resolved<T>(loop: EventLoop, value: T): Future<T> {
  const future = loop.createFuture<T>();
  future.setResult(value);
  return future;
}

function makeRequest(call: string, fn: Fn<never[], unknown>, args: readonly unknown[], detached: boolean): SpawnRequest {
  return { ref: functionRef(fn, `the ${call}() target`), args: encodeArgs(args), detached, caller: null };
}

/**
 * Runs `undo(result)` if `future`'s outcome never reaches the green thread
 * `caller` that waits for it (it was interrupted by a kill or a Timeout
 * after the outcome was set and before the reply left).
 */
function ifUndelivered(caller: GreenCaller, future: Future<unknown>, undo: () => void): void {
  // Runs just before the hub's reply callback, added after the handler returned.
  future.addDoneCallback(() => {
    if (future.cancelled()) return;
    if (threadOf(caller).pending?.future !== future) undo();
  });
}

// ---- reentrant spawns ----------------------------------------------------------------

/** What the hub pushes, ahead of a spawn's reply, when the child started as a guest. */
const GUEST = 'GreenPool.guest';

/** Ids of children the hub reported as guests, until their spawn returns (shared by every copy of this module). */
const guestIds = ((globalThis as unknown as Record<symbol, Set<number> | undefined>)[Symbol.for('greenloop.poolGuests')] ??=
  new Set<number>());
if (inGreenWorker()) onPush(GUEST, (id) => guestIds.add(id as number));

/**
 * After a spawn from green code: if the child started as a guest on this
 * thread's slot (this thread spawned into its own full pool), waits for it
 * to finish, as eventlet runs such a child inline. Its error is raised when
 * `raise`; if this thread is interrupted meanwhile, the child is killed too.
 */
function joinIfGuest(child: unknown, raise: boolean): void {
  if (!(child instanceof GreenThread) || !guestIds.delete(child.id)) return;
  try {
    child.wait();
  } catch (error) {
    if (!child.dead) {
      child.kill();
      throw error;
    }
    if (raise) throw error;
  }
}

/** On the hub: tells the caller its child is a guest it must wait for, and returns the child. */
function guestReply(caller: GreenCaller, request: SpawnRequest): GreenThread | undefined {
  const child = request.started as HubThread;
  caller.push(GUEST, child.id);
  return facadeOf(child);
}

// ---- GreenPool ---------------------------------------------------------------------

/**
 * A pool of green threads: at most `size` run at once (eventlet's GreenPool).
 * `size` is a non-negative integer (TypeError for a non-number, RangeError
 * otherwise); 0 makes every spawn wait until a resize.
 */
export class GreenPool extends HubObject<PoolCore> {
  constructor(size = 1000) {
    checkSize(size, 'GreenPool');
    super([size]);
  }

  /** The number of slots. */
  get size(): number {
    return this._core?.size ?? this._remote<number>('GreenPool.info', ['size']);
  }

  /** How many threads run in the pool now. */
  running(): number {
    return this._core?.running() ?? this._remote<number>('GreenPool.info', ['running']);
  }

  /** Free slots; zero or less means the next spawn waits (negative after shrinking). */
  free(): number {
    return this._core?.free() ?? this._remote<number>('GreenPool.info', ['free']);
  }

  /** How many spawns wait for a slot. */
  waiting(): number {
    return this._core?.waiting() ?? this._remote<number>('GreenPool.info', ['waiting']);
  }

  /**
   * Changes the number of slots. Growing starts waiting spawns at once;
   * shrinking lets running threads finish, and new ones start once fewer
   * than `newSize` run.
   */
  resize(newSize: number): void {
    checkSize(newSize, 'GreenPool.resize');
    if (this._core !== null) this._core.resize(newSize);
    else this._remote('GreenPool.resize', [newSize]);
  }

  /**
   * Runs `fn(...args)` in a new green thread of the pool and returns its
   * GreenThread; when the pool is full, blocks until a slot is free (in
   * the order spawns came). A thread of this pool spawning into it while
   * it is full starts the child at once on its own slot and waits for it
   * to finish, raising the child's error (eventlet runs it inline), so
   * nested spawns cannot deadlock. On the loop's thread a full pool throws
   * BlockingOnHubError: use `await pool.spawnAsync(fn, ...args)`.
   */
  spawn<A extends unknown[], R>(fn: Fn<A, R>, ...args: A): GreenThread<Awaited<R>> {
    return this.spawnThread('GreenPool.spawn', fn, args, false) as GreenThread<Awaited<R>>;
  }

  /**
   * `spawn` without a GreenThread: an error the function raises is reported
   * to the loop's exception handler, never raised here.
   */
  spawnN<A extends unknown[], R>(fn: Fn<A, R>, ...args: A): void {
    this.spawnThread('GreenPool.spawnN', fn, args, true);
  }

  /**
   * `spawn` for async code on the loop's thread: a Future completed once
   * the thread started, which may wait for a free slot. Cancelling it
   * withdraws the spawn.
   */
  spawnAsync<A extends unknown[], R>(fn: Fn<A, R>, ...args: A): Future<Spawned<Awaited<R>>> {
    checkBridge('GreenPool.spawnAsync');
    const core = this._asyncCore('spawnAsync', 'spawn');
    const loop = core.bind(currentLoop());
    const request = makeRequest('GreenPool.spawnAsync', fn, args, false);
    const started = core.spawn(request, (thread) => ({ thread: facadeOf<Awaited<R>>(thread) }));
    return started instanceof Future ? started : resolved(loop, started);
  }

  /**
   * Blocks until no thread runs in the pool; TimeoutError after `timeout`
   * seconds. A thread of the pool calling it would wait for itself:
   * RuntimeError. On the loop's thread, use `await pool.waitallAsync()`.
   */
  waitall(timeout?: number): void {
    checkBridge('GreenPool.waitall');
    const seconds = checkTimeout(timeout);
    if (this._core === null) {
      callHub('GreenPool.waitall', [this], { timeout: seconds, spin: false, module: MODULE });
    } else if (this._core.busy()) {
      throw blockingOnHub('GreenPool.waitall()', 'use `await pool.waitallAsync()`');
    }
  }

  /** `waitall` for async code: a Future completed once no thread runs in the pool. */
  waitallAsync(): Future<void> {
    const core = this._asyncCore('waitallAsync', 'waitall');
    const loop = core.bind(currentLoop());
    return core.waitall() ?? resolved(loop, undefined);
  }

  /**
   * `fn` applied to the items of `iterables` taken together (zip: stops at
   * the shortest), each call in its own green thread; the results come in
   * order. A call's error is raised at its item, and iteration may go on
   * past it with further `next()` calls (eventlet). At most `size` items
   * are in flight at once (started and not yet consumed); like eventlet's,
   * they run beside the pool's own threads and do not count in running().
   * From green code iterate with `for...of`; from async code with
   * `for await...of` (async iterables are accepted there).
   */
  imap<A extends unknown[], R>(fn: Fn<A, R>, ...iterables: ArgumentIterables<A>): GreenMap<Awaited<R>> {
    const sources = iterables as unknown as (Iterable<unknown> | AsyncIterable<unknown>)[];
    for (const iterable of sources) checkIterable(iterable, 'GreenPool.imap');
    return this.startMap('imap', fn, zip(sources));
  }

  /** `imap` with each item of `iterable` the list of arguments of one call (itertools.starmap). */
  starmap<A extends unknown[], R>(fn: Fn<A, R>, iterable: Iterable<A> | AsyncIterable<A>): GreenMap<Awaited<R>> {
    checkIterable(iterable, 'GreenPool.starmap');
    return this.startMap('starmap', fn, argumentRows(iterable));
  }

  private startMap<R>(call: string, fn: Fn<never[], unknown>, source: RowSource): GreenMap<R> {
    checkBridge(`GreenPool.${call}`);
    const ref = functionRef(fn, `the ${call}() function`);
    const window = Math.max(1, this.size);
    return new GreenMap<R>(new GreenPile<R>(window), window, ref, source);
  }

  private spawnThread(call: string, fn: Fn<never[], unknown>, args: unknown[], detached: boolean): unknown {
    checkBridge(call);
    const request = makeRequest(call, fn, args, detached);
    if (this._core === null) {
      currentGreenThread(call, true);
      const thread = this._remote('GreenPool.spawn', [request.ref, request.args, detached]);
      joinIfGuest(thread, !detached);
      return detached ? undefined : thread;
    }
    this._core.bind(currentLoop());
    const thread = this._core.trySpawn(request);
    if (thread === null) {
      throw blockingOnHub(`${call}()`, 'the pool is full: `await pool.spawnAsync(fn, ...args)` waits for a slot');
    }
    return detached ? undefined : facadeOf(thread);
  }
}

defineHubObject(GreenPool, {
  name: 'GreenPool',
  module: MODULE,
  create: ([size]) => new PoolCore(checkSize(size ?? 1000, 'GreenPool')),
});

// ---- GreenPile ---------------------------------------------------------------------

/**
 * A set of green threads whose results are read in the order they were
 * spawned (eventlet's GreenPile). It spawns through a GreenPool, shared
 * (`new GreenPile(pool)`) or its own (`new GreenPile(size)`).
 * Iterating ends once every result spawned so far was read; a thread's
 * error is raised at its place, and `next()` may be called again after it.
 */
export class GreenPile<T = unknown> extends HubObject<PileCore<GreenPool>> implements Iterator<T, undefined>, AsyncIterable<T> {
  constructor(sizeOrPool: number | GreenPool = 1000) {
    if (!(sizeOrPool instanceof GreenPool)) checkSize(sizeOrPool, 'GreenPile');
    super([sizeOrPool]);
  }

  /** The pool it spawns through. */
  get pool(): GreenPool {
    return this._core?.poolObject ?? this._remote<GreenPool>('GreenPile.info', ['pool']);
  }

  /** How many spawned results were not read yet (counting spawns still waiting for a slot). */
  get counter(): number {
    return this._core?.counter ?? this._remote<number>('GreenPile.info', ['counter']);
  }

  /** Whether spawn() was ever called. */
  get used(): boolean {
    return this._core?.used ?? this._remote<boolean>('GreenPile.info', ['used']);
  }

  /**
   * Runs `fn(...args)` in a green thread of the pool, its result to be read
   * in spawn order; blocks while the pool is full (see GreenPool.spawn).
   * A spawn that fails or is interrupted leaves no place in the pile.
   */
  spawn<A extends unknown[]>(fn: Fn<A, T | PromiseLike<T>>, ...args: A): void {
    checkBridge('GreenPile.spawn');
    const request = makeRequest('GreenPile.spawn', fn, args, false);
    if (this._core === null) {
      currentGreenThread('GreenPile.spawn', true);
      // A guest's error is the pile's to report, at its place.
      joinIfGuest(this._remote('GreenPile.spawn', [request.ref, request.args]), false);
      return;
    }
    const core = this.bound();
    if (core.pool.free() <= 0) {
      throw blockingOnHub('GreenPile.spawn()', 'the pool is full: `await pile.spawnAsync(fn, ...args)` waits for a slot');
    }
    core.spawn(request);
  }

  /** `spawn` for async code: a Future completed once the thread started (cancel it to withdraw). */
  spawnAsync<A extends unknown[]>(fn: Fn<A, T | PromiseLike<T>>, ...args: A): Future<void> {
    checkBridge('GreenPile.spawnAsync');
    this._asyncCore('spawnAsync', 'spawn');
    const core = this.bound();
    const started = core.spawn(makeRequest('GreenPile.spawnAsync', fn, args, false));
    return started instanceof Future ? started : resolved(currentLoop(), undefined);
  }

  /**
   * The next result in spawn order, blocking until its thread finished;
   * throws the thread's error. `{ done: true }` once every result spawned
   * so far was read. On the loop's thread, it throws BlockingOnHubError
   * instead of waiting: use `for await` or `nextAsync()`.
   */
  next(): IteratorResult<T, undefined> {
    if (this._core === null) return iteratorResult<T>(this._remote('GreenPile.next', [null, []]));
    const ready = this.bound().tryNext();
    if (ready === PENDING) throw blockingOnHub('GreenPile.next()', 'use `for await (...)` or `await pile.nextAsync()`');
    return iteratorResult<T>(ready);
  }

  /** `next` for async code: a Future of the next result (cancel it to stop waiting). */
  nextAsync(): Future<IteratorResult<T, undefined>> {
    this._asyncCore('nextAsync', 'next');
    const core = this.bound();
    return nextResult<T>(core, currentLoop());
  }

  [Symbol.iterator](): this {
    return this;
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return { next: async () => (this._core === null ? this.next() : await this.nextAsync()) };
  }

  /** @internal Spawns the calls `batch` (encoded argument lists) of `ref`, then reads the next result. */
  _step(ref: FunctionRef, batch: unknown[][]): IteratorResult<T, undefined> {
    if (this._core === null) return iteratorResult<T>(this._remote('GreenPile.next', [ref, batch]));
    spawnBatch(this.bound(), ref, batch);
    return this.next();
  }

  /** @internal `_step` for async code. */
  _stepAsync(ref: FunctionRef, batch: unknown[][]): Future<IteratorResult<T, undefined>> {
    spawnBatch(this.bound(), ref, batch);
    return this.nextAsync();
  }

  /** @internal Drops the results not read yet (their threads run on). */
  _abandon(): void {
    if (this._core !== null) this._core.abandon();
    else this._remote('GreenPile.abandon');
  }

  private bound(): PileCore<GreenPool> {
    const core = this._core as PileCore<GreenPool>;
    core.bind(currentLoop());
    return core;
  }
}

defineHubObject(GreenPile, {
  name: 'GreenPile',
  module: MODULE,
  create: ([sizeOrPool]) => {
    const pool = sizeOrPool instanceof GreenPool ? sizeOrPool : new GreenPool(checkSize(sizeOrPool ?? 1000, 'GreenPile'));
    if (pool._core === null) throw new RuntimeError('GreenPile: the pool is not owned by this thread');
    return new PileCore(pool._core, pool);
  },
});

// The end of a pile's results crosses threads as itself.
registerValueCodec<object>({
  tag: 'pile.end',
  matches: (value): value is object => value === EXHAUSTED,
  encode: () => 0,
  decode: () => EXHAUSTED,
});

function iteratorResult<T>(value: unknown): IteratorResult<T, undefined> {
  return value === EXHAUSTED ? { done: true, value: undefined } : { done: false, value: value as T };
}

/** A Future of the pile's next iterator result, for async code. */
function nextResult<T>(core: PileCore, loop: EventLoop): Future<IteratorResult<T, undefined>> {
  const future = loop.createFuture<IteratorResult<T, undefined>>();
  let next: unknown;
  try {
    next = core.next();
  } catch (error) {
    future.setException(error);
    return future;
  }
  if (!(next instanceof Future)) {
    future.setResult(iteratorResult<T>(next));
    return future;
  }
  const reader = next;
  reader.addDoneCallback(() => {
    if (future.done()) return;
    if (reader.cancelled()) future.cancel();
    else if (reader.exception() !== null) future.setException(reader.exception());
    else future.setResult(iteratorResult<T>(reader.result()));
  });
  // The caller stopped waiting: it leaves the line, or gives back the result it was just handed.
  future.addDoneCallback(() => {
    if (future.cancelled() && !reader.cancel()) core.restore(reader);
  });
  return future;
}

function spawnBatch(core: PileCore, ref: FunctionRef | null, batch: unknown[][]): void {
  if (ref === null) return;
  for (const args of batch) core.spawn({ ref, args, detached: false, caller: null });
}

// ---- hub side ------------------------------------------------------------------------

registerCoreOperation('GreenPool.info', (_caller, core: PoolCore, what: string) => {
  if (what === 'size') return core.size;
  if (what === 'running') return core.running();
  if (what === 'free') return core.free();
  return core.waiting();
});

registerCoreOperation('GreenPool.resize', (_caller, core: PoolCore, size: number) => {
  core.resize(checkSize(size, 'GreenPool.resize'));
});

registerCoreOperation(
  'GreenPool.spawn',
  (caller, core: PoolCore, ref: FunctionRef, args: unknown[], detached: boolean) => {
    const request: SpawnRequest = { ref, args, detached, caller };
    const started = core.spawn(request, (thread) => (detached ? undefined : facadeOf(thread)));
    if (request.guest === true) return guestReply(caller, request);
    // A spawn whose thread started just as its caller was interrupted is withdrawn.
    if (started instanceof Future) ifUndelivered(caller, started, () => request.started?.killWith(new GreenletExit()));
    return started;
  },
);

registerCoreOperation('GreenPool.waitall', (caller, core: PoolCore) => {
  if (core.contains(caller)) {
    throw new RuntimeError("GreenPool.waitall() called from one of the pool's own green threads would never return");
  }
  return core.waitall() ?? undefined;
});

registerCoreOperation('GreenPile.info', (_caller, core: PileCore<GreenPool>, what: string) => {
  if (what === 'pool') return core.poolObject;
  return what === 'used' ? core.used : core.counter;
});

registerCoreOperation('GreenPile.spawn', (caller, core: PileCore, ref: FunctionRef, args: unknown[]) => {
  const request: SpawnRequest = { ref, args, detached: false, caller };
  const started = core.spawn(request);
  if (request.guest === true) return guestReply(caller, request);
  if (started instanceof Future) {
    ifUndelivered(caller, started, () => {
      if (request.started !== undefined) core.withdraw(request.started);
    });
  }
  return started;
});

registerCoreOperation('GreenPile.next', (caller, core: PileCore, ref: FunctionRef | null, batch: unknown[][]) => {
  spawnBatch(core, ref, batch);
  const next = core.next();
  // A result handed out just as the reader was interrupted goes back to the pile.
  if (next instanceof Future) ifUndelivered(caller, next, () => core.restore(next));
  return next;
});

registerCoreOperation('GreenPile.abandon', (_caller, core: PileCore) => core.abandon());
