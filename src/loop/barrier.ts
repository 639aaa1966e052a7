/**
 * Barrier (asyncio.Barrier, the asyncio twin of threading.Barrier): `parties`
 * tasks meet at `wait()`; when the last one arrives, all of them go on.
 *
 * Guarantees:
 * - `wait()` resolves to the caller's arrival index, 0 for the first task to
 *   arrive and `parties - 1` for the one that trips the barrier.
 * - The barrier is reusable: tasks that arrive while the previous round is
 *   still leaving wait for it to finish, then fill the next round in FIFO order.
 * - `reset()` and `abort()` make every task waiting in the round raise
 *   BrokenBarrierError; after `abort()` every later `wait()` raises too, until
 *   `reset()`. A cancelled waiter leaves the round (`nWaiting` drops).
 */
import { describeValue } from './debug.js';
import { BrokenBarrierError, ValueError } from './errors.js';
import { LoopBound } from './locks.js';
import { toOperation, Waiters, type Operation } from './operations.js';

type BarrierState = 'filling' | 'draining' | 'resetting' | 'broken';

export class Barrier extends LoopBound {
  private readonly partyCount: number;
  private state: BarrierState = 'filling';
  /** Tasks inside `wait()` for this round (arrived and not yet gone). */
  private count = 0;
  /** Every parked task; each re-checks the state when woken (a condition variable). */
  private readonly waiters = new Waiters<true>(this, 'wait');

  /** `parties`: how many tasks must call `wait()` to trip the barrier, an integer >= 1. */
  constructor(parties: number) {
    super();
    if (typeof parties !== 'number' || !Number.isInteger(parties)) {
      throw new TypeError(`Barrier parties must be an integer, got ${describeValue(parties)}`);
    }
    if (parties < 1) throw new ValueError('parties must be >= 1');
    this.partyCount = parties;
  }

  /** How many tasks must wait to trip the barrier. */
  get parties(): number {
    return this.partyCount;
  }

  /** How many tasks wait in the round being filled. */
  get nWaiting(): number {
    return this.state === 'filling' ? this.count : 0;
  }

  /** True after `abort()`, until `reset()`. */
  get broken(): boolean {
    return this.state === 'broken';
  }

  /**
   * Waits until `parties` tasks have called `wait()`, then resolves to this
   * task's arrival index (0 to parties-1). BrokenBarrierError if the barrier
   * is broken, or is reset or aborted while waiting.
   */
  wait(): Operation<number> {
    return toOperation(this.waitSteps());
  }

  /**
   * Returns the barrier to its initial, empty state. Tasks waiting in the
   * current round raise BrokenBarrierError. Synchronous (asyncio's is a
   * coroutine); `await barrier.reset()` works as well.
   */
  reset(): void {
    if (this.count > 0) this.state = 'resetting';
    else this.state = 'filling';
    this.waiters.wake(true);
  }

  /**
   * Breaks the barrier: waiting tasks and every later `wait()` raise
   * BrokenBarrierError until `reset()`. Useful when a party fails and the
   * others must not wait forever. Synchronous; `await barrier.abort()` works too.
   */
  abort(): void {
    this.state = 'broken';
    this.waiters.wake(true);
  }

  override toString(): string {
    const waiting = this.broken ? '' : `, waiters:${this.nWaiting}/${this.partyCount}`;
    return `<Barrier [${this.state}${waiting}]>`;
  }

  private *waitSteps(): Generator<unknown, number, unknown> {
    // A previous round is still leaving, or being reset: wait for it.
    while (this.state === 'draining' || this.state === 'resetting') yield* this.park();
    if (this.state === 'broken') throw new BrokenBarrierError('Barrier aborted');
    const index = this.count++;
    try {
      if (index + 1 === this.partyCount) {
        this.state = 'draining';
        this.waiters.wake(true);
      } else {
        while (this.state === 'filling') yield* this.park();
        if (this.state !== 'draining') throw new BrokenBarrierError('Abort or reset of barrier');
      }
      return index;
    } finally {
      this.count--;
      this.leave();
    }
  }

  private park(): Generator<unknown, true, unknown> {
    return this.waiters.park(this._getLoop('wait'));
  }

  /** The last task out of a round opens the barrier for the next one. */
  private leave(): void {
    if (this.count > 0) return;
    if (this.state === 'draining' || this.state === 'resetting') this.state = 'filling';
    this.waiters.wake(true);
  }
}
