/**
 * eventlet's convenience functions: `listen`, `connect`, `serve`, `StopServe`.
 *
 *     export function handle(client: Socket, address: Address): void {
 *       for (;;) {
 *         const data = client.recv(65536);
 *         if (data.length === 0) return;   // serve() closes the client
 *         client.sendall(data);
 *       }
 *     }
 *     export function main(): void {
 *       serve(listen(['127.0.0.1', 6000]), handle);
 *     }
 *
 * `serve` runs every handler in a green thread of its own, at most
 * `concurrency` at once; its concurrency limit is kept by the hub (one
 * operation per connection, which also spawns the handler), not by a
 * GreenPool, so a connection costs no extra round trip.
 */
import { GreenloopError, ValueError } from '../loop/errors.js';
import type { Future } from '../loop/futures.js';
import {
  blockingOnHub,
  callHub,
  checkBridge,
  encodeValue,
  functionRef,
  type FunctionRef,
  type GreenCaller,
  type HubThread,
  inGreenWorker,
  registerErrorClass,
  registerOperation,
  sendHub,
  threadOf,
} from './runtime/index.js';
import { GreenletExit } from './errors.js';
import { sockets } from './socket-hub.js';
import { AF_INET, AF_INET6, AF_UNIX, SOL_SOCKET, SO_REUSEADDR, SO_REUSEPORT, SOCK_STREAM } from '../loop/socket-constants.js';
import { Socket, type Address } from './socket.js';

const MODULE = import.meta.url;

/**
 * Raised in a `serve()` handler, stops the server cleanly: `serve` returns
 * instead of raising (eventlet's StopServe).
 */
export class StopServe extends GreenloopError {
  constructor(message = 'stop serving') {
    super(message);
    this.name = 'StopServe';
  }
}
registerErrorClass(StopServe);

/** AF_UNIX for a path, AF_INET6 for a host with ':', else AF_INET. */
function familyOf(address: Address): number {
  if (typeof address === 'string') return AF_UNIX;
  return address[0].includes(':') ? AF_INET6 : AF_INET;
}

export interface ListenOptions {
  /** The address family; by default found from the address. */
  family?: number;
  /** SO_REUSEADDR (default true). */
  reuseAddr?: boolean;
  /** SO_REUSEPORT (default: true unless the port is 0, as eventlet). */
  reusePort?: boolean;
}

/**
 * A socket listening on `address` (SO_REUSEADDR set), for `serve()` or an
 * accept loop (eventlet's `listen`). Port 0 picks a free port: read it
 * with `getsockname()`.
 */
export function listen(address: Address, backlog = 50, options: ListenOptions = {}): Socket {
  checkBridge('listen');
  const family = options.family ?? familyOf(address);
  const sock = new Socket(family, SOCK_STREAM);
  try {
    if (family !== AF_UNIX) {
      if (options.reuseAddr ?? true) sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
      const randomPort = typeof address !== 'string' && address[1] === 0;
      if (options.reusePort ?? !randomPort) sock.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
    }
    sock.bind(address);
    sock.listen(backlog);
    return sock;
  } catch (error) {
    sock.close();
    throw error;
  }
}

/** A socket connected to `address`, optionally bound to `bind` first (eventlet's `connect`). */
export function connect(address: Address, family: number = familyOf(address), bind: Address | null = null): Socket {
  checkBridge('connect');
  const sock = new Socket(family, SOCK_STREAM);
  try {
    if (bind !== null) sock.bind(bind);
    sock.connect(address);
    return sock;
  } catch (error) {
    sock.close();
    throw error;
  }
}

/**
 * Accepts connections on `sock` forever, calling `handle(client, address)`
 * in a new green thread for each (eventlet's `serve`); the client socket is
 * closed when `handle` returns. At most `concurrency` handlers run at once:
 * past that, accepted connections wait for a free slot. `handle` must be a
 * module-level exported function.
 *
 * An error raised by a handler ends `serve` with that error (GreenletExit
 * aside); raising StopServe in a handler makes `serve` return. The
 * listening socket stays open, and running handlers go on.
 */
export function serve(sock: Socket, handle: (client: Socket, address: Address) => unknown, concurrency = 1000): void {
  checkBridge('serve');
  if (!inGreenWorker()) throw blockingOnHub('serve()', 'use startServer() from greenloop/loop');
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ValueError(`serve: concurrency must be a positive integer, got ${concurrency}`);
  }
  const ref = functionRef(handle, 'the serve() handler');
  const server = callHub<number>('serve.open', [concurrency], { module: MODULE });
  try {
    for (;;) {
      const [client, address] = sock.accept();
      // The handle stays encoded through the hub: the handler's thread is its first owner.
      callHub('serve.spawn', [server, ref, [encodeValue(client), address], client._id], { module: MODULE });
    }
  } catch (error) {
    if (error instanceof StopServe) return;
    throw error;
  } finally {
    sendHub('serve.close', [server], MODULE);
  }
}

// ---- hub side ----------------------------------------------------------------------

interface PendingHandler {
  readonly future: Future<void>;
  readonly ref: FunctionRef;
  readonly args: unknown[];
  readonly clientId: number;
}

interface ServeState {
  readonly caller: GreenCaller;
  readonly server: HubThread;
  readonly limit: number;
  running: number;
  open: boolean;
  readonly pending: PendingHandler[];
}

let nextServeId = 1;
const serves = new Map<number, ServeState>();

registerOperation('serve.open', (caller: GreenCaller, limit: number) => {
  const id = nextServeId++;
  serves.set(id, { caller, server: threadOf(caller), limit, running: 0, open: true, pending: [] });
  return id;
});

registerOperation('serve.close', (_caller: GreenCaller, id: number) => {
  const state = serves.get(id);
  if (state === undefined) return;
  state.open = false;
  serves.delete(id);
});

registerOperation(
  'serve.spawn',
  (caller: GreenCaller, id: number, ref: FunctionRef, args: unknown[], clientId: number): Future<void> | undefined => {
    const state = serves.get(id);
    if (state === undefined) throw new ValueError(`serve: unknown server ${id}`);
    if (state.running < state.limit) {
      startHandler(state, ref, args, clientId);
      return undefined;
    }
    const future = caller.loop.createFuture<void>();
    // Given up (the server was killed): the connection was never handed over.
    future.addDoneCallback(() => {
      if (future.cancelled()) sockets.get(clientId)?.close();
    });
    state.pending.push({ future, ref, args, clientId });
    return future;
  },
);

/** Runs a handler thread; at its exit, closes the client, reports its error to the server, starts the next. */
function startHandler(state: ServeState, ref: FunctionRef, args: unknown[], clientId: number): void {
  state.running++;
  const thread = state.caller.hub.spawnRef(ref, args, 0, false);
  thread.onExit((ended) => {
    state.running--;
    sockets.get(clientId)?.close();
    const outcome = ended.retrieve();
    if (!outcome.ok && !(outcome.value instanceof GreenletExit) && state.open) {
      state.open = false;
      state.server.killWith(outcome.value);
    }
    startNextHandler(state);
  });
}

function startNextHandler(state: ServeState): void {
  while (state.running < state.limit && state.pending.length > 0) {
    const next = state.pending.shift() as PendingHandler;
    if (next.future.done()) continue;
    startHandler(state, next.ref, next.args, next.clientId);
    next.future.setResult(undefined);
  }
}
