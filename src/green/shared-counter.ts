/**
 * `SharedCounter`: one number that every green thread of the process and
 * async code on the loop share, for the module-level `let count = 0` that
 * legacy green code bumps from every handler and that green threads, being
 * workers, would otherwise each have a copy of.
 *
 * It lives on the hub and crosses threads as a handle, like SharedMap
 * (shared-map.ts): create it once and pass it along.
 *
 * Guarantees:
 * - every method is one atomic operation on the hub: concurrent
 *   `increment()` calls from any number of threads lose no update, and
 *   `compareAndSet()` / `getAndSet()` read and write in one step;
 * - the value is a finite JS number (ValueError otherwise), exact for
 *   integers up to Number.MAX_SAFE_INTEGER;
 * - the counter is released once no green thread holds a handle to it and
 *   async code cannot reach it.
 */
import { ValueError } from '../loop/errors.js';
import { HubCore, defineHubObject } from './hub-object.js';
import { SharedContainer, registerSharedOperation } from './shared-container.js';

const MODULE = import.meta.url;

class CounterCore extends HubCore {
  constructor(public value: number) {
    super();
  }

  override toString(): string {
    return `value=${this.value}`;
  }
}

function checkNumber(value: unknown, call: string, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValueError(`${call}: ${what} must be a finite number, got ${typeof value === 'number' ? value : typeof value}`);
  }
  return value;
}

/** A number shared by green threads and async code: see the module documentation. */
export class SharedCounter extends SharedContainer<CounterCore> {
  /** A counter starting at `initial` (default 0). */
  constructor(initial = 0) {
    super([checkNumber(initial, 'SharedCounter()', 'the initial value')]);
  }

  /** The current value. */
  get value(): number {
    return this._call('scount.get');
  }

  /** Sets the value. */
  set(value: number): void {
    this._call('scount.set', [checkNumber(value, 'SharedCounter.set()', 'the value')]);
  }

  /** Adds `delta` (default 1); returns the new value. */
  increment(delta = 1): number {
    return this._call('scount.add', [checkNumber(delta, 'SharedCounter.increment()', 'delta')]);
  }

  /** Subtracts `delta` (default 1); returns the new value. */
  decrement(delta = 1): number {
    return this._call('scount.add', [-checkNumber(delta, 'SharedCounter.decrement()', 'delta')]);
  }

  /** Sets the value to `value`; returns the value it replaced. */
  getAndSet(value: number): number {
    return this._call('scount.getAndSet', [checkNumber(value, 'SharedCounter.getAndSet()', 'the value')]);
  }

  /** Sets the value to `value` if it is `expected` now; whether it did. */
  compareAndSet(expected: number, value: number): boolean {
    const call = 'SharedCounter.compareAndSet()';
    return this._call('scount.compareAndSet', [checkNumber(expected, call, 'expected'), checkNumber(value, call, 'the value')]);
  }
}

defineHubObject(SharedCounter, {
  name: 'SharedCounter',
  module: MODULE,
  create: ([initial]) => new CounterCore(initial as number),
});

// ---- operations ----------------------------------------------------------------------

registerSharedOperation('scount.get', (core: CounterCore) => core.value);
registerSharedOperation('scount.set', (core: CounterCore, value: number) => {
  core.value = value;
});
registerSharedOperation('scount.add', (core: CounterCore, delta: number) => (core.value += delta));
registerSharedOperation('scount.getAndSet', (core: CounterCore, value: number) => {
  const previous = core.value;
  core.value = value;
  return previous;
});
registerSharedOperation('scount.compareAndSet', (core: CounterCore, expected: number, value: number) => {
  if (core.value !== expected) return false;
  core.value = value;
  return true;
});
