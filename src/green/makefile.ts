/**
 * `socket.makefile()`: a buffered file object over a green socket (Python's
 * `socket.makefile`, a BufferedReader/BufferedWriter, or a text wrapper).
 *
 *     const file = sock.makefile('rwb');
 *     file.write('GET / HTTP/1.0\r\n\r\n');
 *     file.flush();
 *     const status = file.readline();
 *
 * Reads block the green thread like `recv` (and honour the socket's
 * timeout: SocketTimeout); writes are buffered until `flush()`, `close()`
 * or 8 KiB have accumulated. Binary modes ('rb', 'wb', 'rwb') give
 * Buffers, text modes ('r', 'w', 'rw') UTF-8 strings; in text mode sizes
 * count bytes, not characters. Closing the file flushes it and leaves the
 * socket open, as in Python once the socket itself is closed too.
 *
 * When the socket is handed over to async code (handOver, toStreams), its
 * files are flushed, the bytes they read ahead go first in the async
 * side's StreamReader, and each later call on them raises HandedOverError.
 * A text file's incomplete last character, if any, stays in its decoder.
 */
import { StringDecoder } from 'node:string_decoder';
import { ValueError } from '../loop/errors.js';
import type { Data, Socket } from './socket.js';

export type BinaryMode = 'rb' | 'wb' | 'rwb' | 'wrb';
export type TextMode = 'r' | 'w' | 'rw' | 'wr';
export type FileMode = BinaryMode | TextMode;

/** Writes are sent once this many bytes are buffered (Python's io.DEFAULT_BUFFER_SIZE). */
const WRITE_BUFFER = 8192;
const READ_CHUNK = 65536;
const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

/** The files made on each socket, in order, for a hand-over. */
const filesOf = new WeakMap<Socket, SocketFile[]>();

/**
 * @internal For a hand-over of `sock`: flushes its files, detaches them
 * (every later call raises `error`) and returns the bytes they read ahead,
 * which come before anything the socket still holds.
 */
export function handOverFiles(sock: Socket, error: Error): Buffer {
  const files = filesOf.get(sock) ?? [];
  filesOf.delete(sock);
  const parts = files.map((file) => file._handOver(error));
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** A file over a socket: `T` is Buffer in binary modes, string in text modes. */
export class SocketFile<T extends Buffer | string = Buffer | string> implements Iterable<T> {
  readonly mode: FileMode;
  private readonly binary: boolean;
  private readonly readable: boolean;
  private readonly writable: boolean;
  private buffered: Buffer = EMPTY;
  private atEof = false;
  private pending: Buffer[] = [];
  private pendingSize = 0;
  private readonly decoder = new StringDecoder('utf8');
  private closedFlag = false;
  private detached: Error | null = null;

  constructor(
    private readonly sock: Socket,
    mode: FileMode,
  ) {
    if (!/^(r|w|rw|wr)b?$/.test(mode)) throw new ValueError(`invalid mode ${JSON.stringify(mode)} for makefile (expected r, w, rw, with b for binary)`);
    this.mode = mode;
    this.binary = mode.endsWith('b');
    this.readable = mode.includes('r');
    this.writable = mode.includes('w');
    const files = filesOf.get(sock);
    if (files === undefined) filesOf.set(sock, [this]);
    else files.push(this);
  }

  /** @internal See handOverFiles. */
  _handOver(error: Error): Buffer {
    if (this.closedFlag) return EMPTY;
    this.flush();
    const ahead = this.buffered;
    this.buffered = EMPTY;
    this.closedFlag = true;
    this.detached = error;
    return ahead;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Up to `size` bytes (all until the end when negative): fewer only at the end of the stream. */
  read(size = -1): T {
    this.check('read', this.readable);
    while (!this.atEof && (size < 0 || this.buffered.length < size)) this.fill();
    return this.take(size < 0 ? this.buffered.length : Math.min(size, this.buffered.length));
  }

  /** The next line, with its '\n' (without one only at the end); at most `limit` bytes if limit >= 0. */
  readline(limit = -1): T {
    this.check('readline', this.readable);
    let searched = 0;
    for (;;) {
      const index = this.buffered.indexOf(NEWLINE, searched);
      if (index >= 0 && (limit < 0 || index < limit)) return this.take(index + 1);
      if (limit >= 0 && this.buffered.length >= limit) return this.take(limit);
      if (this.atEof) return this.take(this.buffered.length);
      searched = this.buffered.length;
      this.fill();
    }
  }

  /** Every remaining line. */
  readlines(): T[] {
    return [...this];
  }

  *[Symbol.iterator](): Iterator<T> {
    for (;;) {
      const line = this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** Buffers `data` (sent by flush, close, or once 8 KiB are buffered); returns its length. */
  write(data: Data): number {
    this.check('write', this.writable);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.pending.push(bytes);
    this.pendingSize += bytes.length;
    if (this.pendingSize >= WRITE_BUFFER) this.flush();
    return typeof data === 'string' ? data.length : bytes.length;
  }

  /** Sends what is buffered (blocking while the socket's flow control says so). */
  flush(): void {
    if (this.pendingSize === 0) return;
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingSize);
    this.pending = [];
    this.pendingSize = 0;
    this.sock.sendall(data);
  }

  /** Flushes and closes the file; the socket stays open. */
  close(): void {
    if (this.closedFlag) return;
    try {
      if (this.writable && !this.sock.isClosed) this.flush();
    } finally {
      this.closedFlag = true;
    }
  }

  private fill(): void {
    const chunk = this.sock.recv(READ_CHUNK);
    if (chunk.length === 0) this.atEof = true;
    else this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
  }

  private take(size: number): T {
    const data = this.buffered.subarray(0, size);
    this.buffered = this.buffered.subarray(size);
    if (this.binary) return data as T;
    return (this.decoder.write(data) + (this.atEof && this.buffered.length === 0 ? this.decoder.end() : '')) as T;
  }

  private check(call: string, allowed: boolean): void {
    if (this.detached !== null) throw this.detached;
    if (this.closedFlag) throw new ValueError(`${call}: I/O operation on closed file`);
    if (!allowed) throw new ValueError(`${call}: file not open for ${call.startsWith('read') ? 'reading' : 'writing'} (mode ${this.mode})`);
  }
}
