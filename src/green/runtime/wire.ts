/**
 * The channel's messages as bytes, for the shared-memory rings (pipe.ts).
 *
 * Structured clone (postMessage) is exact but costly for the small messages
 * green threads exchange all the time: `sock.recv(5, 1024)`, a reply
 * carrying 100 bytes. This codec writes the common shapes directly:
 * undefined, null, booleans, numbers, strings, Uint8Arrays (a Buffer is one),
 * arrays and plain objects, nested. Anything else (a Map, a Date, a BigInt,
 * an object or Uint8Array met twice, a class instance, a Proxy, an array
 * with holes or named fields, bytes over a SharedArrayBuffer, an id past
 * int32) makes
 * `encodeMessage` return -1, and the message goes by structured clone
 * instead (pipe.ts), so what arrives is always what structured clone gives:
 * Uint8Arrays and Buffers arrive as Uint8Arrays that own their memory,
 * strings keep lone surrogates (they travel as UTF-16), -0 and NaN stay.
 *
 * A message is an envelope (protocol.ts) whose fields are written in a
 * fixed order after a kind byte, then its value.
 */
import { types } from 'node:util';
import type { DoneMessage, OpMessage, PushMessage, ReleaseMessage, ReplyMessage } from './protocol.js';

export type WireMessage = OpMessage | DoneMessage | ReleaseMessage | ReplyMessage | PushMessage;

const KIND_OP = 1;
const KIND_DONE = 2;
const KIND_RELEASE = 3;
const KIND_REPLY = 4;
const KIND_PUSH = 5;

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_INT = 4;
const T_FLOAT = 5;
const T_STRING = 6;
const T_BYTES = 7;
const T_ARRAY = 8;
const T_OBJECT = 9;

/** An op's optional fields, as bits of its flags byte. */
const HAS_TIMEOUT = 1;
const HAS_MODULE = 2;

/** Containers (arrays, objects) a message may hold before it goes by structured clone instead. */
const MAX_CONTAINERS = 64;
/** Nesting depth past which a message goes by structured clone instead. */
const MAX_DEPTH = 16;

/** Thrown inside the encoder when a value is not for the wire; never escapes this module. */
const NOT_WIRE = Symbol('not wire');

/** Encodes messages into a reusable scratch buffer. */
export class WireWriter {
  private bytes: Buffer;
  private view: DataView;
  private at = 0;
  private containers: object[] = [];
  private bytesSeen: Uint8Array[] = [];

  /** `limit`: the largest encoding wanted; a bigger message gives up (-1). */
  constructor(private readonly limit: number) {
    this.bytes = Buffer.allocUnsafeSlow(Math.min(limit, 4096));
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  /** The encoding of the last `encodeMessage`, valid until the next call. */
  get encoded(): Uint8Array {
    return this.bytes.subarray(0, this.at);
  }

  /** Copies the last encoding into `target` at `offset` (no view is made). */
  copyTo(target: Uint8Array, offset: number): void {
    this.bytes.copy(target, offset, 0, this.at);
  }

  /** Encodes `message`; returns its length in bytes, or -1 if it must go by structured clone. */
  encodeMessage(message: WireMessage): number {
    this.at = 0;
    this.containers.length = 0;
    this.bytesSeen.length = 0;
    try {
      this.envelope(message);
    } catch (error) {
      if (error === NOT_WIRE) return -1;
      throw error;
    }
    return this.at;
  }

  private envelope(message: WireMessage): void {
    if ('o' in message) {
      this.u8(KIND_OP);
      this.id(message.s);
      this.u8((message.t === undefined ? 0 : HAS_TIMEOUT) | (message.m === undefined ? 0 : HAS_MODULE));
      if (message.t !== undefined) this.f64(message.t);
      if (message.m !== undefined) this.string(message.m);
      this.string(message.o);
      this.value(message.a, 0);
    } else if ('d' in message) {
      this.u8(KIND_DONE);
      this.id(message.d);
      this.u8(message.ok ? 1 : 0);
      this.value(message.v, 0);
    } else if ('x' in message) {
      this.u8(KIND_RELEASE);
      this.string(message.x);
      this.value(message.ids, 0);
    } else if ('r' in message) {
      this.u8(KIND_REPLY);
      this.id(message.r);
      this.u8(message.ok ? 1 : 0);
      this.value(message.v, 0);
    } else {
      this.u8(KIND_PUSH);
      this.string(message.p);
      this.value(message.v, 0);
    }
  }

  private value(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'undefined':
        this.u8(T_UNDEFINED);
        return;
      case 'boolean':
        this.u8(value ? T_TRUE : T_FALSE);
        return;
      case 'number':
        if ((value | 0) === value && !Object.is(value, -0)) {
          this.u8(T_INT);
          this.i32(value);
        } else {
          this.u8(T_FLOAT);
          this.f64(value);
        }
        return;
      case 'string':
        this.u8(T_STRING);
        this.string(value);
        return;
      case 'object':
        if (value === null) this.u8(T_NULL);
        else this.object(value, depth);
        return;
      default:
        throw NOT_WIRE;
    }
  }

  private object(value: object, depth: number): void {
    if (types.isProxy(value)) throw NOT_WIRE;
    if (value instanceof Uint8Array) {
      // Shared memory stays shared, and one object stays one, only by structured clone.
      if (!(value.buffer instanceof ArrayBuffer) || this.bytesSeen.includes(value)) throw NOT_WIRE;
      this.bytesSeen.push(value);
      this.u8(T_BYTES);
      this.u32(value.byteLength);
      this.reserve(value.byteLength);
      this.bytes.set(value, this.at);
      this.at += value.byteLength;
      return;
    }
    if (depth >= MAX_DEPTH || this.containers.length >= MAX_CONTAINERS || this.containers.includes(value)) throw NOT_WIRE;
    this.containers.push(value);
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Array.prototype) {
      const array = value as unknown[];
      // Holes and named fields: only structured clone keeps them.
      if (Object.keys(array).length !== array.length) throw NOT_WIRE;
      this.u8(T_ARRAY);
      this.u32(array.length);
      for (const item of array) this.value(item, depth + 1);
    } else if (proto === Object.prototype) {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      this.u8(T_OBJECT);
      this.u32(keys.length);
      for (const key of keys) {
        this.string(key);
        this.value(record[key], depth + 1);
      }
    } else {
      throw NOT_WIRE;
    }
  }

  /** An envelope number (call, job or reply id): int32 on the wire; any other goes by structured clone. */
  private id(value: number): void {
    if ((value | 0) !== value || Object.is(value, -0)) throw NOT_WIRE;
    this.i32(value);
  }

  private string(value: string): void {
    const size = value.length * 2;
    this.u32(size);
    this.reserve(size);
    this.at += this.bytes.write(value, this.at, size, 'utf16le');
  }

  private u8(value: number): void {
    this.reserve(1);
    this.bytes[this.at++] = value;
  }

  private i32(value: number): void {
    this.reserve(4);
    this.view.setInt32(this.at, value, true);
    this.at += 4;
  }

  private u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.at, value, true);
    this.at += 4;
  }

  private f64(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.at, value, true);
    this.at += 8;
  }

  private reserve(size: number): void {
    const needed = this.at + size;
    if (needed <= this.bytes.length) return;
    if (needed > this.limit) throw NOT_WIRE;
    const grown = Buffer.allocUnsafeSlow(Math.min(this.limit, Math.max(needed, this.bytes.length * 2)));
    this.bytes.copy(grown, 0, 0, this.at);
    this.bytes = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }
}

/** Decodes messages from a region of shared memory. */
export class WireReader {
  private readonly bytes: Buffer;
  private readonly view: DataView;
  private at = 0;

  constructor(memory: SharedArrayBuffer, offset: number, length: number) {
    this.bytes = Buffer.from(memory, offset, length);
    this.view = new DataView(memory, offset, length);
  }

  /** The message encoded at `[start, start + length)` of the region. Copies what it keeps. */
  decodeMessage(start: number, length: number): WireMessage {
    this.at = start;
    const end = start + length;
    const message = this.envelope();
    if (this.at !== end) throw new Error(`corrupt channel frame: decoded ${this.at - start} of ${length} bytes`);
    return message;
  }

  private envelope(): WireMessage {
    const kind = this.u8();
    switch (kind) {
      case KIND_OP: {
        const s = this.i32();
        const flags = this.u8();
        const t = flags & HAS_TIMEOUT ? this.f64() : undefined;
        const m = flags & HAS_MODULE ? this.string() : undefined;
        const o = this.string();
        const a = this.value() as unknown[];
        const op: { s: number; o: string; a: unknown[]; t?: number; m?: string } = { s, o, a };
        if (t !== undefined) op.t = t;
        if (m !== undefined) op.m = m;
        return op;
      }
      case KIND_DONE:
        return { d: this.i32(), ok: this.u8() === 1, v: this.value() };
      case KIND_RELEASE:
        return { x: this.string(), ids: this.value() as [number, number][] };
      case KIND_REPLY:
        return { r: this.i32(), ok: this.u8() === 1, v: this.value() };
      case KIND_PUSH:
        return { p: this.string(), v: this.value() };
      default:
        throw new Error(`corrupt channel frame: message kind ${kind}`);
    }
  }

  private value(): unknown {
    const tag = this.u8();
    switch (tag) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_INT:
        return this.i32();
      case T_FLOAT:
        return this.f64();
      case T_STRING:
        return this.string();
      case T_BYTES: {
        const size = this.u32();
        const copy = new Uint8Array(size);
        this.bytes.copy(copy, 0, this.at, this.at + size);
        this.at += size;
        return copy;
      }
      case T_ARRAY: {
        const array = new Array<unknown>(this.u32());
        for (let i = 0; i < array.length; i++) array[i] = this.value();
        return array;
      }
      case T_OBJECT: {
        const record: Record<string, unknown> = {};
        for (let count = this.u32(); count > 0; count--) {
          const key = this.string();
          const value = this.value();
          // An own '__proto__' field stays a field, as structured clone keeps it.
          if (key === '__proto__') Object.defineProperty(record, key, { value, writable: true, enumerable: true, configurable: true });
          else record[key] = value;
        }
        return record;
      }
      default:
        throw new Error(`corrupt channel frame: value tag ${tag}`);
    }
  }

  private string(): string {
    const size = this.u32();
    const text = this.bytes.toString('utf16le', this.at, this.at + size);
    this.at += size;
    return text;
  }

  private u8(): number {
    return this.bytes[this.at++];
  }

  private i32(): number {
    const value = this.view.getInt32(this.at, true);
    this.at += 4;
    return value;
  }

  private u32(): number {
    const value = this.view.getUint32(this.at, true);
    this.at += 4;
    return value;
  }

  private f64(): number {
    const value = this.view.getFloat64(this.at, true);
    this.at += 8;
    return value;
  }
}
