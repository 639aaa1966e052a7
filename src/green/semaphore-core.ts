/**
 * The hub-side state of green semaphores (see semaphore.ts for the public
 * classes).
 *
 * Waiters are served in FIFO order and a permit is handed to a waiter when
 * it is woken, so a newcomer never takes it first; a permit handed to a
 * waiter that never received it (its thread was killed at that moment) is
 * given back with `undoAcquire()`.
 */
import type { EventLoop } from '../loop/event-loop.js';
import { ValueError } from '../loop/errors.js';
import { HubCore } from './hub-object.js';
import { WaiterLine, type Waiter } from './waiters.js';

/** What every semaphore core offers to `acquire()`. */
export interface AcquireCore extends HubCore {
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
}

/** A counter of permits (eventlet's Semaphore; `bound` makes it a BoundedSemaphore). */
export class SemaphoreCore extends HubCore implements AcquireCore {
  private readonly acquirers = new WaiterLine<boolean>();

  constructor(
    private count: number,
    private readonly bound: number | null,
  ) {
    super();
  }

  get counter(): number {
    return this.count;
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
  private readonly acquirers = new WaiterLine<boolean>();
  private readonly releasers = new WaiterLine<boolean>();

  constructor(
    private count: number,
    private readonly limit: number,
  ) {
    super();
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
