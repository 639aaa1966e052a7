/**
 * What the shared containers (SharedMap, SharedSet, SharedCounter) hold,
 * and how values get in and out of them.
 *
 * Green threads share no memory, so a container lives on the hub and a
 * value crosses into it and out of it by structured clone: a stored object
 * is a copy, and mutating an object read back does not change the
 * container. The same holds for async code on the hub's thread (the
 * container copies there too), so code behaves the same on either side of
 * a migration. What structured clone would silently change is refused
 * here, before anything crosses, with NotShareableError:
 * - functions and symbols (anywhere in the value);
 * - instances of classes other than the built-in data classes (they would
 *   come back as plain objects without their methods);
 * - green objects (queues, events, sockets, green threads, containers)
 *   nested inside a value: they cross threads as handles only at the top
 *   level of a value, so store them as values of their own.
 * Keys of a SharedMap and members of a SharedSet are primitives (strings,
 * numbers, bigints, booleans, null, undefined), compared as a JS Map does:
 * an object would be a new copy at every crossing and never equal to
 * itself.
 */
import { GreenloopError } from '../loop/errors.js';
import {
  decodeError,
  decodeValue,
  encodeError,
  encodeValue,
  isHandleValue,
  lendValue,
  registerErrorClass,
  registerValueCodec,
} from './runtime/index.js';

/** A key of a SharedMap or member of a SharedSet. */
export type SharedKey = string | number | bigint | boolean | null | undefined;

/**
 * A value, key or member a shared container cannot hold (see the module
 * documentation of shared-value.ts): the message names the call, where in
 * the value the problem is, and what to store instead.
 */
export class NotShareableError extends GreenloopError {
  constructor(message: string) {
    super(message);
    this.name = 'NotShareableError';
  }
}

registerErrorClass(NotShareableError);

/** NotShareableError unless `key` is a primitive other than a symbol. */
export function checkKey(key: unknown, call: string): SharedKey {
  const type = typeof key;
  if (key === null || (type !== 'object' && type !== 'function' && type !== 'symbol')) return key as SharedKey;
  throw new NotShareableError(
    `${call}: keys and set members must be strings, numbers, bigints, booleans, null or undefined, got ` +
      `${describe(key)}: an object is copied at every crossing, so it would never be found again; key by an id instead`,
  );
}

/** Built-in classes structured clone copies faithfully. */
const DATA_CLASSES: readonly (abstract new (...args: never[]) => object)[] = [
  Date,
  RegExp,
  ArrayBuffer,
  DataView,
  Boolean,
  Number,
  String,
];

/** NotShareableError unless structured clone can copy `value` without changing what it is. */
export function checkShareable(value: unknown, call: string): void {
  if (value !== null && typeof value === 'object' && isHandleValue(value)) return;
  walk(value, call, 'the value', new Set());
}

function walk(value: unknown, call: string, where: string, seen: Set<object>): void {
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new NotShareableError(`${call}: ${where} is a ${typeof value}, which cannot cross threads; store plain data`);
  }
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isHandleValue(value)) {
    throw new NotShareableError(
      `${call}: ${where} is a green object (${describe(value)}) inside another value; green objects cross threads ` +
        `as handles only at the top level of a value: store it as a value of its own`,
    );
  }
  if (value instanceof Error || ArrayBuffer.isView(value) || DATA_CLASSES.some((cls) => value instanceof cls)) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, call, `${where}[${i}]`, seen));
  } else if (value instanceof Map) {
    for (const [key, item] of value) {
      walk(key, call, `a key of ${where}`, seen);
      walk(item, call, `${where}.get(${describeKey(key)})`, seen);
    }
  } else if (value instanceof Set) {
    for (const item of value) walk(item, call, `a member of ${where}`, seen);
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) walk(item, call, `${where}.${key}`, seen);
  } else {
    throw new NotShareableError(
      `${call}: ${where} is ${describe(value)}, which structured clone would turn into a plain object without ` +
        `its class; store plain data (objects, arrays, Maps, Sets, Dates, Buffers...)`,
    );
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || proto === Object.prototype;
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return typeof value;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `an instance of ${name}` : 'an object';
}

function describeKey(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : typeof key === 'object' ? '{...}' : String(key);
}

/**
 * A copy of `value` (checked by `checkShareable`), as a crossing to another
 * thread would make: green objects stay themselves (the same object on the
 * hub), errors keep their class, Buffers stay Buffers.
 */
export function copyValue<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (isHandleValue(value)) return value;
  if (value instanceof Error) return decodeError(encodeError(value)) as T;
  if (Buffer.isBuffer(value)) return Buffer.from(value) as T;
  return structuredClone(value);
}

// ---- lists that cross with their handles ---------------------------------------------

/**
 * A list of values whose every element crosses as a top-level value
 * (green objects as handles, counted for the receiving worker). The
 * snapshots of a container (`values()`, `entries()`) reach a green thread
 * as one, and arrive there as a plain array.
 */
export class ValueList {
  constructor(readonly items: readonly unknown[]) {}
}

registerValueCodec<ValueList>({
  tag: 'vlist',
  matches: (value): value is ValueList => value instanceof ValueList,
  encode: (list) => list.items.map(encodeValue),
  decode: (data) => (data as unknown[]).map(decodeValue),
  lend: (data, peer) => {
    for (const item of data as unknown[]) lendValue(item, peer);
  },
});

/** `[k1, v1, k2, v2...]` as `[[k1, v1], [k2, v2]...]`. */
export function pairs<K, V>(flat: readonly unknown[]): [K, V][] {
  const out: [K, V][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as K, flat[i + 1] as V]);
  return out;
}
