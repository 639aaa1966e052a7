/**
 * The hub-side state of green queues: items, blocked getters and putters,
 * unfinished tasks (see queue.ts for the public classes).
 *
 * Getters and putters wait in FIFO lines, and every change (an item put or
 * taken, a resize, a waiter leaving) runs `unlock()`, which serves the lines
 * at once, so between operations:
 * - no getter waits while an item is queued;
 * - no putter waits while a slot is free;
 * - no putter and getter wait together (on a channel the item goes from
 *   one to the other).
 * A newcomer therefore never overtakes a waiter. A getter is handed its
 * item when it is woken; if that item never reaches it (its thread was
 * killed in between), `restore()` puts the item back first in line.
 */
import { Deque } from '../loop/deque.js';
import type { EventLoop } from '../loop/event-loop.js';
import { ValueError } from '../loop/errors.js';
import { MinHeap } from '../loop/heap.js';
import { compareItems } from '../loop/queues.js';
import { HubCore } from './hub-object.js';
import { Empty, Full } from './errors.js';
import { WaiterLine, type Waiter } from './waiters.js';

/** What `tryGet()` returns when there is no item (items may be undefined). */
export const NOTHING: unique symbol = Symbol('nothing');

/** The order items come out in. */
export type QueueOrder = 'fifo' | 'lifo' | 'priority';

/** Where a queue keeps its items. */
interface ItemStore<T> {
  readonly size: number;
  push(item: T): void;
  /** Removes and returns the next item; only called when `size > 0`. */
  take(): T;
  /** Puts back an item that was taken, to come out next. */
  restore(item: T): void;
}

class FifoStore<T> implements ItemStore<T> {
  private readonly deque = new Deque<T>();
  get size(): number {
    return this.deque.length;
  }
  push(item: T): void {
    this.deque.push(item);
  }
  take(): T {
    return this.deque.shift() as T;
  }
  restore(item: T): void {
    this.deque.unshift(item);
  }
}

class LifoStore<T> implements ItemStore<T> {
  private readonly stack: T[] = [];
  get size(): number {
    return this.stack.length;
  }
  push(item: T): void {
    this.stack.push(item);
  }
  take(): T {
    return this.stack.pop() as T;
  }
  restore(item: T): void {
    this.stack.push(item);
  }
}

interface Ranked<T> {
  readonly item: T;
  readonly sequence: number;
}

/** Lowest first by `compareItems` (greenloop/loop's PriorityQueue order); ties in insertion order. */
class PriorityStore<T> implements ItemStore<T> {
  private readonly heap = new MinHeap<Ranked<T>>((a, b) => {
    const order = compareItems(a.item, b.item);
    return order !== 0 ? order < 0 : a.sequence < b.sequence;
  });
  private nextSequence = 0;
  /** Restored items rank before every item put (negative sequences). */
  private restoredSequence = 0;
  get size(): number {
    return this.heap.size;
  }
  push(item: T): void {
    this.heap.push({ item, sequence: this.nextSequence++ });
  }
  take(): T {
    return (this.heap.pop() as Ranked<T>).item;
  }
  restore(item: T): void {
    this.heap.push({ item, sequence: --this.restoredSequence });
  }
}

function makeStore<T>(order: QueueOrder): ItemStore<T> {
  if (order === 'lifo') return new LifoStore<T>();
  if (order === 'priority') return new PriorityStore<T>();
  return new FifoStore<T>();
}

/**
 * A queue's maxsize: null (or undefined, or negative, as eventlet) for
 * unbounded, 0 for a channel, else a positive integer; TypeError otherwise.
 */
export function checkMaxsize(maxsize: unknown, call: string): number | null {
  if (maxsize === null || maxsize === undefined) return null;
  if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) {
    throw new TypeError(`${call}: maxsize must be null or an integer, got ${String(maxsize)}`);
  }
  return maxsize < 0 ? null : maxsize;
}

export class QueueCore<T> extends HubCore {
  private readonly store: ItemStore<T>;
  /** Blocked getters, woken with their item. */
  private readonly getters = new WaiterLine<T>({ toString: () => `Queue.get() on <Queue ${String(this)}>` });
  /** Blocked putters, with their item. */
  private readonly putters = new WaiterLine<void, T>({ toString: () => `Queue.put() on <Queue ${String(this)}>` });
  /** Blocked `join()` calls, woken with true once every task is done. */
  private readonly joiners = new WaiterLine<boolean>({ toString: () => `Queue.join() on <Queue ${String(this)}>` });
  private unfinished = 0;

  constructor(
    private size: number | null,
    order: QueueOrder,
  ) {
    super();
    this.store = makeStore(order);
  }

  get maxsize(): number | null {
    return this.size;
  }

  get unfinishedTasks(): number {
    return this.unfinished;
  }

  qsize(): number {
    return this.store.size;
  }

  /** A channel (maxsize 0) is always empty and full, as in eventlet. */
  full(): boolean {
    return this.size !== null && this.store.size >= this.size;
  }

  /** How many wait in `get()` / in `put()`. */
  getting(): number {
    return this.getters.length;
  }
  putting(): number {
    return this.putters.length;
  }

  /** Sets the maxsize; a larger one lets waiting putters in. */
  resize(size: number | null): void {
    this.size = size;
    this.unlock();
  }

  // ---- get -------------------------------------------------------------------------

  /** The next item if one can be had now: queued, or from a putter waiting on a channel. */
  tryGet(): T | typeof NOTHING {
    if (this.store.size > 0) {
      const item = this.store.take();
      this.unlock();
      return item;
    }
    // No item queued while a putter waits: only on a channel. Take its item.
    const putter = this.putters.first();
    if (putter === undefined) return NOTHING;
    this.unfinished++;
    putter.resolve();
    return putter.data;
  }

  /** Waits in line for an item; Empty after `timeout` seconds. */
  parkGetter(loop: EventLoop, timeout: number | null): Waiter<T> {
    return this.getters.park(loop, undefined, timeout, (waiter) =>
      waiter.reject(new Empty(`get() found no item within ${String(timeout)} seconds`)),
    );
  }

  /** Puts back an item a getter was handed but never received. */
  restore(item: T): void {
    this.store.restore(item);
    this.unlock();
  }

  /** The error of a get() that cannot wait. */
  emptyError(): Empty {
    return new Empty(this.size === 0 ? 'no putter is waiting on the channel (Queue(0))' : 'the queue is empty');
  }

  // ---- put -------------------------------------------------------------------------

  /** Puts `item` if it can be now: to a waiting getter, or into a free slot behind no waiting putter. */
  tryPut(item: T): boolean {
    const getter = this.getters.first();
    if (getter !== undefined) {
      // A getter waits, so nothing is queued: hand the item over.
      this.unfinished++;
      getter.resolve(item);
      return true;
    }
    if (this.putters.length > 0 || !this.hasFreeSlot()) return false;
    this.store.push(item);
    this.unfinished++;
    return true;
  }

  /** Waits in line to put `item`; Full after `timeout` seconds. */
  parkPutter(loop: EventLoop, item: T, timeout: number | null): Waiter<void, T> {
    return this.putters.park(loop, item, timeout, (waiter) =>
      waiter.reject(new Full(`put() found no free slot within ${String(timeout)} seconds`)),
    );
  }

  /** The error of a put() that cannot wait. */
  fullError(): Full {
    return new Full(this.size === 0 ? 'no getter is waiting on the channel (Queue(0))' : 'the queue is full');
  }

  // ---- tasks -----------------------------------------------------------------------

  /** One item taken earlier is processed; ValueError if more than were put. */
  taskDone(): void {
    if (this.unfinished <= 0) throw new ValueError('task_done() called too many times');
    this.unfinished--;
    if (this.unfinished > 0) return;
    for (const joiner of this.joiners) joiner.resolve(true);
  }

  /** True now if every task is done, else a waiter woken with true then, or false after `timeout`. */
  join(loop: EventLoop, timeout: number | null): true | Waiter<boolean> {
    if (this.unfinished === 0) return true;
    return this.joiners.park(loop, undefined, timeout, (waiter) => waiter.resolve(false));
  }

  // ---- serving the lines ---------------------------------------------------------------

  private hasFreeSlot(): boolean {
    return this.size === null || this.store.size < this.size;
  }

  /** Serves waiting getters and putters until neither can go on (see the module documentation). */
  private unlock(): void {
    for (;;) {
      const getter = this.getters.first();
      if (getter !== undefined && this.store.size > 0) {
        getter.resolve(this.store.take());
        continue;
      }
      const putter = this.putters.first();
      if (putter === undefined) return;
      if (this.hasFreeSlot()) {
        this.store.push(putter.data);
        this.unfinished++;
        putter.resolve();
      } else if (getter !== undefined) {
        this.unfinished++;
        getter.resolve(putter.data);
        putter.resolve();
      } else {
        return;
      }
    }
  }

  override toString(): string {
    let text = `maxsize=${String(this.size)} qsize=${this.store.size}`;
    if (this.getters.length > 0) text += ` getters[${this.getters.length}]`;
    if (this.putters.length > 0) text += ` putters[${this.putters.length}]`;
    if (this.unfinished > 0) text += ` tasks=${this.unfinished}`;
    return text;
  }
}
