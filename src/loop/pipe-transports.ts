/**
 * Pipe transports (asyncio's `_UnixReadPipeTransport` and
 * `_UnixWritePipeTransport`) over the Node socket of one end of a pipe: a
 * child's stdout and stderr are read pipes, its stdin a write pipe.
 *
 * Guarantees:
 * - every protocol call runs as a loop callback, never inside a Node event;
 *   `connectionLost` is called exactly once, last;
 * - a read pipe reads only while the loop runs and reading is not paused:
 *   otherwise data waits in the pipe and the writer blocks;
 * - `write()` never blocks; the protocol's `pauseWriting()` is called (inside
 *   `write`) when the unsent data goes over the high-water mark, and
 *   `resumeWriting()` once it drains to the low-water mark.
 */
import type net from 'node:net';
import { BrokenPipeError, ValueError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import { logger } from './log.js';
import { connectionErrorFrom } from './socket-transport.js';
import type { ReadTransport, WriteTransport } from './transports.js';

/** What a pipe transport calls; the optional methods may be left out. */
export interface PipeProtocol {
  dataReceived?(data: Buffer): void;
  eofReceived?(): boolean | void;
  connectionLost(error: Error | null): void;
  pauseWriting?(): void;
  resumeWriting?(): void;
}

const DEFAULT_HIGH_WATER = 64 * 1024;
/** After this many writes to a lost pipe, each further write logs a warning (as asyncio). */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;

abstract class PipeTransport {
  protected closing = false;
  /** The error `connectionLost` reports; null for a clean close. */
  protected error: Error | null = null;
  private lost = false;

  constructor(
    protected readonly loop: EventLoop,
    protected readonly stream: net.Socket,
    protected protocol: PipeProtocol,
  ) {
    stream.on('error', (error) => this.onError(error));
    stream.on('close', () => this.onClose());
  }

  /** 'pipe': the Node socket of the pipe. */
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return name === 'pipe' ? this.stream : defaultValue;
  }

  isClosing(): boolean {
    return this.closing;
  }

  setProtocol(protocol: unknown): void {
    this.protocol = protocol as PipeProtocol;
  }

  getProtocol(): PipeProtocol {
    return this.protocol;
  }

  abstract close(): void;

  /** @internal Frees the pipe at once, with no further protocol call (the loop closed). */
  _destroy(): void {
    this.closing = true;
    this.lost = true;
    this.stream.destroy();
  }

  protected post(callback: () => void): void {
    if (!this.loop.isClosed()) this.loop.callSoon(callback);
  }

  /** Calls an optional protocol method; a failure goes to the exception handler. */
  protected callProtocol(method: 'pauseWriting' | 'resumeWriting'): void {
    try {
      this.protocol[method]?.();
    } catch (exception) {
      this.loop.callExceptionHandler({ message: `protocol.${method}() failed`, exception, transport: this });
    }
  }

  protected onClosed(): void {}

  private onError(error: Error): void {
    this.error ??= connectionErrorFrom(error);
    // OS errors (EPIPE, ECONNRESET...) end the pipe; the protocol learns of them in connectionLost.
    if (isOSError(error)) {
      if (this.loop.getDebug()) logger.debug(`${this.constructor.name}: ${error.message}`);
    } else if (!this.loop.isClosed()) {
      this.loop.callExceptionHandler({ message: 'Fatal error on pipe transport', exception: error, transport: this });
    }
  }

  private onClose(): void {
    this.closing = true;
    if (this.lost) return;
    this.lost = true;
    this.onClosed();
    // Read at call time: a failed write reports its error just after 'close'.
    this.post(() => this.protocol.connectionLost(this.error));
  }
}

/** The read end of a pipe: calls `dataReceived(data)`*, then `eofReceived()` at EOF, then `connectionLost`. */
export class ReadPipeTransport extends PipeTransport implements ReadTransport {
  private paused = false;
  private readScheduled = false;
  private eof = false;

  constructor(loop: EventLoop, stream: net.Socket, protocol: PipeProtocol) {
    super(loop, stream, protocol);
    stream.on('readable', () => this.scheduleRead());
    stream.on('end', () => {
      this.eof = true;
      stream.destroy();
    });
  }

  isReading(): boolean {
    return !this.paused && !this.closing;
  }

  /** No `dataReceived` until `resumeReading()`; the pipe fills and the writer blocks. */
  pauseReading(): void {
    if (this.closing || this.paused) return;
    this.paused = true;
  }

  resumeReading(): void {
    if (this.closing || !this.paused) return;
    this.paused = false;
    this.scheduleRead();
  }

  /** Closes at once, dropping unread data; `connectionLost(null)` follows. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.stream.destroy();
  }

  protected override onClosed(): void {
    if (this.eof && !this.error) this.post(() => this.protocol.eofReceived?.());
  }

  private scheduleRead(): void {
    if (this.readScheduled || this.paused || this.closing) return;
    this.readScheduled = true;
    this.post(this.readChunk);
  }

  /** One chunk per loop callback: what Node has buffered, up to its high-water mark. */
  private readonly readChunk = (): void => {
    this.readScheduled = false;
    if (this.paused || this.closing) return;
    // At EOF, read() returning null is what makes Node emit 'end'.
    const chunk = this.stream.read() as Buffer | null;
    if (chunk === null) return;
    this.scheduleRead();
    this.protocol.dataReceived?.(chunk);
  };
}

/** The write end of a pipe, with asyncio's flow control. */
export class WritePipeTransport extends PipeTransport implements WriteTransport {
  private high = DEFAULT_HIGH_WATER;
  private low = DEFAULT_HIGH_WATER / 4;
  private protocolPaused = false;
  private droppedWrites = 0;
  private aborted = false;

  /**
   * Queues `data` (a string is UTF-8 encoded; the bytes are copied). Once the
   * pipe is closing or lost, data is dropped, as asyncio does.
   */
  write(data: Buffer | Uint8Array | string): void {
    const buffer = toBuffer(data);
    if (buffer.length === 0) return;
    if (this.closing || this.error !== null || this.stream.destroyed) {
      if (++this.droppedWrites > LOG_THRESHOLD_FOR_CONNLOST_WRITES) {
        logger.warning('pipe closed by peer or write() failed: data dropped');
      }
      return;
    }
    this.stream.write(buffer, this.onWritten);
    this.maybePauseProtocol();
  }

  writelines(list: Iterable<Buffer | Uint8Array | string>): void {
    this.write(Buffer.concat(Array.from(list, toBuffer)));
  }

  /** Closes the pipe once what was written is flushed; `connectionLost(null)` follows. */
  writeEof(): void {
    if (this.closing) return;
    this.closing = true;
    this.stream.end();
  }

  canWriteEof(): boolean {
    return true;
  }

  /** Same as `writeEof()`: buffered data is flushed first. */
  close(): void {
    this.writeEof();
  }

  /** Closes at once, dropping buffered data; `connectionLost(null)` follows. */
  abort(): void {
    if (this.aborted) return;
    this.closing = true;
    this.aborted = true;
    this.stream.destroy();
  }

  /** ValueError unless high >= low >= 0. `high` defaults to 64 KiB (4 × low if only low is given), low to high / 4. */
  setWriteBufferLimits(high?: number, low?: number): void {
    const newHigh = high ?? (low === undefined ? DEFAULT_HIGH_WATER : 4 * low);
    const newLow = low ?? Math.floor(newHigh / 4);
    if (!(newHigh >= newLow && newLow >= 0)) {
      throw new ValueError(`high (${String(high)}) must be >= low (${String(low)}) must be >= 0`);
    }
    this.high = newHigh;
    this.low = newLow;
    this.maybePauseProtocol();
  }

  getWriteBufferLimits(): [number, number] {
    return [this.low, this.high];
  }

  /** Bytes written but not yet accepted by the pipe. */
  getWriteBufferSize(): number {
    return this.stream.writableLength;
  }

  private readonly onWritten = (error?: Error | null): void => {
    if (error) {
      // Data the pipe never took: EPIPE, or ECANCELED / ERR_STREAM_DESTROYED
      // when Node closed the pipe first (the child exited). asyncio says BrokenPipeError.
      if (this.aborted) return;
      const converted = connectionErrorFrom(error);
      this.error ??=
        converted !== error ? converted : new BrokenPipeError('the pipe closed before all data was written', { cause: error });
      return;
    }
    if (this.protocolPaused) this.post(this.maybeResumeProtocol);
  };

  private maybePauseProtocol(): void {
    if (this.protocolPaused || this.getWriteBufferSize() <= this.high) return;
    this.protocolPaused = true;
    this.callProtocol('pauseWriting');
  }

  private readonly maybeResumeProtocol = (): void => {
    if (!this.protocolPaused || this.getWriteBufferSize() > this.low) return;
    this.protocolPaused = false;
    this.callProtocol('resumeWriting');
  };
}

function toBuffer(data: unknown): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data);
  throw new TypeError(`data must be a Buffer, Uint8Array or string, got ${data === null ? 'null' : typeof data}`);
}

/** An error from the OS (EPIPE, ECONNRESET...), as opposed to a bug. */
function isOSError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}

