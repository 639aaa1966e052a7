/**
 * `SharedMap`: a map that every green thread of the process and async code
 * on the loop share, for the module-level dicts legacy green code keeps
 * (sessions by id, connections by peer...), which green threads, being
 * workers, would otherwise each have a copy of.
 *
 * The map lives on the hub (hub-object.ts) and crosses threads as a handle,
 * like a green Queue: create it once (in the main flow, or in async code)
 * and pass it along (a `spawn` argument, a queue item, a value of another
 * container). A module-level `new SharedMap()` in a module green threads
 * import would run once per thread and make one map per thread.
 *
 * Guarantees:
 * - every method is one operation on the hub, atomic with respect to every
 *   other thread and task (the hub runs one at a time): `setDefault`,
 *   `pop`, `getAndSet`, `compareAndSet`, `increment` and `update` read and
 *   write in one step, so concurrent green threads lose no update;
 * - keys are primitives (strings, numbers, bigints, booleans, null,
 *   undefined); values are copied in and out by structured clone, on every
 *   side (shared-value.ts): mutating an object read from the map does not
 *   change the map, and what cannot be copied faithfully (functions, class
 *   instances, green objects nested in a value) is refused with
 *   NotShareableError before anything is stored;
 * - a green object (socket, queue, event, green thread, another container)
 *   stored as a value of its own crosses as a handle and is held by the
 *   map until it is removed;
 * - the map lives while any green thread holds a handle to it or async
 *   code can reach it, and is released after that.
 * Snapshots (`keys()`, `values()`, `entries()`, iteration) are arrays
 * taken in one step, not live views.
 */
import { isDeepStrictEqual } from 'node:util';
import { ValueError } from '../loop/errors.js';
import { HubCore, defineHubObject } from './hub-object.js';
import { functionRef, isHandleValue, type AnyFunction } from './runtime/index.js';
import { SharedContainer, registerSharedOperation } from './shared-container.js';
import {
  NotShareableError,
  ValueList,
  checkKey,
  checkShareable,
  copyValue,
  pairs,
  type SharedKey,
} from './shared-value.js';

const MODULE = import.meta.url;

/** A function `update()` runs on the hub: the key's current value (undefined if absent), then the extra arguments. */
export type UpdateFunction<V, A extends unknown[]> = (current: V | undefined, ...args: A) => V | undefined;

class MapCore extends HubCore {
  readonly map = new Map<SharedKey, unknown>();

  /** `entries`: checked and copied. */
  constructor(entries: readonly [SharedKey, unknown][]) {
    super();
    for (const [key, value] of entries) this.map.set(key, value);
  }

  setDefault(key: SharedKey, value: unknown): unknown {
    if (this.map.has(key)) return this.map.get(key);
    this.map.set(key, value);
    return value;
  }

  compareAndSet(key: SharedKey, expected: unknown, value: unknown): boolean {
    if (!sameValue(this.map.get(key), expected)) return false;
    this.map.set(key, value);
    return true;
  }

  increment(key: SharedKey, delta: number): number {
    const current = this.map.get(key) ?? 0;
    if (typeof current !== 'number') {
      throw new ValueError(`SharedMap.increment(): the value of ${String(key)} is a ${typeof current}, not a number`);
    }
    const next = current + delta;
    this.map.set(key, next);
    return next;
  }

  update(key: SharedKey, fn: AnyFunction, args: unknown[]): unknown {
    const current = this.map.get(key);
    const next = (fn as (...values: unknown[]) => unknown)(copyValue(current), ...args);
    if (typeof (next as { then?: unknown } | null)?.then === 'function') {
      throw new NotShareableError(
        `SharedMap.update(): ${fn.name}() returned a promise; update functions run synchronously on the hub and ` +
          `return the new value`,
      );
    }
    if (next === undefined) {
      this.map.delete(key);
      return undefined;
    }
    checkShareable(next, `SharedMap.update(): the result of ${fn.name}()`);
    const stored = copyValue(next);
    this.map.set(key, stored);
    return stored;
  }

  override toString(): string {
    return `size=${this.map.size}`;
  }
}

/** Expected values compare by identity for green objects, else structurally. */
function sameValue(current: unknown, expected: unknown): boolean {
  if (isHandleValue(current) || isHandleValue(expected)) return current === expected;
  return isDeepStrictEqual(current, expected);
}

/** A map shared by green threads and async code: see the module documentation. */
export class SharedMap<K extends SharedKey = SharedKey, V = unknown> extends SharedContainer<MapCore> {
  /**
   * A map holding copies of `entries`, if given. Their values are data:
   * store green objects with `set()` once the map exists.
   */
  constructor(entries: Iterable<readonly [K, V]> = []) {
    super([copyValue(checkEntries(entries))]);
  }

  /** How many keys the map holds. */
  get size(): number {
    return this._call('smap.size');
  }

  /** The value of `key` (a copy), or `fallback` if the map has no such key. */
  get(key: K): V | undefined;
  get<D>(key: K, fallback: D): V | D;
  get<D>(key: K, fallback?: D): V | D | undefined {
    return this._call('smap.get', [checkKey(key, 'SharedMap.get()'), fallback]);
  }

  /** Whether the map has `key`. */
  has(key: K): boolean {
    return this._call('smap.has', [checkKey(key, 'SharedMap.has()')]);
  }

  /** Stores a copy of `value` under `key`; returns the map. */
  set(key: K, value: V): this {
    this._call('smap.set', [checkKey(key, 'SharedMap.set()'), checked(value, 'SharedMap.set()')]);
    return this;
  }

  /** Removes `key`; whether it was there. */
  delete(key: K): boolean {
    return this._call('smap.delete', [checkKey(key, 'SharedMap.delete()')]);
  }

  /** Removes every key. */
  clear(): void {
    this._call('smap.clear');
  }

  /** The keys, in insertion order (a snapshot). */
  keys(): K[] {
    return this._call('smap.keys');
  }

  /** Copies of the values, in insertion order (a snapshot). */
  values(): V[] {
    return this._call('smap.values');
  }

  /** `[key, value]` pairs, in insertion order (a snapshot; values are copies). */
  entries(): [K, V][] {
    return pairs<K, V>(this._call<unknown[]>('smap.entries'));
  }

  /** Iterates over a snapshot of `entries()`. */
  [Symbol.iterator](): Iterator<[K, V]> {
    return this.entries()[Symbol.iterator]();
  }

  /** Python's `dict.setdefault`: the value of `key`, after storing `value` there if it had none. */
  setDefault(key: K, value: V): V {
    return this._call('smap.setDefault', [checkKey(key, 'SharedMap.setDefault()'), checked(value, 'SharedMap.setDefault()')]);
  }

  /** Removes `key` and returns its value, or `fallback` if the map had no such key. */
  pop(key: K): V | undefined;
  pop<D>(key: K, fallback: D): V | D;
  pop<D>(key: K, fallback?: D): V | D | undefined {
    return this._call('smap.pop', [checkKey(key, 'SharedMap.pop()'), fallback]);
  }

  /** Stores `value` under `key` and returns the value it replaced (undefined if none). */
  getAndSet(key: K, value: V): V | undefined {
    return this._call('smap.getAndSet', [checkKey(key, 'SharedMap.getAndSet()'), checked(value, 'SharedMap.getAndSet()')]);
  }

  /**
   * Stores `value` under `key` if its value now equals `expected` (deep
   * equality; identity for green objects; undefined matches a missing key);
   * whether it did.
   */
  compareAndSet(key: K, expected: V | undefined, value: V): boolean {
    const call = 'SharedMap.compareAndSet()';
    return this._call('smap.compareAndSet', [checkKey(key, call), checked(expected, call), checked(value, call)]);
  }

  /** Adds `delta` (default 1) to the number under `key` (0 if missing); the new number. ValueError if not a number. */
  increment(key: K, delta = 1): number {
    if (typeof delta !== 'number' || !Number.isFinite(delta)) {
      throw new ValueError(`SharedMap.increment(): delta must be a finite number, got ${String(delta)}`);
    }
    return this._call('smap.increment', [checkKey(key, 'SharedMap.increment()'), delta]);
  }

  /**
   * Replaces the value of `key` with `fn(current, ...args)` in one step,
   * and returns the new value. `fn` runs on the hub, so it must be a
   * module-level exported function (as a `spawn` target: NotModuleLevelError
   * otherwise) that returns at once, without green calls; it gets a copy of
   * the current value (undefined if absent) and `args` (copied). Returning
   * undefined removes the key. An error thrown by `fn` leaves the map
   * unchanged and is raised here.
   */
  update<A extends unknown[]>(key: K, fn: UpdateFunction<V, A>, ...args: A): V | undefined {
    const call = 'SharedMap.update()';
    functionRef(fn, `the ${call} function`);
    args.forEach((arg) => checkShareable(arg, `${call} (an argument for ${fn.name}())`));
    return this._call('smap.update', [checkKey(key, call), fn, ...args]);
  }
}

defineHubObject(SharedMap, {
  name: 'SharedMap',
  module: MODULE,
  create: ([entries]) => new MapCore(entries as [SharedKey, unknown][]),
});

function checked<T>(value: T, call: string): T {
  checkShareable(value, call);
  return value;
}

/** `entries` as an array of checked pairs; green objects are refused (nested in pairs, they would not cross as handles). */
function checkEntries(entries: Iterable<readonly [unknown, unknown]>): [SharedKey, unknown][] {
  const checkedPairs: [SharedKey, unknown][] = [];
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length < 2) throw new TypeError('SharedMap(): each entry must be a [key, value] pair');
    const value: unknown = entry[1];
    if (isHandleValue(value)) {
      throw new NotShareableError('SharedMap(): an initial value is a green object; set() it once the map exists');
    }
    checkedPairs.push([checkKey(entry[0], 'SharedMap()'), checked(value, 'SharedMap()')]);
  }
  return checkedPairs;
}

// ---- operations ----------------------------------------------------------------------

registerSharedOperation('smap.size', (core: MapCore) => core.map.size);
registerSharedOperation('smap.get', (core: MapCore, key: SharedKey, fallback: unknown) =>
  core.map.has(key) ? core.map.get(key) : fallback,
);
registerSharedOperation('smap.has', (core: MapCore, key: SharedKey) => core.map.has(key));
registerSharedOperation('smap.set', (core: MapCore, key: SharedKey, value: unknown) => {
  core.map.set(key, value);
});
registerSharedOperation('smap.delete', (core: MapCore, key: SharedKey) => core.map.delete(key));
registerSharedOperation('smap.clear', (core: MapCore) => core.map.clear());
registerSharedOperation('smap.keys', (core: MapCore) => new ValueList([...core.map.keys()]));
registerSharedOperation('smap.values', (core: MapCore) => new ValueList([...core.map.values()]));
registerSharedOperation('smap.entries', (core: MapCore) => new ValueList([...core.map].flat()));
registerSharedOperation('smap.setDefault', (core: MapCore, key: SharedKey, value: unknown) => core.setDefault(key, value));
registerSharedOperation('smap.pop', (core: MapCore, key: SharedKey, fallback: unknown) => {
  if (!core.map.has(key)) return fallback;
  const value = core.map.get(key);
  core.map.delete(key);
  return value;
});
registerSharedOperation('smap.getAndSet', (core: MapCore, key: SharedKey, value: unknown) => {
  const previous = core.map.get(key);
  core.map.set(key, value);
  return previous;
});
registerSharedOperation('smap.compareAndSet', (core: MapCore, key: SharedKey, expected: unknown, value: unknown) =>
  core.compareAndSet(key, expected, value),
);
registerSharedOperation('smap.increment', (core: MapCore, key: SharedKey, delta: number) => core.increment(key, delta));
registerSharedOperation('smap.update', (core: MapCore, key: SharedKey, fn: AnyFunction, ...args: unknown[]) =>
  core.update(key, fn, args),
);
