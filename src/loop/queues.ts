/**
 * Queues for producer and consumer tasks (asyncio's `queues.py`, with the
 * `shutdown()` of Python 3.13): Queue (FIFO), LifoQueue and PriorityQueue.
 *
 * Guarantees:
 * - Blocked getters are served in FIFO order, and so are blocked putters. A
 *   getter woken for an item gets that item: a newcomer's `get()` waits
 *   behind it. `getNowait()`/`putNowait()` never wait, so they do not queue:
 *   they succeed whenever there is an item / a free slot, and a woken waiter
 *   that finds its item (or slot) taken keeps its place at the head of the line.
 * - A getter cancelled while waiting takes nothing; one cancelled after being
 *   woken leaves its item in the queue and wakes the next getter. A cancelled
 *   putter puts nothing and leaves no trace. No item is ever lost.
 * - `shutdown()`: `put()`/`putNowait()` raise QueueShutDown from then on, and
 *   blocked putters are woken to raise it; `get()` raises it once the queue is
 *   empty. `shutdown(true)` also drains the queue at once (so gets raise at
 *   once), counts every drained item as done, and so releases `join()` when no
 *   other item is still being worked on.
 * - Queues are not thread-safe; like every primitive, a queue belongs to the
 *   loop it first waits on.
 */
import { describeValue } from './debug.js';
import { Deque } from './deque.js';
import { QueueEmpty, QueueFull, QueueShutDown, ValueError } from './errors.js';
import { MinHeap } from './heap.js';
import { Event, LoopBound } from './locks.js';
import { toOperation, Waiters, type Operation } from './operations.js';

/** Where a queue keeps its items; subclasses choose the order by choosing the store. */
export interface ItemStore<T> {
  readonly size: number;
  push(item: T): void;
  /** Removes and returns the next item; only called when `size > 0`. */
  take(): T;
  clear(): void;
}

/** First in, first out. */
class FifoStore<T> implements ItemStore<T> {
  private readonly items = new Deque<T>();
  get size(): number {
    return this.items.length;
  }
  push(item: T): void {
    this.items.push(item);
  }
  take(): T {
    return this.items.shift() as T;
  }
  clear(): void {
    this.items.clear();
  }
}

/** Last in, first out. */
class LifoStore<T> implements ItemStore<T> {
  private items: T[] = [];
  get size(): number {
    return this.items.length;
  }
  push(item: T): void {
    this.items.push(item);
  }
  take(): T {
    return this.items.pop() as T;
  }
  clear(): void {
    this.items = [];
  }
}

/**
 * A FIFO queue (asyncio.Queue). `maxsize` <= 0 (the default) means unbounded;
 * otherwise `put()` waits while the queue holds `maxsize` items.
 */
export class Queue<T = unknown> extends LoopBound {
  private readonly maxsizeValue: number;
  private storeCache: ItemStore<T> | null = null;
  private readonly getters = new Waiters<true>(this, 'get');
  private readonly putters = new Waiters<true>(this, 'put');
  private unfinishedTasks = 0;
  private readonly finished = new Event();
  private isShutDown = false;

  constructor(maxsize = 0) {
    super();
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) {
      throw new TypeError(`Queue maxsize must be an integer, got ${describeValue(maxsize)}`);
    }
    this.maxsizeValue = maxsize;
    this.finished.set();
  }

  /** The store for this queue's order; subclasses override it (called once, on first use). */
  protected _createStore(): ItemStore<T> {
    return new FifoStore<T>();
  }

  private get store(): ItemStore<T> {
    this.storeCache ??= this._createStore();
    return this.storeCache;
  }

  /** How many items the queue may hold (0 or less: unbounded). */
  get maxsize(): number {
    return this.maxsizeValue;
  }

  /** How many items are in the queue. */
  qsize(): number {
    return this.store.size;
  }

  empty(): boolean {
    return this.store.size === 0;
  }

  /** True if the queue holds `maxsize` items; never true for an unbounded queue. */
  full(): boolean {
    return this.maxsizeValue > 0 && this.store.size >= this.maxsizeValue;
  }

  /** Puts `item`, waiting (FIFO) for a free slot; QueueShutDown after `shutdown()`. */
  put(item: T): Operation<void> {
    return toOperation(this.putSteps(item));
  }

  /** Puts `item` now: QueueFull if there is no free slot, QueueShutDown after `shutdown()`. */
  putNowait(item: T): void {
    if (this.isShutDown) throw new QueueShutDown();
    if (this.full()) throw new QueueFull();
    this.putItem(item);
  }

  /** Removes and returns the next item, waiting (FIFO) for one; QueueShutDown once shut down and empty. */
  get(): Operation<T> {
    return toOperation(this.getSteps());
  }

  /** Removes and returns the next item now: QueueEmpty, or QueueShutDown once shut down and empty. */
  getNowait(): T {
    if (this.empty()) throw this.isShutDown ? new QueueShutDown() : new QueueEmpty();
    return this.takeItem();
  }

  /**
   * Marks one item taken with `get()` as processed. `join()` resolves when
   * every item put has been marked. ValueError if called more times than
   * items were put.
   */
  taskDone(): void {
    if (this.unfinishedTasks <= 0) throw new ValueError('task_done() called too many times');
    this.unfinishedTasks--;
    if (this.unfinishedTasks === 0) this.finished.set();
  }

  /** Waits until every item put has been processed (`taskDone()` for each). */
  join(): Operation<void> {
    return toOperation(this.joinSteps());
  }

  /**
   * Shuts the queue down: puts raise QueueShutDown (blocked putters too), gets
   * raise it once the queue is empty (blocked getters too). With `immediate`
   * the queue is drained first, every drained item counting as done.
   */
  shutdown(immediate = false): void {
    this.isShutDown = true;
    if (immediate) {
      const drained = this.store.size;
      this.store.clear();
      this.unfinishedTasks -= Math.min(drained, this.unfinishedTasks);
      if (this.unfinishedTasks === 0) this.finished.set();
    }
    this.wakeGetters();
    this.wakePutters();
  }

  override toString(): string {
    let text = `<${this.constructor.name} maxsize=${this.maxsizeValue} qsize=${this.qsize()}`;
    if (this.getters.length > 0) text += ` getters[${this.getters.length}]`;
    if (this.putters.length > 0) text += ` putters[${this.putters.length}]`;
    if (this.unfinishedTasks > 0) text += ` tasks=${this.unfinishedTasks}`;
    if (this.isShutDown) text += ' shutdown';
    return `${text}>`;
  }

  private *getSteps(): Generator<unknown, T, unknown> {
    // An item that no woken getter is about to take: take it at once.
    if (this.qsize() > this.getters.woken) return this.takeItem();
    let front = false;
    for (;;) {
      if (this.isShutDown && this.empty()) throw new QueueShutDown();
      yield* this.getters.park(this._getLoop('get'), { front, onLostWakeUp: () => this.wakeGetters() });
      if (!this.empty()) return this.takeItem();
      front = true; // getNowait() took the item first: keep our place
    }
  }

  private *putSteps(item: T): Generator<unknown, void, unknown> {
    if (this.isShutDown) throw new QueueShutDown();
    if (this.freeSlots() > this.putters.woken) return this.putItem(item);
    let front = false;
    for (;;) {
      yield* this.putters.park(this._getLoop('put'), { front, onLostWakeUp: () => this.wakePutters() });
      if (this.isShutDown) throw new QueueShutDown();
      if (!this.full()) return this.putItem(item);
      front = true; // putNowait() took the slot first: keep our place
    }
  }

  private *joinSteps(): Generator<unknown, void, unknown> {
    if (this.unfinishedTasks > 0) yield* this.finished.wait();
  }

  private putItem(item: T): void {
    this.store.push(item);
    this.unfinishedTasks++;
    this.finished.clear();
    this.wakeGetters();
  }

  private takeItem(): T {
    const item = this.store.take();
    this.wakePutters();
    this.wakeGetters();
    return item;
  }

  private freeSlots(): number {
    return this.maxsizeValue > 0 ? this.maxsizeValue - this.qsize() : Infinity;
  }

  /** One woken getter per unclaimed item; all of them once shut down and empty. */
  private wakeGetters(): void {
    if (this.isShutDown && this.empty()) {
      this.getters.wake(true);
      return;
    }
    while (this.qsize() > this.getters.woken && this.getters.wakeNext(true)) {
      // each turn wakes one getter for one item
    }
  }

  /** One woken putter per unclaimed free slot; all of them once shut down. */
  private wakePutters(): void {
    if (this.isShutDown) {
      this.putters.wake(true);
      return;
    }
    while (this.freeSlots() > this.putters.woken && this.putters.wakeNext(true)) {
      // each turn wakes one putter for one slot
    }
  }
}

/** A Queue that returns the most recently added item first. */
export class LifoQueue<T = unknown> extends Queue<T> {
  protected override _createStore(): ItemStore<T> {
    return new LifoStore<T>();
  }
}

// ---- PriorityQueue ----------------------------------------------------------------

/** Orders two items: negative if `a` comes out first, positive if `b` does. */
export type Compare<T> = (a: T, b: T) => number;

export interface PriorityQueueOptions<T> {
  /** The order of items; `compareItems` (documented on PriorityQueue) when not given. */
  compare?: Compare<T>;
}

/** Rank of a value's kind, for values of different kinds. */
function kindRank(value: unknown): number {
  if (typeof value === 'number') return Number.isNaN(value) ? 1 : 0;
  if (typeof value === 'bigint') return 0;
  if (typeof value === 'string') return 2;
  if (Array.isArray(value)) return 3;
  return 4;
}

/**
 * PriorityQueue's default order, a total order that never throws: numbers
 * and bigints numerically (NaN after every number), strings by UTF-16 code
 * units (as `<`), arrays element by element like Python tuples (the first
 * unequal element decides; a prefix comes first). Values of different kinds
 * sort as number < NaN < string < array < anything else, and anything else
 * (objects, booleans, null, undefined) compares equal, which leaves such ties
 * in insertion order. So `[priority, payload]` pairs order by priority and
 * never fail on the payload (Python would raise TypeError there).
 */
export function compareItems(a: unknown, b: unknown): number {
  const rankA = kindRank(a);
  const rankB = kindRank(b);
  if (rankA !== rankB) return rankA - rankB;
  if (rankA === 0 || rankA === 2) {
    const x = a as number | bigint | string;
    const y = b as number | bigint | string;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (rankA === 3) return compareArrays(a as unknown[], b as unknown[]);
  return 0;
}

function compareArrays(a: unknown[], b: unknown[]): number {
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    const order = compareItems(a[i], b[i]);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

interface HeapEntry<T> {
  item: T;
  sequence: number;
}

/** A min-heap by `compare`; equal items come out in insertion order. */
class HeapStore<T> implements ItemStore<T> {
  private heap: MinHeap<HeapEntry<T>>;
  private sequence = 0;

  constructor(private readonly compare: Compare<T>) {
    this.heap = this.newHeap();
  }
  get size(): number {
    return this.heap.size;
  }
  push(item: T): void {
    this.heap.push({ item, sequence: this.sequence++ });
  }
  take(): T {
    return (this.heap.pop() as HeapEntry<T>).item;
  }
  clear(): void {
    this.heap = this.newHeap();
  }
  private newHeap(): MinHeap<HeapEntry<T>> {
    return new MinHeap<HeapEntry<T>>((x, y) => {
      const order = this.compare(x.item, y.item);
      return order < 0 || (!(order > 0) && x.sequence < y.sequence);
    });
  }
}

/**
 * A Queue that returns the lowest item first (heap order). Items are ordered
 * by `options.compare`, or by `compareItems`: numbers and strings natively,
 * arrays element-wise like Python tuples, so `[priority, data]` pairs work as
 * in asyncio. Equal items come out in the order they were put. A custom
 * `compare` must be a consistent order and must not throw.
 */
export class PriorityQueue<T = unknown> extends Queue<T> {
  private readonly compare: Compare<T>;

  constructor(maxsize = 0, options: PriorityQueueOptions<T> = {}) {
    super(maxsize);
    const compare = options.compare ?? compareItems;
    if (typeof compare !== 'function') {
      throw new TypeError(`PriorityQueue compare must be a function, got ${describeValue(compare)}`);
    }
    this.compare = compare;
  }

  protected override _createStore(): ItemStore<T> {
    return new HeapStore<T>(this.compare);
  }
}
