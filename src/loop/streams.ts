/**
 * Streams (asyncio's `streams.py`): `openConnection` / `startServer` and
 * their Unix twins give `[StreamReader, StreamWriter]` pairs instead of
 * protocol callbacks; `StreamReaderProtocol` is the protocol between.
 *
 *     const server = await startServer(async (reader, writer) => {
 *       for await (const line of reader) writer.write(line);
 *       writer.close();
 *     }, '127.0.0.1', 8888);
 *
 *     const [reader, writer] = await openConnection('127.0.0.1', 8888);
 *     writer.write('hello\n');
 *     await writer.drain();
 *     const echoed = await reader.readline();
 */
import { ConnectionResetError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import type { Future } from './futures.js';
import { Protocol } from './protocols.js';
import { _requireRunningLoop, getEventLoop } from './running.js';
import type { Server } from './server.js';
import { checkLimit, StreamReader } from './stream-reader.js';
import { StreamWriter, type StreamWriterProtocol } from './stream-writer.js';
import type { ConnectionOptions, ServerHost, ServerOptions, UnixConnectionOptions, UnixServerOptions } from './tcp.js';
import type { CoroutineFunction } from './tasks.js';
import type { Transport } from './transports.js';

/** What drain() returns when there is nothing to wait for: one shared, settled promise. */
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Called with each new connection's reader and writer: a plain function, an
 * async function or a generator function (run as a Task). When it fails, the
 * error goes to the loop's exception handler and the connection is closed.
 */
export type ClientConnectedCallback = (reader: StreamReader, writer: StreamWriter) => unknown;

/** The buffer limit of the StreamReader(s): 64 KiB by default. */
export interface StreamOptions {
  limit?: number;
}

/**
 * The flow-control half of a stream protocol (asyncio's FlowControlMixin):
 * tracks pauseWriting/resumeWriting and wakes every drain() waiting.
 */
export class FlowControlProtocol extends Protocol implements StreamWriterProtocol {
  protected readonly loop: EventLoop;
  private paused = false;
  private readonly drainWaiters = new Set<Future<void>>();
  private connectionLostFlag = false;

  constructor(loop?: EventLoop) {
    super();
    this.loop = loop ?? getEventLoop();
  }

  override pauseWriting(): void {
    this.paused = true;
  }

  override resumeWriting(): void {
    this.paused = false;
    for (const waiter of this.drainWaiters) if (!waiter.done()) waiter.setResult(undefined);
  }

  override connectionLost(error: Error | null): void {
    this.connectionLostFlag = true;
    if (!this.paused) return;
    for (const waiter of this.drainWaiters) {
      if (waiter.done()) continue;
      if (error === null) waiter.setResult(undefined);
      else waiter.setException(error);
    }
  }

  /** @internal Resolved at once (one shared promise) unless writing is paused. */
  _drainHelper(): Promise<void> {
    if (this.connectionLostFlag) return Promise.reject(new ConnectionResetError('Connection lost'));
    if (!this.paused) return RESOLVED;
    return this.waitForResume();
  }

  private async waitForResume(): Promise<void> {
    const waiter = this.loop.createFuture<void>();
    waiter._label = 'StreamWriter.drain() (the peer reads slowly)';
    this.drainWaiters.add(waiter);
    try {
      await waiter;
    } finally {
      this.drainWaiters.delete(waiter);
    }
  }

  /** @internal */
  _getCloseWaiter(_stream: StreamWriter): Future<void> {
    throw new TypeError('FlowControlProtocol has no close waiter; use StreamReaderProtocol');
  }
}

/**
 * Feeds a StreamReader from a transport. With `clientConnectedCb` (the
 * server side of startServer), each connection gets a StreamWriter and the
 * callback runs as a Task.
 */
export class StreamReaderProtocol extends FlowControlProtocol {
  private reader: StreamReader | null;
  private clientConnectedCb: ClientConnectedCallback | null;
  private overSsl = false;
  private readonly closed: Future<void>;

  constructor(streamReader: StreamReader | null, clientConnectedCb: ClientConnectedCallback | null = null, loop?: EventLoop) {
    super(loop);
    this.reader = streamReader;
    this.clientConnectedCb = clientConnectedCb;
    this.closed = this.loop.createFuture<void>();
  }

  override connectionMade(transport: Transport): void {
    const reader = this.reader;
    reader?.setTransport(transport);
    this.overSsl = transport.getExtraInfo('sslcontext') != null;
    const callback = this.clientConnectedCb;
    if (callback === null) return;
    this.clientConnectedCb = null;
    const writer = new StreamWriter(transport, this, reader, this.loop);
    // A plain function's result is taken as the task's result, like asyncio's
    // non-coroutine callback.
    const coroutine = callback as CoroutineFunction<unknown, [StreamReader, StreamWriter]>;
    const task = this.loop.createTask(coroutine, { args: [reader as StreamReader, writer] });
    task.addDoneCallback(() => {
      if (task.cancelled()) {
        transport.close();
        return;
      }
      const exception = task.exception();
      if (exception === null) return;
      this.loop.callExceptionHandler({ message: 'Unhandled exception in client_connected_cb', exception, transport });
      transport.close();
    });
  }

  override connectionLost(error: Error | null): void {
    const reader = this.reader;
    if (reader !== null) {
      if (error === null) reader.feedEof();
      else reader.setException(error);
    }
    if (!this.closed.done()) {
      if (error === null) {
        this.closed.setResult(undefined);
      } else {
        this.closed.setException(error);
        // Read at once, as asyncio does on collection: nobody has to wait for it.
        this.closed.exception();
      }
    }
    super.connectionLost(error);
    this.reader = null;
  }

  override dataReceived(data: Buffer): void {
    this.reader?.feedData(data);
  }

  override eofReceived(): boolean {
    this.reader?.feedEof();
    // TLS cannot half-close: asking to would only log a warning.
    return !this.overSsl;
  }

  /** @internal */
  override _getCloseWaiter(_stream: StreamWriter): Future<void> {
    return this.closed;
  }
}

// ---- opening connections and servers -------------------------------------------

/**
 * Connects to `host`:`port` and resolves to `[reader, writer]`. Options are
 * createConnection's (`ssl`, `serverHostname`, `localAddr`, `family`, ...)
 * plus `limit` (the reader's buffer limit; ValueError if <= 0).
 */
export async function openConnection(
  host?: string | null,
  port?: number | string | null,
  options: ConnectionOptions & StreamOptions = {},
): Promise<[StreamReader, StreamWriter]> {
  const { limit, ...connectionOptions } = options;
  const loop = _requireRunningLoop('openConnection()');
  const reader = new StreamReader({ limit, loop });
  const protocol = new StreamReaderProtocol(reader, null, loop);
  const [transport] = await loop.createConnection(() => protocol, host, port, connectionOptions);
  return [reader, new StreamWriter(transport, protocol, reader, loop)];
}

/** openConnection over the Unix socket at `path`. */
export async function openUnixConnection(
  path?: string | null,
  options: UnixConnectionOptions & StreamOptions = {},
): Promise<[StreamReader, StreamWriter]> {
  const { limit, ...connectionOptions } = options;
  const loop = _requireRunningLoop('openUnixConnection()');
  const reader = new StreamReader({ limit, loop });
  const protocol = new StreamReaderProtocol(reader, null, loop);
  const [transport] = await loop.createUnixConnection(() => protocol, path, connectionOptions);
  return [reader, new StreamWriter(transport, protocol, reader, loop)];
}

/**
 * Listens on `host`:`port` and calls `clientConnectedCb(reader, writer)` for
 * each connection. Options are createServer's (`ssl`, `backlog`,
 * `startServing`, ...) plus `limit`. Resolves to the Server.
 */
export async function startServer(
  clientConnectedCb: ClientConnectedCallback,
  host?: ServerHost,
  port?: number | string | null,
  options: ServerOptions & StreamOptions = {},
): Promise<Server> {
  const { limit, ...serverOptions } = options;
  const loop = _requireRunningLoop('startServer()');
  return loop.createServer(streamProtocolFactory(loop, clientConnectedCb, limit), host, port, serverOptions);
}

/** startServer on the Unix socket at `path`. */
export async function startUnixServer(
  clientConnectedCb: ClientConnectedCallback,
  path: string,
  options: UnixServerOptions & StreamOptions = {},
): Promise<Server> {
  const { limit, ...serverOptions } = options;
  const loop = _requireRunningLoop('startUnixServer()');
  return loop.createUnixServer(streamProtocolFactory(loop, clientConnectedCb, limit), path, serverOptions);
}

function streamProtocolFactory(
  loop: EventLoop,
  clientConnectedCb: ClientConnectedCallback,
  limit: number | undefined,
): () => StreamReaderProtocol {
  if (typeof clientConnectedCb !== 'function') {
    throw new TypeError(`clientConnectedCb must be a function, got ${typeof clientConnectedCb}`);
  }
  const checkedLimit = checkLimit(limit);
  return () => new StreamReaderProtocol(new StreamReader({ limit: checkedLimit, loop }), clientConnectedCb, loop);
}
