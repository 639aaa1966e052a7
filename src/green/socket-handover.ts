/**
 * A live connection leaving a green socket, or becoming one: the hub's
 * half of the bridge's hand-over (src/bridge/hand-over.ts pairs it with
 * asyncio-style streams).
 *
 * A green socket's connection is a Node socket the hub owns, plus what the
 * hub received and the last green reader has not consumed (socket-hub.ts
 * keeps everything after the acknowledged position, so bytes pushed ahead
 * to a worker are still here). Handing it over moves the Node socket
 * itself, paused, so nothing is read while it changes hands, with those
 * bytes, the end of stream and the error it saw.
 *
 * Guarantees:
 * - the bytes carried are exactly those after the reading position of the
 *   Socket object given (the position its last green reader reached,
 *   carried by its handle), in order, then what the Node socket reads next;
 * - writes already posted by green code are in the Node socket's buffer
 *   and go out first; the end of stream and a connection error carry over;
 * - the green socket is closed on the hub without closing the connection:
 *   green calls parked on it raise the hand-over's error, and later calls
 *   from other threads' handles raise EBADF.
 */
import type net from 'node:net';
import { ValueError } from '../loop/errors.js';
import * as C from '../loop/socket-constants.js';
import { inGreenWorker } from './runtime/index.js';
import { Socket } from './socket.js';
import { badFd, notConnected } from './socket-errors.js';
import { HubSocket, sockets, STREAM_WINDOW } from './socket-hub.js';

/** A connection between owners: the Node socket and what it carried so far. */
export interface Connection {
  /** Paused, with no listener of its former owner. */
  readonly stream: net.Socket;
  /** Received and not yet read, in order. */
  readonly unread: Buffer;
  /** The peer finished sending (and `unread` is the last of it). */
  readonly eof: boolean;
  /** The connection failed with this. */
  readonly error: Error | null;
  /** AF_INET, AF_INET6 or AF_UNIX. */
  readonly family: number;
}

/** The events a green socket listens to on its Node socket. */
const HUB_EVENTS = ['data', 'end', 'error', 'drain', 'close', 'connect'] as const;

/**
 * Takes the connection out of `sock` (a Socket object on the hub's thread),
 * with `ahead` (bytes its green reader read ahead, e.g. in a makefile)
 * first. `sock` is detached: its later calls raise `error`.
 */
export function releaseConnection(sock: Socket, ahead: Buffer, error: Error): Connection {
  if (inGreenWorker()) throw new ValueError('releaseConnection() runs on the hub');
  const position = sock._handle().consumed;
  const hub = sockets.get(sock._id);
  if (hub === undefined) throw badFd(sock._id);
  if (!hub.isStream) throw new ValueError(`${String(sock)}: only a connected stream socket can be handed over`);
  const stream = hub.stream;
  if (stream === null || hub.state !== 'connected') throw notConnected();
  const delivery = hub.inbound.take(position >= 0 ? position : hub.inbound.start, Number.POSITIVE_INFINITY);
  const held = delivery === null ? ahead : Buffer.concat([ahead, delivery[1] as Uint8Array]);
  const connection: Connection = { stream, unread: held, eof: hub.eof, error: hub.error, family: hub.family };
  stream.pause();
  for (const event of HUB_EVENTS) stream.removeAllListeners(event);
  hub.failWaiters(error);
  hub.stream = null;
  hub.close();
  sock._detach(error);
  return connection;
}

/**
 * A green socket over `connection`: a Socket object on the hub's thread,
 * to pass to a green thread (`spawn(handle, sock)`); its first `recv`
 * returns the unread bytes, then the end or the error if they came.
 */
export function adoptConnection(connection: Connection): Socket {
  if (inGreenWorker()) throw new ValueError('adoptConnection() runs on the hub');
  const hub = new HubSocket(connection.family, C.SOCK_STREAM);
  hub.state = 'connected';
  if (connection.unread.length > 0) hub.inbound.append(connection.unread);
  hub.eof = connection.eof;
  hub.error = connection.error;
  const stream = connection.stream;
  hub.attachStream(stream);
  // Paused by the former owner; the hub resumes it itself once its window has room.
  if (!stream.destroyed && hub.inbound.size < STREAM_WINDOW) stream.resume();
  const sock = new Socket(connection.family, C.SOCK_STREAM, 0, hub.id);
  sock._adopt({ ...sock._handle(), connected: true });
  return sock;
}
