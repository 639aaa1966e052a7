/**
 * StreamReader (asyncio's `streams.StreamReader`): bytes fed by a protocol,
 * read by one coroutine at a time.
 *
 * Guarantees, as asyncio's:
 * - `read(n)` returns as soon as any byte is buffered (at most n), an empty
 *   Buffer at EOF; `read()` / `read(-1)` reads to EOF; `read(0)` is empty.
 * - `readexactly(n)` returns n bytes or raises IncompleteReadError with what
 *   arrived (`partial`) at EOF.
 * - `readuntil(sep)` returns the data up to and including the separator (or
 *   the first match of any of several, the shortest result winning). At EOF
 *   without a separator: IncompleteReadError, buffer cleared. Over the limit:
 *   LimitOverrunError (`consumed`), the data left in the buffer.
 * - `readline()` is `readuntil('\n')`, except that at EOF it returns the
 *   partial line, and an over-long line is discarded and raises ValueError.
 * - The reader pauses its transport while more than twice its limit is
 *   buffered, and resumes it once the buffer is back to the limit or below.
 * - Only one coroutine may wait for data at a time (RuntimeError otherwise).
 *   A task waiting for data is cancelled at that wait, as at a Future's: the
 *   read raises CancelledError and leaves the buffered data in place.
 * - A waiting read(n) is given its bytes by the feedData() that wakes it
 *   (see read-waiter.ts): the coroutine resumes one microtask later.
 *
 * Returned Buffers may share memory with the Buffers given to `feedData`
 * (no copy is made when a chunk is read whole): do not modify fed data.
 */
import { IncompleteReadError, LimitOverrunError, RuntimeError, ValueError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import { ReadWaiter } from './read-waiter.js';
import { getEventLoop } from './running.js';
import type { ReadTransport } from './transports.js';
import { describePeer } from './waits.js';

/** The default buffer limit of a StreamReader: 64 KiB. */
export const DEFAULT_LIMIT = 2 ** 16;

/** A separator for readuntil(): bytes, or a string taken as UTF-8. */
export type Separator = Buffer | Uint8Array | string;

export interface StreamReaderOptions {
  /** The buffer limit in bytes (default 64 KiB): the longest line readline() returns. */
  limit?: number;
  /** The loop its waits belong to; the current loop by default. */
  loop?: EventLoop;
}

const EMPTY = Buffer.alloc(0);
const NEWLINE = Buffer.from('\n');

/** @internal ValueError unless `limit` is a positive integer (asyncio: 'Limit cannot be <= 0'). */
export function checkLimit(limit: unknown): number {
  if (limit === undefined || limit === null) return DEFAULT_LIMIT;
  if (typeof limit !== 'number' || Number.isNaN(limit)) throw new TypeError(`limit must be a number, got ${String(limit)}`);
  if (limit <= 0) throw new ValueError('Limit cannot be <= 0');
  return limit;
}

export class StreamReader implements AsyncIterable<Buffer> {
  private readonly limit: number;
  private readonly loop: EventLoop;
  private readonly buffer = new ByteBuffer();
  private eof = false;
  private readonly waiter: ReadWaiter;
  /** What the pending wait takes when woken: up to this many bytes for read(n), none (0) otherwise. */
  private pendingReadSize = 0;
  private error: unknown = null;
  private transport: ReadTransport | null = null;
  private paused = false;
  /** The read that waits, for the waiter's label in dumps. */
  private waitingIn = '';

  constructor(options: StreamReaderOptions = {}) {
    this.limit = checkLimit(options.limit);
    this.loop = options.loop ?? getEventLoop();
    this.waiter = new ReadWaiter(this.loop);
  }

  // ---- the protocol's side -------------------------------------------------

  /** The error set by setException(), or null. */
  exception(): unknown {
    return this.error;
  }

  /** Makes every later read raise `error`, and wakes a waiting one with it. */
  setException(error: unknown): void {
    this.error = error;
    this.waiter.reject(error);
  }

  /** The transport to pause and resume; set once. */
  setTransport(transport: ReadTransport): void {
    if (this.transport !== null) throw new RuntimeError('Transport already set');
    this.transport = transport;
  }

  /** No more data will come. */
  feedEof(): void {
    this.eof = true;
    this.wakeupWaiter();
  }

  /** True once feedEof() was called and the buffer is empty. */
  atEof(): boolean {
    return this.eof && this.buffer.length === 0;
  }

  /** Appends `data` (kept, not copied) and wakes a waiting read. */
  feedData(data: Buffer | Uint8Array): void {
    if (this.eof) throw new RuntimeError('feedData after feedEof');
    if (data.length === 0) return;
    this.buffer.append(data);
    this.wakeupWaiter();
    if (this.transport !== null && !this.paused && this.buffer.length > 2 * this.limit) {
      this.transport.pauseReading();
      this.paused = true;
    }
  }

  // ---- reading -------------------------------------------------------------

  /**
   * Up to `n` bytes, as soon as at least one is buffered; an empty Buffer at
   * EOF. `n` < 0 (the default) reads until EOF.
   */
  read(n = -1): Promise<Buffer> {
    // Not an async function: this is the hot path of every stream server. A
    // read that waits returns the waiter's one promise, which the feedData()
    // that wakes it resolves with the bytes.
    try {
      if (this.error !== null) throw this.error;
      checkSize(n, 'read');
      if (n === 0) return Promise.resolve(EMPTY);
      if (n < 0) return this.readAll();
      if (this.buffer.length > 0 || this.eof) return Promise.resolve(this.takeUpTo(n));
      this.startWaiting('read');
      this.pendingReadSize = n;
      return this.waiter.start();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Exactly `n` bytes; IncompleteReadError (with `partial`) if EOF comes first. */
  async readexactly(n: number): Promise<Buffer> {
    checkSize(n, 'readexactly');
    if (n < 0) throw new ValueError('readexactly size can not be less than zero');
    if (this.error !== null) throw this.error;
    if (n === 0) return EMPTY;
    while (this.buffer.length < n) {
      if (this.eof) throw new IncompleteReadError(this.buffer.takeAll(), n);
      await this.waitForData('readexactly');
    }
    const data = this.buffer.take(n);
    this.maybeResumeTransport();
    return data;
  }

  /**
   * One line, with its '\n'; at EOF the partial line (empty when nothing is
   * left). A line longer than the limit is discarded and raises ValueError.
   */
  async readline(): Promise<Buffer> {
    try {
      return await this.readuntil(NEWLINE);
    } catch (err) {
      if (err instanceof IncompleteReadError) return err.partial;
      if (!(err instanceof LimitOverrunError)) throw err;
      if (this.buffer.startsWith(NEWLINE, err.consumed)) this.buffer.discard(err.consumed + NEWLINE.length);
      else this.buffer.clear();
      this.maybeResumeTransport();
      throw new ValueError(err.message);
    }
  }

  /**
   * The data up to and including `separator`; with several separators, up to
   * the match that ends first (the shorter separator on a tie). Raises
   * IncompleteReadError at EOF (buffer cleared) and LimitOverrunError when the
   * limit is exceeded (buffer kept). ValueError for an empty separator.
   */
  async readuntil(separator: Separator | readonly Separator[] = NEWLINE): Promise<Buffer> {
    const separators = normalizeSeparators(separator);
    const minLength = separators[0].length;
    const maxLength = separators[separators.length - 1].length;
    if (this.error !== null) throw this.error;
    // Bytes known to hold no match start; searches resume from there.
    let offset = 0;
    let match: { start: number; end: number } | null;
    for (;;) {
      const length = this.buffer.length;
      if (length - offset >= minLength) {
        match = this.findEarliestEnd(separators, offset);
        if (match !== null) break;
        offset = Math.max(0, length + 1 - maxLength);
        if (offset > this.limit) {
          throw new LimitOverrunError('Separator is not found, and chunk exceed the limit', offset);
        }
      }
      // A complete separator may have come with the last chunk: look first, then check EOF.
      if (this.eof) throw new IncompleteReadError(this.buffer.takeAll(), null);
      await this.waitForData('readuntil');
    }
    if (match.start > this.limit) {
      throw new LimitOverrunError('Separator is found, but chunk is longer than limit', match.start);
    }
    const chunk = this.buffer.take(match.end);
    this.maybeResumeTransport();
    return chunk;
  }

  /** `for await (const line of reader)`: readline() until it returns an empty Buffer. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: async (): Promise<IteratorResult<Buffer>> => {
        const line = await this.readline();
        return line.length === 0 ? { done: true, value: undefined } : { done: false, value: line };
      },
    };
  }

  /**
   * @internal For the bridge's hand-over (toGreenSocket): takes what is
   * buffered and whether the end or an error came; every later read (and
   * one waiting now) raises `error` instead.
   */
  _handOver(error: Error): { data: Buffer; eof: boolean; error: unknown } {
    const state = { data: this.buffer.takeAll(), eof: this.eof, error: this.error };
    this.paused = false;
    this.setException(error);
    return state;
  }

  toString(): string {
    const info = ['StreamReader'];
    if (this.buffer.length > 0) info.push(`${this.buffer.length} bytes`);
    if (this.eof) info.push('eof');
    if (this.limit !== DEFAULT_LIMIT) info.push(`limit=${this.limit}`);
    if (this.waiter.pending) info.push('waiter');
    if (this.error !== null) info.push(`exception=${String(this.error)}`);
    if (this.paused) info.push('paused');
    return `<${info.join(' ')}>`;
  }

  // ---- internals -----------------------------------------------------------

  /** Up to `n` buffered bytes (none at EOF). */
  private takeUpTo(n: number): Buffer {
    const data = this.buffer.take(Math.min(n, this.buffer.length));
    this.maybeResumeTransport();
    return data;
  }

  private async readAll(): Promise<Buffer> {
    // Read limit-sized blocks: waiting for everything at once would stall a
    // transport paused at twice the limit.
    const blocks: Buffer[] = [];
    for (;;) {
      const block = await this.read(this.limit);
      if (block.length === 0) break;
      blocks.push(block);
    }
    return blocks.length === 1 ? blocks[0] : Buffer.concat(blocks);
  }

  /** Waits until feedData(), feedEof() or setException(); resumes a paused transport first. */
  private async waitForData(funcName: string): Promise<void> {
    this.startWaiting(funcName);
    this.pendingReadSize = 0;
    await this.waiter.start();
  }

  /** Checks that no other coroutine waits; resumes a paused transport, or the wait would never end. */
  private startWaiting(funcName: string): void {
    if (this.waiter.pending) {
      throw new RuntimeError(`${funcName}() called while another coroutine is already waiting for incoming data`);
    }
    // Waiting while paused would never end (readexactly(n) with n over twice the limit).
    if (this.paused) {
      this.paused = false;
      this.transport?.resumeReading();
    }
    this.waitingIn = funcName;
    this.waiter._label ??= { toString: () => `StreamReader.${this.waitingIn}() from ${describePeer(this.transport)}` };
  }

  /** Ends the pending wait: a read(n) takes its bytes now (none at EOF). */
  private wakeupWaiter(): void {
    if (!this.waiter.pending) return;
    const size = this.pendingReadSize;
    this.waiter.resolve(size > 0 ? this.takeUpTo(size) : EMPTY);
  }

  private maybeResumeTransport(): void {
    if (this.paused && this.buffer.length <= this.limit) {
      this.paused = false;
      this.transport?.resumeReading();
    }
  }

  private findEarliestEnd(separators: readonly Buffer[], offset: number): { start: number; end: number } | null {
    let best: { start: number; end: number } | null = null;
    for (const separator of separators) {
      const start = this.buffer.indexOf(separator, offset);
      if (start === -1) continue;
      const end = start + separator.length;
      if (best === null || end < best.end) best = { start, end };
    }
    return best;
  }
}

function checkSize(n: unknown, method: string): void {
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new TypeError(`${method}() size must be an integer, got ${String(n)}`);
  }
}

/** Separators as Buffers, shortest first; ValueError for none or an empty one. */
function normalizeSeparators(separator: Separator | readonly Separator[]): Buffer[] {
  if (separator === NEWLINE) return [NEWLINE];
  const list = (Array.isArray(separator) ? separator : [separator]) as Separator[];
  if (list.length === 0) throw new ValueError('Separator should contain at least one element');
  const buffers = list.map(toBuffer).sort((a, b) => a.length - b.length);
  if (buffers[0].length === 0) throw new ValueError('Separator should be at least one-byte string');
  return buffers;
}

function toBuffer(separator: Separator): Buffer {
  if (typeof separator === 'string') return Buffer.from(separator, 'utf8');
  if (separator instanceof Uint8Array) {
    return Buffer.isBuffer(separator) ? separator : Buffer.from(separator.buffer, separator.byteOffset, separator.length);
  }
  throw new TypeError(`separator must be bytes or a string, got ${typeof separator}`);
}

/**
 * The reader's buffer: one contiguous region [start, end) of `store`.
 *
 * A chunk fed to an empty buffer becomes the store itself (no copy), and a
 * read of the whole of it returns it as is. Appending copies into spare room,
 * or into a new store of twice the size, so growth is amortised. Bytes before
 * `end` are never written again, so Buffers handed out as views stay valid.
 */
class ByteBuffer {
  private store: Buffer = EMPTY;
  private start = 0;
  private end = 0;
  /** Whether `store` is ours to append into (not a fed chunk). */
  private owned = false;

  get length(): number {
    return this.end - this.start;
  }

  append(data: Buffer | Uint8Array): void {
    const size = data.length;
    if (this.end === this.start) {
      this.store = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, size);
      this.start = 0;
      this.end = size;
      this.owned = false;
      return;
    }
    if (this.owned && this.store.length - this.end >= size) {
      this.store.set(data, this.end);
      this.end += size;
      return;
    }
    const live = this.end - this.start;
    const grown = Buffer.allocUnsafe(Math.max(2 * (live + size), 1024));
    this.store.copy(grown, 0, this.start, this.end);
    grown.set(data, live);
    this.store = grown;
    this.start = 0;
    this.end = live + size;
    this.owned = true;
  }

  /** The first `n` bytes (n <= length), removed from the buffer. */
  take(n: number): Buffer {
    const store = this.store;
    const out = this.start === 0 && n === store.length ? store : store.subarray(this.start, this.start + n);
    this.discard(n);
    return out;
  }

  takeAll(): Buffer {
    return this.take(this.length);
  }

  discard(n: number): void {
    this.start += Math.min(n, this.length);
    if (this.start === this.end) this.clear();
  }

  clear(): void {
    this.store = EMPTY;
    this.start = 0;
    this.end = 0;
    this.owned = false;
  }

  /** Index (relative to the data) of `needle` at or after `from`, or -1. */
  indexOf(needle: Buffer, from: number): number {
    // An owned store has spare room past `end`: search the data only.
    if (this.owned) return this.store.subarray(this.start, this.end).indexOf(needle, from);
    const found = this.store.indexOf(needle, this.start + from);
    return found === -1 ? -1 : found - this.start;
  }

  startsWith(needle: Buffer, at: number): boolean {
    if (at + needle.length > this.length) return false;
    return this.store.compare(needle, 0, needle.length, this.start + at, this.start + at + needle.length) === 0;
  }
}
