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
 *
 * The envelope's names (an operation's name and module, a push's kind, a
 * release's tag) repeat on every message, so a pipe sends each one once: the
 * sender's `WireNames` numbers the names it has sent, a message carries the
 * number of a name already defined, and the reader keeps the names it was
 * given in that order. A definition counts only once its frame is in the
 * ring (`commit`): a message that goes by structured clone instead defines
 * nothing.
 *
 * An operation's arguments array is the runtime's own (the handler gets
 * them spread), so it is written without the check for holes and named
 * fields that a value array gets.
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

/** What a slot of the writer's `seen` list holds once its message is written. */
const NOTHING = {};

/** How an envelope name is written: inline, as a reference to a defined number, or defining one. */
const NAME_INLINE = 0;
const NAME_REF = 1;
const NAME_DEFINE = 2;
/** Names a pipe numbers at most; any further name is written inline every time. */
const MAX_NAMES = 1024;

/**
 * The names a pipe's sender has defined for its reader, by number. One per
 * sending end of a pipe: its reader holds the same list.
 */
export class WireNames {
  private readonly numbers = new Map<string, number>();
  /** Defined by the message being written, counted only if it is sent through the ring. */
  private readonly defining: string[] = [];

  /** The number of `name` if the reader knows it, else -1. */
  numberOf(name: string): number {
    return this.numbers.get(name) ?? -1;
  }

  /** A number for `name`, defined by the message being written; -1 if the table is full. */
  define(name: string): number {
    const pending = this.defining.indexOf(name);
    if (pending >= 0) return this.numbers.size + pending;
    if (this.numbers.size + this.defining.length >= MAX_NAMES) return -1;
    this.defining.push(name);
    return this.numbers.size + this.defining.length - 1;
  }

  /** The message was written into the ring: its definitions hold. */
  commit(): void {
    if (this.defining.length === 0) return;
    for (const name of this.defining) this.numbers.set(name, this.numbers.size);
    this.defining.length = 0;
  }

  /** The message did not go into the ring: its definitions never reach the reader. */
  discard(): void {
    if (this.defining.length > 0) this.defining.length = 0;
  }
}

/** Encodes messages into a reusable scratch buffer. */
export class WireWriter {
  private bytes: Buffer;
  private view: DataView;
  private at = 0;
  /** The containers and byte arrays of the message being written, to meet each only once. */
  private readonly seen: object[] = [];
  private seenCount = 0;
  private containerCount = 0;
  private names: WireNames | null = null;

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

  /**
   * Encodes `message`; returns its length in bytes, or -1 if it must go by
   * structured clone. `names`: the sending pipe's table (names are written
   * inline without one); the caller commits or discards what it defined.
   */
  encodeMessage(message: WireMessage, names: WireNames | null = null): number {
    this.at = 0;
    this.seenCount = 0;
    this.containerCount = 0;
    this.names = names;
    try {
      this.envelope(message);
    } catch (error) {
      if (error === NOT_WIRE) return -1;
      throw error;
    } finally {
      this.names = null;
      // Drop the references, so the scratch keeps no message's values alive.
      for (let i = 0; i < this.seenCount; i++) this.seen[i] = NOTHING;
    }
    return this.at;
  }

  private envelope(message: WireMessage): void {
    if ('o' in message) {
      this.u8(KIND_OP);
      this.id(message.s);
      this.u8((message.t === undefined ? 0 : HAS_TIMEOUT) | (message.m === undefined ? 0 : HAS_MODULE));
      if (message.t !== undefined) this.f64(message.t);
      if (message.m !== undefined) this.name(message.m);
      this.name(message.o);
      this.args(message.a);
    } else if ('d' in message) {
      this.u8(KIND_DONE);
      this.id(message.d);
      this.u8(message.ok ? 1 : 0);
      this.value(message.v, 0);
    } else if ('x' in message) {
      this.u8(KIND_RELEASE);
      this.name(message.x);
      this.value(message.ids, 0);
    } else if ('r' in message) {
      this.u8(KIND_REPLY);
      this.id(message.r);
      this.u8(message.ok ? 1 : 0);
      this.value(message.v, 0);
    } else {
      this.u8(KIND_PUSH);
      this.name(message.p);
      this.value(message.v, 0);
    }
  }

  /** An envelope name: a number the reader knows, a definition, or inline. */
  private name(value: string): void {
    const names = this.names;
    if (names === null) {
      this.u8(NAME_INLINE);
      this.string(value);
      return;
    }
    const known = names.numberOf(value);
    if (known >= 0) {
      this.u8(NAME_REF);
      this.u32(known);
      return;
    }
    const defined = names.define(value);
    this.u8(defined < 0 ? NAME_INLINE : NAME_DEFINE);
    if (defined >= 0) this.u32(defined);
    this.string(value);
  }

  /** An operation's arguments: the runtime's own dense array (see the module documentation). */
  private args(args: readonly unknown[]): void {
    if (!Array.isArray(args) || types.isProxy(args) || ++this.containerCount > MAX_CONTAINERS) throw NOT_WIRE;
    this.u8(T_ARRAY);
    this.u32(args.length);
    for (let i = 0; i < args.length; i++) this.value(args[i], 1);
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
      if (!(value.buffer instanceof ArrayBuffer)) throw NOT_WIRE;
      this.meet(value);
      this.u8(T_BYTES);
      this.u32(value.byteLength);
      this.reserve(value.byteLength);
      this.bytes.set(value, this.at);
      this.at += value.byteLength;
      return;
    }
    if (depth >= MAX_DEPTH || ++this.containerCount > MAX_CONTAINERS) throw NOT_WIRE;
    this.meet(value);
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

  /** Notes that the message holds `value`; a message that holds one twice goes by structured clone. */
  private meet(value: object): void {
    const seen = this.seen;
    for (let i = 0; i < this.seenCount; i++) if (seen[i] === value) throw NOT_WIRE;
    seen[this.seenCount++] = value;
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
  /** The names the sender defined, by number (see WireNames). */
  private readonly names: string[] = [];

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
        const m = flags & HAS_MODULE ? this.name() : undefined;
        const o = this.name();
        const a = this.value() as unknown[];
        const op: { s: number; o: string; a: unknown[]; t?: number; m?: string } = { s, o, a };
        if (t !== undefined) op.t = t;
        if (m !== undefined) op.m = m;
        return op;
      }
      case KIND_DONE:
        return { d: this.i32(), ok: this.u8() === 1, v: this.value() };
      case KIND_RELEASE:
        return { x: this.name(), ids: this.value() as [number, number][] };
      case KIND_REPLY:
        return { r: this.i32(), ok: this.u8() === 1, v: this.value() };
      case KIND_PUSH:
        return { p: this.name(), v: this.value() };
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

  private name(): string {
    const how = this.u8();
    if (how === NAME_INLINE) return this.string();
    const number = this.u32();
    if (how === NAME_DEFINE) {
      if (number !== this.names.length) throw new Error(`corrupt channel frame: name ${number} defined out of order`);
      const name = this.string();
      this.names.push(name);
      return name;
    }
    const name = this.names[number];
    if (how !== NAME_REF || name === undefined) throw new Error(`corrupt channel frame: name reference ${how}/${number}`);
    return name;
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
