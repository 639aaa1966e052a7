/**
 * The hub-side state of green semaphores (see semaphore.ts for the public
 * classes).
 *
 * Waiters are served in FIFO order and a permit is handed to a waiter when
 * it is woken, so a newcomer never takes it first; a permit handed to a
 * waiter that never received it (its thread was killed at that moment) is
 * given back with `undoAcquire()`.
 *
 * Each core also keeps who holds its permits (`Holdings`), so that the
 * permits of a green thread that dies abnormally (its worker crashed or was
 * terminated) go back to the waiters instead of being lost.
 */
import type { EventLoop } from '../loop/event-loop.js';
import { ValueError } from '../loop/errors.js';
import { HubCore } from './hub-object.js';
import { WaiterLine, type Waiter } from './waiters.js';

/** The holder id of async code on the hub's thread (green thread ids start at 1). */
export const ASYNC_HOLDER = 0;

/**
 * Who holds a semaphore's permits: green thread id (or ASYNC_HOLDER) ->
 * permits. A semaphore is not owned (as in eventlet): any thread may
 * release. A release pays back a permit of the releaser if it holds one,
 * else the one held longest by another holder, so that a permit released on
 * another's behalf is never given back twice when that holder dies.
 */
export class Holdings {
  private readonly counts = new Map<number, number>();

  add(holder: number): void {
    this.counts.set(holder, (this.counts.get(holder) ?? 0) + 1);
  }

  /** A release by `releaser`: see the class documentation. */
  pay(releaser: number): void {
    const holder = this.counts.has(releaser) ? releaser : this.counts.keys().next().value;
    if (holder === undefined) return;
    const left = (this.counts.get(holder) as number) - 1;
    if (left > 0) this.counts.set(holder, left);
    else this.counts.delete(holder);
  }

  /** Forgets and returns how many permits `holder` holds. */
  take(holder: number): number {
    const count = this.counts.get(holder) ?? 0;
    this.counts.delete(holder);
    return count;
  }

  /** How many permits `holder` holds. */
  of(holder: number): number {
    return this.counts.get(holder) ?? 0;
  }
}

/** What every semaphore core offers to `acquire()`. */
export interface AcquireCore extends HubCore {
  /** Who holds its permits. */
  readonly holdings: Holdings;
  /** The public class's name, for reports. */
  readonly kind: string;
  /** Whether an `acquire()` now would block. */
  locked(): boolean;
  /** Whether a `release()` now would block (only a CappedSemaphore's can). */
  bounded(): boolean;
  /** eventlet's balance: acquires possible before one blocks (negative: releases owed). */
  balance(): number;
  /** Takes a permit if one is free and nobody waits for one. */
  tryAcquire(): boolean;
  /** Waits in line for a permit: woken with true, or false after `timeout` seconds. */
  parkAcquirer(loop: EventLoop, timeout: number | null): Waiter<boolean>;
  /** Gives back a permit an acquirer was handed but never received. */
  undoAcquire(): void;
  /** Gives back `count` permits of a thread that died; returns how many went back. */
  releaseLost(count: number): number;
}

/** A counter of permits (eventlet's Semaphore; `bound` makes it a BoundedSemaphore). */
export class SemaphoreCore extends HubCore implements AcquireCore {
  readonly holdings = new Holdings();
  private readonly acquirers = new WaiterLine<boolean>({ toString: () => `Semaphore.acquire() on <Semaphore ${String(this)}>` });

  constructor(
    private count: number,
    private readonly bound: number | null,
  ) {
    super();
  }

  get counter(): number {
    return this.count;
  }

  get kind(): string {
    return this.bound === null ? 'Semaphore' : 'BoundedSemaphore';
  }

  locked(): boolean {
    return this.count <= 0;
  }

  bounded(): boolean {
    return false;
  }

  balance(): number {
    return this.count - this.acquirers.length;
  }

  tryAcquire(): boolean {
    if (this.count <= 0 || this.acquirers.length > 0) return false;
    this.count--;
    return true;
  }

  parkAcquirer(loop: EventLoop, timeout: number | null): Waiter<boolean> {
    return this.acquirers.park(loop, undefined, timeout, (waiter) => waiter.resolve(false));
  }

  /** Adds a permit, handing it to the first waiter; ValueError past a BoundedSemaphore's initial value. */
  release(): void {
    if (this.bound !== null && this.count >= this.bound) throw new ValueError('Semaphore released too many times');
    this.undoAcquire();
  }

  releaseLost(count: number): number {
    for (let i = 0; i < count; i++) this.undoAcquire();
    return count;
  }

  undoAcquire(): void {
    this.count++;
    for (let waiter = this.acquirers.first(); waiter !== undefined && this.count > 0; waiter = this.acquirers.first()) {
      this.count--;
      waiter.resolve(true);
    }
  }

  override toString(): string {
    return `c=${this.count} _w[${this.acquirers.length}]`;
  }
}

/**
 * A counter between 0 and `limit` (eventlet's CappedSemaphore): `acquire()`
 * blocks at 0, `release()` blocks at `limit`; a blocked acquirer and a
 * blocked releaser complete each other (so with limit 0 it is a rendezvous).
 * `locked()`, `bounded()` and `balance()` give eventlet's values, which
 * count the blocked callers as eventlet's pair of semaphores does.
 */
export class CappedCore extends HubCore implements AcquireCore {
  readonly holdings = new Holdings();
  private readonly acquirers = new WaiterLine<boolean>({ toString: () => `CappedSemaphore.acquire() on <CappedSemaphore ${String(this)}>` });
  private readonly releasers = new WaiterLine<boolean>({ toString: () => `CappedSemaphore.release() on <CappedSemaphore ${String(this)}>` });

  constructor(
    private count: number,
    private readonly limit: number,
  ) {
    super();
  }

  get kind(): string {
    return 'CappedSemaphore';
  }

  locked(): boolean {
    return this.count <= 0 && this.releasers.length === 0;
  }

  bounded(): boolean {
    return this.count >= this.limit && this.acquirers.length === 0;
  }

  balance(): number {
    // eventlet: lower.balance - upper.balance, with lower = count + blocked
    // releasers and upper = limit - count + blocked acquirers.
    return 2 * (this.count - this.acquirers.length + this.releasers.length) - this.limit;
  }

  tryAcquire(): boolean {
    if (this.acquirers.length > 0) return false;
    if (this.count > 0) {
      this.count--;
      this.serve();
      return true;
    }
    const releaser = this.releasers.first();
    if (releaser === undefined) return false;
    releaser.resolve(true);
    return true;
  }

  parkAcquirer(loop: EventLoop, timeout: number | null): Waiter<boolean> {
    return this.acquirers.park(loop, undefined, timeout, (waiter) => waiter.resolve(false));
  }

  undoAcquire(): void {
    this.count++;
    this.serve();
  }

  releaseLost(count: number): number {
    // Never past the limit (releases made for the dead thread may have filled it).
    let released = 0;
    while (released < count && this.tryRelease()) released++;
    return released;
  }

  /** Adds a permit if below the limit (or hands it to a blocked acquirer); false if it must wait. */
  tryRelease(): boolean {
    if (this.releasers.length > 0) return false;
    if (this.count < this.limit) {
      this.count++;
      this.serve();
      return true;
    }
    const acquirer = this.acquirers.first();
    if (acquirer === undefined) return false;
    acquirer.resolve(true);
    return true;
  }

  /** Waits in line to release: woken with true, or false after `timeout` seconds. */
  parkReleaser(loop: EventLoop, timeout: number | null): Waiter<boolean> {
    return this.releasers.park(loop, undefined, timeout, (waiter) => waiter.resolve(false));
  }

  /** Completes blocked callers while the count allows, then pairs acquirers with releasers. */
  private serve(): void {
    for (;;) {
      const acquirer = this.acquirers.first();
      const releaser = this.releasers.first();
      if (acquirer !== undefined && this.count > 0) {
        this.count--;
        acquirer.resolve(true);
      } else if (releaser !== undefined && this.count < this.limit) {
        this.count++;
        releaser.resolve(true);
      } else if (acquirer !== undefined && releaser !== undefined) {
        acquirer.resolve(true);
        releaser.resolve(true);
      } else {
        return;
      }
    }
  }

  override toString(): string {
    return `b=${this.balance()} count=${this.count} limit=${this.limit}`;
  }
}
