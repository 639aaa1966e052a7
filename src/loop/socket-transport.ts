/**
 * The stream transport over a Node socket (asyncio's `_SelectorSocketTransport`
 * and, for TLS, its `_SSLProtocolTransport`): TCP, Unix sockets and TLS.
 *
 * Guarantees, as asyncio's:
 * - The protocol sees `connectionMade` first (from a loop callback), then
 *   `dataReceived`*, then `eofReceived` at most once, then
 *   `connectionLost(err | null)` exactly once, last (from a loop callback).
 * - An error thrown by a protocol callback goes to the loop's exception
 *   handler and the transport is closed with it (asyncio's `_fatal_error`);
 *   it never reaches Node as an uncaught exception. Socket errors (resets,
 *   broken pipes) close the transport and reach `connectionLost` only.
 * - Write flow control: `pauseWriting()` once when the bytes not yet handed to
 *   the kernel go above the high-water mark, `resumeWriting()` once they drain
 *   to the low-water mark or below.
 * - Closing the loop aborts every transport still open on it, without calling
 *   the protocol (a closed loop runs no callbacks).
 *
 * The data path is thin on purpose: 'data' events call `dataReceived` directly
 * and `write()` goes straight to `socket.write()`.
 */
import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import { taskContext } from './context.js';
import {
  BrokenPipeError,
  ConnectionAbortedError,
  ConnectionRefusedError,
  ConnectionResetError,
  RuntimeError,
  ValueError,
} from './errors.js';
import type { EventLoop } from './event-loop.js';
import type { Future } from './futures.js';
import { logger } from './log.js';
import type { Protocol } from './protocols.js';
import type { Transport } from './transports.js';

/** Writes after the connection is lost are counted; from this many on, each is logged. */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;
const DEFAULT_HIGH_WATER = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/** What a transport's owner (a Server) needs to hear. */
export interface TransportOwner {
  /** @internal */ _attach(transport: SocketTransport): void;
  /** @internal */ _detach(transport: SocketTransport): void;
}

/** @internal How a transport is set up: by createConnection or by a Server. */
export interface SocketTransportOptions {
  /** The Server that accepted the connection, told when it is gone. */
  server?: TransportOwner | null;
  /** Set (unless cancelled) right after `connectionMade`. */
  waiter?: Future<void> | null;
  /** The TLS context, for a TLS socket. */
  sslContext?: SecureContext | null;
  /** For Unix sockets: the path, and which side this is (Python reports '' for the unnamed end). */
  unixPath?: string | null;
  isServerSide?: boolean;
}

type Data = Buffer | Uint8Array | string;

export class SocketTransport implements Transport {
  private protocol: Protocol;
  private readonly extra: Record<string, unknown>;
  private readonly isTls: boolean;
  private server: TransportOwner | null;
  private closing = false;
  private eof = false;
  private readingPaused = false;
  /** Non-zero once the connection is gone or closing: writes are then dropped and counted. */
  private connLost = 0;
  private lostCalled = false;
  private loopClosed = false;
  private error: Error | null = null;
  /** Set once the Node socket was handed over (`_handOver`): what writes raise. */
  private handedOver: Error | null = null;
  private protocolPaused = false;
  private highWater = DEFAULT_HIGH_WATER;
  private lowWater = DEFAULT_HIGH_WATER / 4;
  private readonly unregisterLoopHook: () => void;

  /** @internal Created by createConnection and Server; users get it from `connectionMade`. */
  constructor(
    private readonly loop: EventLoop,
    private readonly socket: Socket,
    protocol: Protocol,
    options: SocketTransportOptions = {},
  ) {
    this.protocol = protocol;
    this.server = options.server ?? null;
    this.isTls = options.sslContext != null;
    this.extra = describeSocket(socket, options);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('end', this.onEnd);
    this.unregisterLoopHook = loop._onClose(this.onLoopClosed);
    this.server?._attach(this);
    loop.callSoon(this.start, options.waiter ?? null);
    if (socket.destroyed) this.adoptEarlyLoss(socket);
  }

  // ---- BaseTransport -------------------------------------------------------

  /**
   * 'peername' and 'sockname' ([host, port], or a path for Unix sockets),
   * 'socket' (the Node socket); with TLS also 'sslcontext' (the
   * tls.SecureContext), 'ssl_object' (the TLSSocket), 'peercert' (the peer's
   * certificate as Node describes it) and 'cipher' (Node's getCipher()).
   */
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    if (this.isTls) {
      const tls = this.socket as TLSSocket;
      if (name === 'peercert') return tls.getPeerCertificate() ?? defaultValue;
      if (name === 'cipher') return tls.getCipher() ?? defaultValue;
    }
    return name in this.extra ? this.extra[name] : defaultValue;
  }

  isClosing(): boolean {
    return this.closing;
  }

  /**
   * Stops reading, flushes what is buffered, then closes the socket;
   * `connectionLost(null)` follows. Writes made after close() are dropped.
   */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.connLost += 1;
    this.socket.pause();
    const socket = this.socket;
    if (socket.destroyed) return;
    // end() flushes and sends FIN (close_notify for TLS); the socket is
    // released once everything is handed to the kernel, as asyncio does.
    if (socket.writable) socket.end();
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  }

  setProtocol(protocol: Protocol): void {
    this.protocol = protocol;
  }

  getProtocol(): Protocol {
    return this.protocol;
  }

  // ---- ReadTransport -------------------------------------------------------

  isReading(): boolean {
    return !this.readingPaused && !this.closing;
  }

  /** Stops reading from the socket: no dataReceived until resumeReading(). */
  pauseReading(): void {
    if (this.closing || this.readingPaused) return;
    this.readingPaused = true;
    this.socket.pause();
  }

  resumeReading(): void {
    if (this.closing || !this.readingPaused) return;
    this.readingPaused = false;
    // Node delivers the data it buffered from a tick scheduled here: keep it
    // out of the calling task's context.
    taskContext.exit(() => this.socket.resume());
  }

  // ---- WriteTransport ------------------------------------------------------

  /**
   * Hands `data` to the socket (strings are UTF-8). Never blocks: what the
   * kernel does not take at once is buffered, and counts in
   * getWriteBufferSize(). After close() or a lost connection the data is
   * dropped (a warning is logged from the fifth such write on, as asyncio).
   * RuntimeError after writeEof(); TypeError for anything but bytes or a string.
   */
  write(data: Data): void {
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw new TypeError(`data argument must be a bytes-like object or a string, not ${describeType(data)}`);
    }
    if (this.eof) throw new RuntimeError('Cannot call write() after writeEof()');
    if (data.length === 0) return;
    if (this.connLost !== 0) {
      if (this.handedOver !== null) throw this.handedOver;
      this.dropWrite();
      return;
    }
    const socket = this.socket;
    // A write to an empty buffer usually completes at once; a callback on it
    // would cost Node a tick per write. Writes queued behind others complete
    // later and report back, so a paused protocol resumes at the low mark.
    if (socket.writableLength === 0) socket.write(data);
    else socket.write(data, this.onWriteDone);
    if (socket.writableLength > this.highWater) this.maybePauseProtocol();
  }

  /** Writes each item of `list`, handed to the kernel together when possible. */
  writelines(list: Iterable<Data>): void {
    this.socket.cork();
    try {
      for (const data of list) this.write(data);
    } finally {
      this.socket.uncork();
    }
  }

  /**
   * Closes the write side once buffered data is flushed; reading goes on.
   * TLS transports cannot (canWriteEof() is false): RuntimeError.
   */
  writeEof(): void {
    if (this.isTls) throw new RuntimeError('TLS transports do not support half-closes: canWriteEof() is false');
    if (this.closing || this.eof) return;
    this.eof = true;
    this.socket.end();
  }

  canWriteEof(): boolean {
    return !this.isTls;
  }

  /** Closes at once, dropping buffered data; connectionLost(null) follows. */
  abort(): void {
    this.forceClose(null);
  }

  /**
   * Sets the write buffer's high- and low-water marks, in bytes. `high`
   * defaults to 64 KiB (or 4 × low), `low` to high / 4; ValueError unless
   * high >= low >= 0.
   */
  setWriteBufferLimits(high?: number, low?: number): void {
    if (high === undefined || high === null) high = low === undefined || low === null ? DEFAULT_HIGH_WATER : 4 * low;
    if (low === undefined || low === null) low = Math.floor(high / 4);
    if (typeof high !== 'number' || typeof low !== 'number' || !(high >= low && low >= 0)) {
      throw new ValueError(`high (${String(high)}) must be >= low (${String(low)}) must be >= 0`);
    }
    this.highWater = high;
    this.lowWater = low;
    this.maybePauseProtocol();
  }

  /** [low, high], as asyncio's `get_write_buffer_limits()`. */
  getWriteBufferLimits(): [number, number] {
    return [this.lowWater, this.highWater];
  }

  /** Bytes written but not yet handed to the kernel. */
  getWriteBufferSize(): number {
    return this.socket.writableLength;
  }

  /**
   * @internal For the bridge's hand-over (toGreenSocket): gives up the Node
   * socket without closing it, paused and without this transport's
   * listeners, so that no byte is read meanwhile. The protocol gets
   * `connectionLost(error)` (unless it already got it) and the Server lets
   * go of the transport; later writes raise `error`.
   */
  _handOver(error: Error): Socket {
    const socket = this.socket;
    socket.pause();
    socket.off('data', this.onData).off('end', this.onEnd).off('error', this.onError).off('close', this.onClose);
    this.handedOver = error;
    this.closing = true;
    this.connLost += 1;
    if (!this.lostCalled) {
      this.lostCalled = true;
      this.protocol.connectionLost(error);
    }
    this.release();
    return socket;
  }

  toString(): string {
    const state = this.lostCalled ? 'closed' : this.closing ? 'closing' : 'open';
    return `<SocketTransport ${state} peername=${JSON.stringify(this.extra.peername)}>`;
  }

  // ---- Node socket events --------------------------------------------------

  /** Loop callback: connectionMade, then reading starts, then the waiter. */
  private readonly start = (waiter: Future<void> | null): void => {
    try {
      this.protocol.connectionMade(this);
    } catch (err) {
      this.fatalError(err, 'Fatal error: protocol.connectionMade() call failed.', false);
    }
    // A socket paused by pauseReading() or close() stays paused: adding the
    // listener only starts the flow of a socket never paused.
    this.socket.on('data', this.onData);
    if (waiter !== null && !waiter.done()) waiter.setResult(undefined);
  };

  private readonly onData = (data: Buffer): void => {
    try {
      this.protocol.dataReceived(data);
    } catch (err) {
      this.fatalError(err, 'Fatal error: protocol.dataReceived() call failed.', false);
    }
  };

  private readonly onEnd = (): void => {
    if (this.closing) return;
    let keepOpen: boolean | void;
    try {
      keepOpen = taskContext.exit(() => this.protocol.eofReceived());
    } catch (err) {
      this.fatalError(err, 'Fatal error: protocol.eofReceived() call failed.', false);
      return;
    }
    if (keepOpen === true && !this.isTls) return; // half-closed: our write side stays open
    if (keepOpen === true) logger.warning('returning true from eofReceived() has no effect when using TLS');
    this.close();
  };

  /** Called as queued writes complete: resumes a paused protocol once drained to the low mark. */
  private readonly onWriteDone = (): void => {
    if (this.protocolPaused && this.socket.writableLength <= this.lowWater) this.resumeProtocol();
  };

  private readonly onError = (err: Error): void => {
    // Node destroys the socket after an error; 'close' follows.
    if (this.error === null) this.error = connectionErrorFrom(err);
    this.closing = true;
    if (this.connLost === 0) this.connLost = 1;
    if (this.loop.getDebug()) logger.debug(`${String(this)}: socket error: ${err.message}`);
  };

  private readonly onClose = (): void => {
    this.closing = true;
    if (this.connLost === 0) this.connLost = 1;
    if (this.loopClosed || this.loop.isClosed()) {
      this.release();
      return;
    }
    this.loop.callSoon(this.callConnectionLost);
  };

  private readonly onLoopClosed = (): void => {
    this.loopClosed = true;
    this.closing = true;
    this.socket.destroy();
    this.release();
  };

  private readonly callConnectionLost = (): void => {
    if (this.lostCalled) return;
    this.lostCalled = true;
    try {
      this.protocol.connectionLost(this.error);
    } finally {
      this.release();
    }
  };

  // ---- internals -----------------------------------------------------------

  /** The socket died before this transport listened to it: report it all the same. */
  private adoptEarlyLoss(socket: Socket): void {
    if (socket.errored !== null && socket.errored !== undefined) this.onError(socket.errored as Error);
    this.closing = true;
    if (this.connLost === 0) this.connLost = 1;
    // Its 'close' may have gone by already; callConnectionLost runs only once anyway.
    if (socket.closed) this.onClose();
  }

  /** asyncio's `_fatal_error`: report what the protocol threw, then close with it. */
  private fatalError(err: unknown, message: string, fromSocket: boolean): void {
    if (!fromSocket) {
      this.loop.callExceptionHandler({ message, exception: err, transport: this, protocol: this.protocol });
    } else if (this.loop.getDebug()) {
      logger.debug(`${String(this)}: ${message}`);
    }
    this.forceClose(err instanceof Error ? err : new Error(String(err)));
  }

  /** asyncio's `_force_close`: drop buffered data, close now, connectionLost(error) follows. */
  private forceClose(error: Error | null): void {
    if (this.socket.destroyed || this.handedOver !== null) return;
    if (this.error === null) this.error = error;
    this.closing = true;
    this.connLost += 1;
    this.socket.destroy();
  }

  private dropWrite(): void {
    if (this.connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) logger.warning('socket.send() raised exception.');
    this.connLost += 1;
  }

  private maybePauseProtocol(): void {
    const socket = this.socket;
    if (this.protocolPaused || socket.writableLength <= this.highWater) return;
    this.protocolPaused = true;
    // An empty write completes once all before it is flushed: resuming is
    // then certain even if no queued write carries a callback.
    if (socket.writable) socket.write(EMPTY, this.onWriteDone);
    else socket.once('finish', this.onWriteDone);
    try {
      this.protocol.pauseWriting();
    } catch (exception) {
      this.loop.callExceptionHandler({
        message: 'protocol.pauseWriting() failed',
        exception,
        transport: this,
        protocol: this.protocol,
      });
    }
  }

  private resumeProtocol(): void {
    this.protocolPaused = false;
    try {
      taskContext.exit(() => this.protocol.resumeWriting());
    } catch (exception) {
      this.loop.callExceptionHandler({
        message: 'protocol.resumeWriting() failed',
        exception,
        transport: this,
        protocol: this.protocol,
      });
    }
  }

  /** The connection is gone: tell the server, forget the loop. */
  private release(): void {
    this.unregisterLoopHook();
    const server = this.server;
    this.server = null;
    server?._detach(this);
  }
}

/** The extra info known from the start, cached as asyncio does (the socket forgets it once closed). */
function describeSocket(socket: Socket, options: SocketTransportOptions): Record<string, unknown> {
  const extra: Record<string, unknown> = { socket };
  if (options.unixPath != null) {
    extra.peername = options.isServerSide ? '' : options.unixPath;
    extra.sockname = options.isServerSide ? options.unixPath : '';
  } else {
    extra.peername = [socket.remoteAddress, socket.remotePort];
    extra.sockname = [socket.localAddress, socket.localPort];
  }
  if (options.sslContext != null) {
    extra.sslcontext = options.sslContext;
    extra.ssl_object = socket;
    extra.compression = null;
  }
  return extra;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

interface NodeSystemError extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
}

const CONNECTION_ERRORS: Record<string, typeof ConnectionResetError> = {
  ECONNRESET: ConnectionResetError,
  ECONNREFUSED: ConnectionRefusedError,
  ECONNABORTED: ConnectionAbortedError,
  EPIPE: BrokenPipeError,
  ESHUTDOWN: BrokenPipeError,
};

/**
 * @internal Node's connection errors as greenloop's ConnectionError classes
 * (ECONNRESET → ConnectionResetError, EPIPE → BrokenPipeError, ...), keeping
 * Node's message and `code`; any other error is returned as is.
 */
export function connectionErrorFrom(err: Error): Error {
  const system = err as NodeSystemError;
  const ErrorClass = system.code === undefined ? undefined : CONNECTION_ERRORS[system.code];
  if (ErrorClass === undefined) return err;
  return new ErrorClass(err.message, { code: system.code, errno: system.errno, syscall: system.syscall, cause: err });
}
