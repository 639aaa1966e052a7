/**
 * How values cross threads: structured clone, plus what it loses.
 *
 * Structured clone keeps data (objects, arrays, Maps, typed arrays...) but
 * turns every error into a plain Error and a Buffer into a Uint8Array, and
 * refuses functions. At the top level of arguments and results this codec
 * restores what users rely on:
 * - errors are rebuilt as the same class on the other side, with `message`,
 *   `stack`, `code` and their other own fields. The class is the error's
 *   nearest registered class (its own, or an ancestor: greenloop's classes
 *   and the built-in ones are known, `registerErrorClass` adds an
 *   application's), found by the name it was registered under, so a class
 *   that does not set `name` crosses too; an error of no registered class
 *   but Error arrives as a plain Error keeping its `name`;
 * - an error that crossed from another thread keeps its stack from there,
 *   followed by a `--- crossed from green thread N into ... ---` line and
 *   the frames of the code that received it (greenloop's own frames left
 *   out): the green caller of `callAsync` or `GreenThread.wait()`; when a
 *   green thread's error is awaited on the loop's thread no user frame is
 *   on the stack there, and the line stands alone;
 * - a Uint8Array arrives as a Buffer (sharing its memory);
 * - a module-level function travels as a reference and is imported on the
 *   other side (see reference.ts);
 * - objects of registered kinds (green threads...) travel as handles; the
 *   hub counts the handles it lends to each worker (`lendArgs`), so it
 *   knows when no worker holds one any more.
 * Nested values are structured-cloned as they are.
 */
import * as loopErrors from '../../loop/errors.js';
import * as runtimeErrors from './errors.js';
import { isMainThread, threadId } from 'node:worker_threads';
import { userFrames } from './config.js';
import { functionRef, resolveRef, type FunctionRef } from './reference.js';
import { isHostedHub, poolWorkerState, type WorkerJob } from './worker-state.js';

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
  /** The registered name of its nearest registered class, when that is not `name`. */
  cls?: string;
  /** Where it was encoded: the Node thread, and what ran there. */
  origin?: { thread: number; label: string };
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
/** The name each registered class was registered under (the last one). */
const classNames = new Map<unknown, string>();
const valueCodecs = new Map<string, ValueCodec<unknown>>();

/**
 * Makes errors of class `cls` (and of its unregistered subclasses) rebuild
 * as instances of `cls` when they cross threads, with their `name`,
 * `message`, `stack`, `code` and other own fields. The class is sent by
 * `name` (the class's own name by default; pass another one when two
 * classes share a name), so both threads must register it: call it at the
 * top level of the module that exports the class, so every thread that
 * imports the module registers it. An error whose class is not registered
 * on the receiving thread arrives as its nearest registered ancestor there
 * (a plain Error at worst) keeping its `name`, `message`, `stack`, `code`
 * and other own fields.
 */
export function registerErrorClass(cls: ErrorClass, name: string = cls.name): void {
  errorClasses.set(name, cls);
  classNames.set(cls, name);
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
for (const module of [loopErrors, runtimeErrors]) {
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
  const encoded: EncodedError = { name: error.name, message: error.message, stack: error.stack, origin: here() };
  const cls = registeredClassOf(error);
  if (cls !== undefined && cls !== error.name) encoded.cls = cls;
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
  const cls = (encoded.cls === undefined ? undefined : errorClasses.get(encoded.cls)) ?? errorClasses.get(encoded.name) ?? Error;
  const error = Object.create(cls.prototype) as Error;
  const define = (key: string, value: unknown): void => {
    Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable: false });
  };
  define('message', encoded.message);
  if (encoded.stack !== undefined) define('stack', crossedStack(encoded.stack, encoded.origin));
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

/**
 * The registered name of the nearest registered class of `error`, or
 * undefined to go by `error.name` (a class registered under that name it
 * belongs to, or an Error renamed by hand, as Node names some of its errors).
 */
function registeredClassOf(error: Error): string | undefined {
  for (let proto = Object.getPrototypeOf(error) as object | null; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    const name = classNames.get((proto as { constructor?: unknown }).constructor);
    if (name === undefined) continue;
    if (name === error.name) return undefined;
    // A plain Error named by hand after a registered class goes by its name, as before.
    if (name === 'Error' && errorClasses.has(error.name)) return undefined;
    return name;
  }
  return undefined;
}

/**
 * The last job a worker decoded arguments for: the worker runtime reports a
 * job's outcome just after it cleared its current job, and that outcome's
 * error still belongs to it.
 */
let lastJob: WorkerJob | null = null;

/**
 * This thread, and what runs in it now, for the crossing line of stacks:
 * a green thread or thread-pool call of a worker, or the thread itself
 * (the main thread, usually running the event loop).
 */
function here(): { thread: number; label: string } {
  let label: string;
  if (poolWorkerState() !== null) {
    const job = poolWorkerState()?.job ?? lastJob;
    if (job === null) label = `worker thread ${threadId}`;
    else label = job.kind === 'green' ? `green thread ${job.id}` : `thread-pool call ${job.id}`;
  } else if (isHostedHub()) {
    label = 'the event loop thread';
  } else {
    label = isMainThread ? 'the main thread' : `thread ${threadId}`;
  }
  return { thread: threadId, label };
}

/**
 * `stack` from another thread, followed by the crossing and the frames of
 * the code receiving it here (greenloop's own frames left out).
 */
function crossedStack(stack: string, origin: EncodedError['origin']): string {
  if (origin === undefined || origin.thread === threadId) return stack;
  const frames = userFrames();
  return [stack, `    --- crossed from ${origin.label} into ${here().label} ---`, ...frames].join('\n');
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
  // No codec takes an array: its items travel as they are.
  if (Array.isArray(value)) return value;
  if (typeof value === 'function') return tagged('fn', functionRef(value, 'a function passed to another thread'));
  if (value instanceof Error) return tagged('error', encodeError(value));
  if (value instanceof Uint8Array) return value;
  for (const codec of valueCodecs.values()) {
    if (codec.matches(value)) return tagged(codec.tag, codec.encode(value));
  }
  return value;
}

/** Whether `value` crosses threads as a handle (a green thread, queue, socket...: a registered kind). */
export function isHandleValue(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  for (const codec of valueCodecs.values()) if (codec.matches(value)) return true;
  return false;
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
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
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
  lastJob = poolWorkerState()?.job ?? lastJob;
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
