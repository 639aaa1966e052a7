/**
 * Constants, errors and addresses of green sockets, shared by their green
 * side (socket.ts) and their hub side (socket-hub.ts, socket-ops.ts).
 */
import { BrokenPipeError, ConnectionAbortedError, ConnectionRefusedError, ConnectionResetError, GreenloopError, RuntimeError, TimeoutError } from '../loop/errors.js';
import * as C from '../loop/socket-constants.js';
import { registerErrorClass } from './runtime/index.js';

// ---- public constants and errors --------------------------------------------------

export const TCP_NODELAY = 1;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_LINGER = 13;
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** Bytes (TCP) kept beyond what the reader consumed before the hub stops reading. */
export const STREAM_WINDOW = 256 * 1024;
/** Datagrams kept beyond what the reader consumed; more are dropped, as a full socket buffer does. */
export const DGRAM_WINDOW = 256;
/** Bytes a green thread may post without confirmation before it asks the hub to drain. */
export const WRITE_WINDOW = 1024 * 1024;
/** `sock.drain` answers once Node's write buffer holds at most this many bytes (asyncio's low-water mark). */
export const WRITE_LOW = 64 * 1024;

/** A socket operation timed out (Python's `socket.timeout`, a TimeoutError): message 'timed out'. */
export class SocketTimeout extends TimeoutError {
  constructor(message = 'timed out') {
    super(message);
    this.name = 'SocketTimeout';
  }
}

/**
 * An operation on a non-blocking socket (`settimeout(0)`, `setblocking(false)`)
 * would block (Python's BlockingIOError): `code` 'EAGAIN' (errno 11), or
 * 'EINPROGRESS' (115) for a connect that goes on in the background.
 */
export class BlockingIOError extends GreenloopError {
  readonly code: string;
  readonly errno: number;

  constructor(message = 'Resource temporarily unavailable', code = 'EAGAIN', errno = 11) {
    super(`[Errno ${errno}] ${message}`);
    this.name = 'BlockingIOError';
    this.code = code;
    this.errno = errno;
  }
}

/**
 * Any other failed socket call (Python's OSError): `code` is the errno name
 * ('EBADF', 'ENOTCONN', 'EADDRINUSE'...), `errno` its Linux number.
 */
export class SocketError extends GreenloopError {
  readonly code: string;
  readonly errno: number;

  constructor(code: string, errno: number, message: string) {
    super(`[Errno ${errno}] ${message}`);
    this.name = 'SocketError';
    this.code = code;
    this.errno = errno;
  }
}

/**
 * The socket (or stream) was handed to the other world (`toStreams`,
 * `handOver`, `toGreenSocket`): the object stays detached, and every later
 * call on it raises this, naming where the connection went. A SocketError
 * with `code` 'EBADF' (errno 9), as Python's socket after `detach()`.
 */
export class HandedOverError extends SocketError {
  constructor(what: string, where: string) {
    super('EBADF', 9, `Bad file descriptor: ${what} was handed over to ${where}; use that side from now on`);
    this.name = 'HandedOverError';
  }
}

// ---- addresses --------------------------------------------------------------------

/** An address: `[host, port]` (IPv4), `[host, port, flowinfo, scopeid]` (IPv6), or a path (AF_UNIX). */
export type Address = readonly [host: string, port: number] | readonly [string, number, number, number] | string;

/** `address` checked for `family`, with Python's '' (any address) made explicit. */
export function checkAddress(family: number, address: unknown, call: string): Address {
  if (family === C.AF_UNIX) {
    if (typeof address !== 'string') throw new TypeError(`${call}: an AF_UNIX address must be a path string`);
    return address;
  }
  if (!Array.isArray(address) || typeof address[0] !== 'string' || typeof address[1] !== 'number') {
    throw new TypeError(`${call}: the address must be a [host, port] tuple, got ${String(address)}`);
  }
  const port = address[1];
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${call}: port must be 0-65535, got ${port}`);
  }
  const host = address[0] === '' ? (family === C.AF_INET6 ? '::' : '0.0.0.0') : address[0];
  return [host, port];
}

export function addressOf(family: number, host: string | undefined, port: number | undefined): Address {
  if (family === C.AF_UNIX) return host ?? '';
  return family === C.AF_INET6 ? [host ?? '::', port ?? 0, 0, 0] : [host ?? '0.0.0.0', port ?? 0];
}

// ---- errors -----------------------------------------------------------------------

const NODE_ERRORS: Record<string, new (message: string, details: object) => Error> = {
  ECONNREFUSED: ConnectionRefusedError,
  ECONNRESET: ConnectionResetError,
  EPIPE: BrokenPipeError,
  ECONNABORTED: ConnectionAbortedError,
};

/** A Node socket error as the class Python raises, keeping Node's `code`, `errno` and `syscall`. */
export function socketErrorFrom(error: unknown): Error {
  const nodeError = error as NodeJS.ErrnoException;
  const cls = nodeError?.code === undefined ? undefined : NODE_ERRORS[nodeError.code];
  if (cls === undefined) return error as Error;
  return new cls(nodeError.message, { code: nodeError.code, errno: nodeError.errno, syscall: nodeError.syscall });
}

export const badFd = (id: number): SocketError => new SocketError('EBADF', 9, `Bad file descriptor (socket ${id} is closed)`);
export const notConnected = (): SocketError => new SocketError('ENOTCONN', 107, 'Transport endpoint is not connected');

export function secondWaiter(id: number, what: string): RuntimeError {
  return new RuntimeError(
    `Second simultaneous ${what} on fileno ${id} detected. Unless you really know what you're doing, ` +
      `make sure that only one green thread can ${what} any particular socket.`,
  );
}

export const invalid = (what: string): SocketError => new SocketError('EINVAL', 22, `Invalid argument: ${what}`);

/** EAGAIN for a non-blocking call that would block. */
export function wouldBlock(): BlockingIOError {
  return new BlockingIOError();
}

for (const cls of [SocketTimeout, BlockingIOError, SocketError, HandedOverError]) registerErrorClass(cls);
