/**
 * StreamWriter (asyncio's `streams.StreamWriter`): writes to a transport,
 * with `drain()` for flow control.
 *
 * Guarantees, as asyncio's:
 * - `write()` never blocks; `drain()` waits only while the transport has
 *   paused the protocol (its buffer above the high-water mark), and every
 *   concurrent drain() wakes when it resumes.
 * - `drain()` never hangs on a dead connection: it raises the reader's error
 *   (ConnectionResetError with code 'ECONNRESET', BrokenPipeError 'EPIPE'...)
 *   or ConnectionResetError('Connection lost') once the connection is gone.
 * - `waitClosed()` resolves once the connection is lost (raising its error).
 * Both wait on loop Futures: cancelling the awaiting task cancels them.
 */
import type { EventLoop } from './event-loop.js';
import type { Future } from './futures.js';
import { sleep } from './sleep.js';
import type { StreamReader } from './stream-reader.js';
import type { WriteTransport } from './transports.js';

/** What a StreamWriter needs of its protocol (StreamReaderProtocol has it). */
export interface StreamWriterProtocol {
  /** @internal Waits while writing is paused; ConnectionResetError once the connection is lost. */
  _drainHelper(): Promise<void>;
  /** @internal Settles when the connection is lost. */
  _getCloseWaiter(stream: StreamWriter): Future<void>;
}

type Data = Buffer | Uint8Array | string;

export class StreamWriter {
  constructor(
    private readonly _transport: WriteTransport,
    private readonly protocol: StreamWriterProtocol,
    private readonly reader: StreamReader | null,
    private readonly loop: EventLoop,
  ) {}

  /** The underlying transport. */
  get transport(): WriteTransport {
    return this._transport;
  }

  /** Hands `data` to the transport (strings are UTF-8); follow with `await drain()`. */
  write(data: Data): void {
    this._transport.write(data);
  }

  writelines(list: Iterable<Data>): void {
    this._transport.writelines(list);
  }

  /** Closes the write side after buffered data is flushed. */
  writeEof(): void {
    this._transport.writeEof();
  }

  canWriteEof(): boolean {
    return this._transport.canWriteEof();
  }

  /** Closes the connection after flushing; `await waitClosed()` to know when it is done. */
  close(): void {
    this._transport.close();
  }

  isClosing(): boolean {
    return this._transport.isClosing();
  }

  /** Resolves once the connection is closed; raises the error it was lost with, if any. */
  async waitClosed(): Promise<void> {
    await this.protocol._getCloseWaiter(this);
  }

  /** The transport's extra info ('peername', 'sockname', 'socket', 'sslcontext', ...). */
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return this._transport.getExtraInfo(name, defaultValue);
  }

  /**
   * Waits until it is appropriate to write again: at once unless the
   * transport's buffer is over its high-water mark. Raises the connection's
   * error (or ConnectionResetError('Connection lost')) once it is gone.
   */
  drain(): Promise<void> {
    // Not an async function: the common case (nothing to wait for) then
    // costs no promise of its own; every stream server calls this per write.
    if (this.reader !== null) {
      const error = this.reader.exception();
      if (error !== null) return Promise.reject(error);
    }
    if (this._transport.isClosing()) return this.drainWhenClosing();
    return this.protocol._drainHelper();
  }

  private async drainWhenClosing(): Promise<void> {
    // Let connectionLost() run first, so a write-then-drain loop on a
    // closed connection sees the error instead of spinning.
    await sleep(0);
    await this.protocol._drainHelper();
  }

  toString(): string {
    const info = [`transport=${String(this._transport)}`];
    if (this.reader !== null) info.push(`reader=${String(this.reader)}`);
    return `<StreamWriter ${info.join(' ')}>`;
  }

  /** The loop this writer belongs to. */
  getLoop(): EventLoop {
    return this.loop;
  }
}
