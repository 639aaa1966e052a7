/**
 * Semaphore and BoundedSemaphore (asyncio's, from `locks.py`).
 *
 * A semaphore counts free permits. `acquire()` takes one, waiting in FIFO
 * order while none is free; `release()` gives one back. A permit freed while
 * tasks wait is handed to the first waiter at once, so a newcomer cannot
 * take it first; if that waiter is cancelled before it runs, the permit goes
 * back and on to the next waiter.
 */
import { describeValue } from './debug.js';
import { ValueError } from './errors.js';
import { Acquirable } from './locks.js';
import { toOperation, Waiters, type Operation } from './operations.js';

function checkInitialValue(value: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`Semaphore initial value must be an integer, got ${describeValue(value)}`);
  }
  if (value < 0) throw new ValueError('Semaphore initial value must be >= 0');
}

/**
 * A counter of permits (asyncio.Semaphore). `locked()` is true when
 * `acquire()` would wait: no free permit, or tasks already waiting.
 */
export class Semaphore extends Acquirable {
  /** @internal Free permits. */
  protected _value: number;
  private readonly waiters = new Waiters<true>(this, 'acquire');

  /** `value`: the initial number of permits, an integer >= 0 (ValueError if negative). */
  constructor(value = 1) {
    super();
    checkInitialValue(value);
    this._value = value;
  }

  /** True if `acquire()` would wait. */
  locked(): boolean {
    // No permit, or FIFO: tasks that wait go first.
    return this._value === 0 || this.waiters.hasLive();
  }

  /** Takes a permit, waiting in FIFO order until one is free; resolves to true. */
  acquire(): Operation<true> {
    return toOperation(this.acquireSteps());
  }

  /** Gives a permit back, handing it to the first waiter if any. */
  release(): void {
    this._value++;
    this.wakeUpNext();
  }

  override toString(): string {
    const state = this.locked() ? 'locked' : `unlocked, value:${this._value}`;
    return `<${this.constructor.name} [${this.waiters.describe(state)}]>`;
  }

  private *acquireSteps(): Generator<unknown, true, unknown> {
    if (!this.locked()) {
      this._value--;
      return true;
    }
    try {
      // A permit handed to this waiter goes back if it is cancelled before running.
      yield* this.waiters.park(this._getLoop('acquire'), { onLostWakeUp: () => this._value++ });
    } finally {
      // Waiters that arrived meanwhile may be servable now.
      while (this._value > 0 && this.wakeUpNext()) {
        // each turn hands one permit on
      }
    }
    return true;
  }

  /** Hands a free permit to the first waiter not yet woken; false if none. */
  private wakeUpNext(): boolean {
    if (!this.waiters.wakeNext(true)) return false;
    this._value--;
    return true;
  }
}

/**
 * A Semaphore that refuses to hold more permits than it started with:
 * `release()` raises ValueError('BoundedSemaphore released too many times').
 */
export class BoundedSemaphore extends Semaphore {
  private readonly boundValue: number;

  constructor(value = 1) {
    super(value);
    this.boundValue = value;
  }

  override release(): void {
    if (this._value >= this.boundValue) throw new ValueError('BoundedSemaphore released too many times');
    super.release();
  }
}
