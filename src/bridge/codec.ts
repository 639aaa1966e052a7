/**
 * How values cross threads: structured clone, plus what it loses.
 *
 * Structured clone keeps data (objects, arrays, Maps, typed arrays...) but
 * turns every error into a plain Error and a Buffer into a Uint8Array, and
 * refuses functions. At the top level of arguments and results this codec
 * restores what users rely on:
 * - errors are rebuilt as the same class on the other side, with `message`,
 *   `stack`, `code` and their other own fields (classes are found by `name`;
 *   greenloop's own classes and the built-in ones are known,
 *   `registerErrorClass` adds an application's);
 * - a Uint8Array arrives as a Buffer (sharing its memory);
 * - a module-level function travels as a reference and is imported on the
 *   other side (see reference.ts);
 * - objects of registered kinds (green threads...) travel as handles; the
 *   hub counts the handles it lends to each worker (`lendArgs`), so it
 *   knows when no worker holds one any more.
 * Nested values are structured-cloned as they are.
 */
import * as loopErrors from '../loop/errors.js';
import * as greenErrors from '../green/errors.js';
import * as bridgeErrors from './errors.js';
import { functionRef, resolveRef, type FunctionRef } from './reference.js';

/** The key marking an encoded special value; no user object carries it. */
const TAG = '\u0000greenloop';

/** An error as it crosses threads. */
export interface EncodedError {
  name: string;
  message: string;
  stack?: string;
  /** Own enumerable fields other than name/message/stack (code, errno, partial...). */
  props?: Record<string, unknown>;
  /** AggregateError's `errors`. */
  errors?: unknown[];
  cause?: unknown;
}

interface Tagged {
  [TAG]: string;
  d: unknown;
}

/** A kind of object that crosses threads as a handle (e.g. GreenThread). */
export interface ValueCodec<T> {
  readonly tag: string;
  matches(value: unknown): value is T;
  /** The handle's data. */
  encode(value: T): unknown;
  /** The object for a handle's data, on this thread. */
  decode(data: unknown): unknown;
  /** On the hub: the handle is about to be sent to worker `peer`. */
  lend?(data: unknown, peer: unknown): void;
}

type ErrorClass = abstract new (...args: never[]) => Error;

const errorClasses = new Map<string, ErrorClass>();
const valueCodecs = new Map<string, ValueCodec<unknown>>();

/**
 * Makes errors named `name` (the class's own name by default) rebuild as
 * instances of `cls` when they cross threads. Call it at module top level, so
 * every thread that imports the module registers the class.
 */
export function registerErrorClass(cls: ErrorClass, name: string = cls.name): void {
  errorClasses.set(name, cls);
}

/** Maps an error rebuilt on this thread to the object to raise (see `registerErrorReviver`). */
export type ErrorReviver = (error: Error) => Error;

const errorRevivers = new Map<string, ErrorReviver>();

/**
 * Passes every error named `name` rebuilt on this thread through `revive`,
 * which may return another object: e.g. the original error object, when the
 * error comes back to the thread that made it (a green Timeout). Call it at
 * module top level.
 */
export function registerErrorReviver(name: string, revive: ErrorReviver): void {
  errorRevivers.set(name, revive);
}

/** @internal Registers a kind of object that crosses threads as a handle. */
export function registerValueCodec<T>(codec: ValueCodec<T>): void {
  valueCodecs.set(codec.tag, codec as ValueCodec<unknown>);
}

for (const cls of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]) {
  registerErrorClass(cls);
}
for (const module of [loopErrors, bridgeErrors, greenErrors]) {
  for (const value of Object.values(module)) {
    if (typeof value === 'function' && value.prototype instanceof Error) registerErrorClass(value as ErrorClass);
  }
}

// ---- errors ------------------------------------------------------------------

const SKIPPED_PROPS = new Set(['name', 'message', 'stack', 'errors', 'cause']);

/** An error (or any thrown value) as plain data. */
export function encodeError(error: unknown): EncodedError {
  if (!(error instanceof Error)) {
    return { name: 'Error', message: `non-error value thrown: ${describeThrown(error)}`, props: { thrown: cloneable(error) } };
  }
  const encoded: EncodedError = { name: error.name, message: error.message, stack: error.stack };
  for (const key of Object.keys(error)) {
    if (SKIPPED_PROPS.has(key)) continue;
    const value = cloneable((error as unknown as Record<string, unknown>)[key]);
    if (value !== undefined) (encoded.props ??= {})[key] = value;
  }
  if (error instanceof AggregateError) encoded.errors = error.errors.map((inner) => encodeValue(inner));
  if (error.cause !== undefined) encoded.cause = encodeValue(error.cause);
  return encoded;
}

/** The error for `encoded`, as an instance of its registered class (Error otherwise). */
export function decodeError(encoded: EncodedError): Error {
  const cls = errorClasses.get(encoded.name) ?? Error;
  const error = Object.create(cls.prototype) as Error;
  const define = (key: string, value: unknown): void => {
    Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable: false });
  };
  define('message', encoded.message);
  if (encoded.stack !== undefined) define('stack', encoded.stack);
  if (encoded.errors !== undefined) define('errors', encoded.errors.map((inner) => decodeValue(inner)));
  if (encoded.cause !== undefined) define('cause', decodeValue(encoded.cause));
  // greenloop's classes set `name` as an own field; do the same for every class.
  (error as { name: string }).name = encoded.name;
  if (encoded.props !== undefined) {
    for (const [key, value] of Object.entries(encoded.props)) {
      (error as unknown as Record<string, unknown>)[key] = decodeValue(value);
    }
  }
  const revive = errorRevivers.get(encoded.name);
  return revive === undefined ? error : revive(error);
}

/** `value` if structured clone can copy it, else undefined (fields of errors only). */
function cloneable(value: unknown): unknown {
  const type = typeof value;
  if (type === 'function' || type === 'symbol') return undefined;
  if (value === null || type !== 'object') return value;
  if (value instanceof Error) return encodeValue(value);
  try {
    structuredClone(value);
    return value;
  } catch {
    return undefined;
  }
}

function describeThrown(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

// ---- values ------------------------------------------------------------------

/**
 * `value` ready for postMessage. Errors, functions and registered kinds are
 * replaced by tagged data; everything else is returned as is.
 */
export function encodeValue(value: unknown): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value;
  if (typeof value === 'function') return tagged('fn', functionRef(value, 'a function passed to another thread'));
  if (value instanceof Error) return tagged('error', encodeError(value));
  if (value instanceof Uint8Array) return value;
  for (const codec of valueCodecs.values()) {
    if (codec.matches(value)) return tagged(codec.tag, codec.encode(value));
  }
  return value;
}

/** Encodes each argument; returns `args` itself when nothing needs encoding. */
export function encodeArgs(args: readonly unknown[]): unknown[] {
  return mapArgs(args, encodeValue);
}

/**
 * The value for what `encodeValue` produced on the other side. Function
 * references stay references here: `decodeArgsAsync` imports them.
 */
export function decodeValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) {
    return value.constructor === Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
  }
  const tag = (value as Partial<Tagged>)[TAG];
  if (tag === undefined) return value;
  const data = (value as Tagged).d;
  if (tag === 'error') return decodeError(data as EncodedError);
  if (tag === 'fn') return value;
  const codec = valueCodecs.get(tag);
  return codec === undefined ? value : codec.decode(data);
}

/** Decodes each argument (sync: function references are left as they are). */
export function decodeArgs(args: readonly unknown[]): unknown[] {
  return mapArgs(args, decodeValue);
}

/** Decodes each argument, importing the functions passed by reference. */
export async function decodeArgsAsync(args: readonly unknown[]): Promise<unknown[]> {
  const decoded = decodeArgs(args);
  if (!decoded.some(isFunctionTag)) return decoded;
  return Promise.all(decoded.map((arg) => (isFunctionTag(arg) ? resolveRef(arg.d) : arg)));
}

/** On the hub: records the handles among encoded `value` as lent to worker `peer`. */
export function lendValue(value: unknown, peer: unknown): void {
  if (value === null || typeof value !== 'object') return;
  const tag = (value as Partial<Tagged>)[TAG];
  if (tag === undefined) return;
  valueCodecs.get(tag)?.lend?.((value as Tagged).d, peer);
}

/** `lendValue` for each encoded argument. */
export function lendArgs(args: readonly unknown[], peer: unknown): void {
  for (const arg of args) lendValue(arg, peer);
}

function mapArgs(args: readonly unknown[], map: (value: unknown) => unknown): unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const mapped = map(arg);
    if (mapped !== arg && out === null) out = args.slice(0, i);
    if (out !== null) out.push(mapped);
  }
  return out ?? (args as unknown[]);
}

/** Whether decoded arguments still hold function references (to import with decodeArgsAsync). */
export function hasFunctionArgs(args: readonly unknown[]): boolean {
  return args.some(isFunctionTag);
}

function isFunctionTag(value: unknown): value is { d: FunctionRef } {
  return value !== null && typeof value === 'object' && (value as Partial<Tagged>)[TAG] === 'fn';
}

function tagged(tag: string, data: unknown): Tagged {
  return { [TAG]: tag, d: data };
}
