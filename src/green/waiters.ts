/**
 * Waiting lines of the hub-owned primitives (queues, events, semaphores).
 *
 * Everyone blocked on a primitive, a green thread parked in an operation or
 * a task in an `...Async` twin, waits as a `Waiter`: a Future in a FIFO
 * line. The primitive completes waiters in line order and hands them what
 * they waited for (an item, a permit) in the same step, so nobody can
 * overtake a woken waiter.
 *
 * Guarantees:
 * - a waiter leaves its line the moment it completes, is cancelled (a kill,
 *   a green Timeout, a cancelled task) or its timeout expires: the line only
 *   ever holds waiters still waiting, and a cancelled one takes nothing;
 * - a waiter's timeout timer is cancelled when it leaves.
 */
import { Deque } from '../loop/deque.js';
import type { EventLoop } from '../loop/event-loop.js';
import { Future, type FutureLabel } from '../loop/futures.js';
import type { TimerHandle } from '../loop/handles.js';

/** One caller blocked on a primitive; `data` is what it brings (a putter's item). */
export class Waiter<T, D = undefined> extends Future<T> {
  private line: WaiterLine<T, D> | null;
  private timer: TimerHandle | null = null;

  constructor(
    loop: EventLoop,
    line: WaiterLine<T, D>,
    readonly data: D,
  ) {
    super({ loop });
    this.line = line;
  }

  /** Cancels the wait and leaves the line at once (not one loop iteration later). */
  override cancel(message?: string): boolean {
    if (!super.cancel(message)) return false;
    this.leave();
    return true;
  }

  /** Ends the wait with `value`. */
  resolve(value: T): void {
    this.leave();
    this.setResult(value);
  }

  /** Ends the wait with `error`. */
  reject(error: unknown): void {
    this.leave();
    this.setException(error);
  }

  /** @internal Calls `expire(this)` after `seconds` unless the waiter left first. */
  _expireAfter(seconds: number, expire: (waiter: Waiter<T, D>) => void): void {
    this.timer = this.getLoop().callLater(seconds, () => {
      this.timer = null;
      if (!this.done()) expire(this);
    });
  }

  private leave(): void {
    this.timer?.cancel();
    this.timer = null;
    const line = this.line;
    this.line = null;
    line?._remove(this);
  }
}

/** A FIFO line of waiters still waiting. */
export class WaiterLine<T, D = undefined> implements Iterable<Waiter<T, D>> {
  private readonly waiters = new Deque<Waiter<T, D>>();

  /** `label` names what its waiters wait for in dumps (`Queue.get() on <Queue maxsize=...>`). */
  constructor(private readonly label: FutureLabel | null = null) {}

  /** How many wait. */
  get length(): number {
    return this.waiters.length;
  }

  /** The waiter at the head of the line. */
  first(): Waiter<T, D> | undefined {
    return this.waiters.peek();
  }

  /**
   * Adds a waiter at the back. With a `timeout` (seconds), `expire(waiter)`
   * runs if it still waits then; it must complete the waiter.
   */
  park(loop: EventLoop, data: D, timeout: number | null, expire: (waiter: Waiter<T, D>) => void): Waiter<T, D> {
    const waiter = new Waiter<T, D>(loop, this, data);
    waiter._label = this.label;
    this.waiters.push(waiter);
    if (timeout !== null) waiter._expireAfter(timeout, expire);
    return waiter;
  }

  [Symbol.iterator](): Iterator<Waiter<T, D>> {
    return [...this.waiters][Symbol.iterator]();
  }

  /** @internal */
  _remove(waiter: Waiter<T, D>): void {
    if (this.waiters.peek() === waiter) this.waiters.shift();
    else this.waiters.remove(waiter);
  }
}

/**
 * For an `...Async` twin's steps: waits for `waiter` in the calling task.
 * If an error arrives instead (the task is cancelled), the waiter is
 * cancelled; if it arrives after the waiter got its result, `undo(result)`
 * gives back what the result took (an item, a permit), so nothing is lost.
 */
export function* awaitWaiter<T, D>(waiter: Waiter<T, D>, undo?: (result: T) => void): Generator<unknown, T, unknown> {
  try {
    return (yield waiter) as T;
  } catch (error) {
    if (!waiter.done()) waiter.cancel();
    else if (!waiter.cancelled() && waiter.exception() === null) undo?.(waiter.result());
    throw error;
  }
}
