/**
 * Live connections crossing between the worlds, mid-conversation: a green
 * socket becomes an asyncio-style StreamReader/StreamWriter pair, and a
 * pair becomes a green socket, so handlers migrate one at a time behind
 * one listening socket.
 *
 *     // async code: a connection a green thread accepted (or read a header from)
 *     const [reader, writer] = await toStreams(sock);
 *
 *     // green code: give the connection to an async handler
 *     handOver(conn, serveAsync, extra);      // serveAsync(reader, writer, extra)
 *
 *     // async code: give a connection to a green handler
 *     runGreen(serveGreen, toGreenSocket(reader, writer));
 *
 * Guarantees (each direction):
 * - no byte is lost, duplicated or reordered: what was received and not
 *   yet read (the hub's buffer, bytes pushed ahead to a green thread, a
 *   makefile's read-ahead, a StreamReader's buffer) is read first on the
 *   other side, then what arrives next; writes already made (posted by
 *   `send`, buffered by a transport) go out before the other side's;
 * - the end of stream carries over (the other side reads it after the
 *   unread bytes), and so does a connection error (raised by the other
 *   side's next read, as that side raises errors);
 * - the original object is detached, not closed: every later call on it
 *   (on the green Socket and its files, on the StreamReader and
 *   StreamWriter) raises HandedOverError, a SocketError 'EBADF' naming
 *   where the connection went; `close()` on it does nothing.
 *
 * TCP and Unix stream connections only; a TLS stream cannot be handed over
 * (ValueError), nor can a listening or datagram socket.
 */
import { RuntimeError, ValueError } from '../loop/errors.js';
import type { EventLoop } from '../loop/event-loop.js';
import { _requireRunningLoop } from '../loop/running.js';
import * as C from '../loop/socket-constants.js';
import { SocketTransport } from '../loop/socket-transport.js';
import { StreamReader } from '../loop/stream-reader.js';
import { StreamWriter } from '../loop/stream-writer.js';
import { StreamReaderProtocol, type StreamOptions } from '../loop/streams.js';
import { handOverFiles } from '../green/makefile.js';
import { HandedOverError } from '../green/socket-errors.js';
import { adoptConnection, releaseConnection, type Connection } from '../green/socket-handover.js';
import type { Socket } from '../green/socket.js';
import {
  callHub,
  checkBridge,
  currentGreenThread,
  encodeArgs,
  functionRef,
  type FunctionRef,
  type GreenCaller,
  inGreenWorker,
  registerOperation,
} from '../green/runtime/index.js';
import { handleFor, startTask, type AsyncHandle, type CoroutineResult } from './async-call.js';

const MODULE = import.meta.url;
const EMPTY = Buffer.alloc(0);

/** An async handler a green thread hands a connection to: `handler(reader, writer, ...args)`. */
export type StreamHandler<A extends unknown[], R> = (reader: StreamReader, writer: StreamWriter, ...args: A) => R;

/**
 * The connection of green socket `sock` as `[reader, writer]`, for async
 * code on the loop's thread. `sock` is a Socket object there: one a green
 * thread passed over (a result, a `callAsync` argument, a queue item),
 * whose handle carries where its reader stopped. Resolves once the
 * transport is set up (asyncio's `connect_accepted_socket`). `sock` is
 * detached (see the module documentation). In a green thread, use
 * `handOver`: streams live on the loop's thread. Misuse raises at the
 * call: RuntimeError in a green thread or with no running loop, SocketError
 * (ENOTCONN, EBADF) or ValueError for a socket with no connection to give.
 */
export function toStreams(sock: Socket, options: StreamOptions = {}): Promise<[StreamReader, StreamWriter]> {
  checkBridge('toStreams');
  if (inGreenWorker()) {
    throw new RuntimeError('toStreams() is for async code on the loop; a green thread gives its socket away with handOver(sock, handler, ...args)');
  }
  const loop = _requireRunningLoop('toStreams()');
  const error = new HandedOverError(String(sock), 'async code (toStreams)');
  return streamsOver(loop, releaseConnection(sock, EMPTY, error), options.limit);
}

/**
 * From a green thread: gives the connection of `sock` to the async
 * function `handler`, started as a task on the loop with `(reader, writer,
 * ...args)`; returns its handle at once (`handle.wait()` blocks for its
 * result). Bytes `sock` or its makefile() files hold unread go to the
 * reader first; writes posted before go out first. `sock` and its files
 * are detached. `handler` must be a module-level export, as for runAsync.
 * RuntimeError outside green code; SocketError (ENOTCONN, EBADF) or
 * ValueError for a socket with no connection to give (`sock` then stays
 * usable, its files are detached).
 */
export function handOver<A extends unknown[], R>(
  sock: Socket,
  handler: StreamHandler<A, R>,
  ...args: A
): AsyncHandle<CoroutineResult<R>> {
  checkBridge('handOver');
  if (!inGreenWorker()) throw new RuntimeError('handOver() is for green code; async code takes a green socket with toStreams(sock)');
  currentGreenThread('handOver');
  const ref = functionRef(handler, 'the handOver() handler');
  const error = new HandedOverError(String(sock), `the async handler ${handler.name || '(anonymous)'} (handOver)`);
  const ahead = handOverFiles(sock, error);
  const handle = callHub<AsyncHandle<CoroutineResult<R>>>('bridge.handOver', [sock, ahead, ref, encodeArgs(args)], { module: MODULE });
  sock._detach(error);
  return handle;
}

registerOperation('bridge.handOver', (caller: GreenCaller, sock: Socket, ahead: Uint8Array, ref: FunctionRef, args: unknown[]) => {
  const error = new HandedOverError(String(sock), 'an async handler (handOver)');
  const ready = Buffer.from(ahead.buffer, ahead.byteOffset, ahead.byteLength);
  // Released now, in the order of the thread's calls; the transport is set up before the handler starts.
  const streams = streamsOver(caller.loop, releaseConnection(sock, ready, error));
  return handleFor(startTask(caller.loop, ref, args, streams));
});

/**
 * For async code on the loop's thread: the connection of a StreamReader
 * and its StreamWriter as a green socket, to pass to a green thread
 * (`runGreen(handler, toGreenSocket(reader, writer))`). The reader's
 * buffered bytes come first; `reader` and `writer` are detached. `reader`
 * must be the one the writer's transport feeds. ValueError for a TLS
 * stream or a writer already closing; TypeError for a transport that is
 * not a socket's.
 */
export function toGreenSocket(reader: StreamReader, writer: StreamWriter): Socket {
  checkBridge('toGreenSocket');
  if (inGreenWorker()) throw new RuntimeError("toGreenSocket() is for async code on the loop's thread");
  const transport = writer.transport;
  if (!(transport instanceof SocketTransport)) {
    throw new TypeError(`toGreenSocket(): the writer's transport must be a socket transport, got ${String(transport)}`);
  }
  if (transport.getExtraInfo('sslcontext') != null) throw new ValueError('toGreenSocket(): a TLS stream cannot be handed over to green code');
  const node = transport.getExtraInfo('socket') as Connection['stream'];
  if (transport.isClosing() && !node.destroyed) throw new ValueError('toGreenSocket(): the writer is closing');
  const error = new HandedOverError(String(writer), 'green code (toGreenSocket)');
  const taken = reader._handOver(error);
  const stream = transport._handOver(error);
  return adoptConnection({
    stream,
    unread: taken.data,
    eof: taken.eof,
    error: taken.error === null ? null : (taken.error as Error),
    family: familyOf(transport, stream),
  });
}

function familyOf(transport: SocketTransport, stream: Connection['stream']): number {
  if (typeof transport.getExtraInfo('peername') === 'string') return C.AF_UNIX;
  return stream.remoteFamily === 'IPv6' ? C.AF_INET6 : C.AF_INET;
}

/**
 * Streams over `connection` on `loop`: the transport is made at once (the
 * Node socket never goes without listeners), the promise resolves once
 * `connectionMade` ran and reading resumed.
 */
async function streamsOver(loop: EventLoop, connection: Connection, limit?: number): Promise<[StreamReader, StreamWriter]> {
  const { stream } = connection;
  const reader = new StreamReader({ limit, loop });
  if (connection.unread.length > 0) reader.feedData(connection.unread);
  if (connection.eof) reader.feedEof();
  const protocol = new StreamReaderProtocol(reader, null, loop);
  const waiter = loop.createFuture<void>();
  const unixPath = connection.family === C.AF_UNIX ? '' : null;
  const transport = new SocketTransport(loop, stream, protocol, { waiter, unixPath });
  if (connection.error !== null) reader.setException(connection.error);
  if (stream.writableEnded) transport.writeEof();
  await waiter;
  // The transport's data listener is on now: let the bytes that waited in Node flow.
  if (transport.isReading() && !stream.destroyed) stream.resume();
  return [reader, new StreamWriter(transport, protocol, reader, loop)];
}
