/**
 * The operations green sockets call on the hub (see socket-hub.ts for the
 * state they act on, and how data flows).
 */
import net from 'node:net';
import { BrokenPipeError } from '../loop/errors.js';
import type { Future } from '../loop/futures.js';
import * as C from '../loop/socket-constants.js';
import { encodeError, type GreenCaller, registerOperation, threadOf } from './runtime/index.js';
import { abandoned, HubSocket, optionKey, park, sockets, WRITE_LOW, type Accepted, type Delivery } from './socket-hub.js';
import {
  badFd,
  BlockingIOError,
  checkAddress,
  invalid,
  notConnected,
  secondWaiter,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_SNDBUF,
  SO_ERROR,
  SO_TYPE,
  socketErrorFrom,
  SocketError,
  TCP_NODELAY,
  wouldBlock,
} from './socket-errors.js';

registerOperation('sock.new', (caller: GreenCaller, family: number, type: number): number => {
  if (![C.AF_INET, C.AF_INET6, C.AF_UNIX].includes(family)) {
    throw new SocketError('EAFNOSUPPORT', 97, `Address family not supported by protocol: ${family}`);
  }
  if (type !== C.SOCK_STREAM && (type !== C.SOCK_DGRAM || family === C.AF_UNIX)) {
    throw new SocketError('EPROTONOSUPPORT', 93, `Socket type not supported: ${type}`);
  }
  const socket = new HubSocket(family, type);
  socket.addOwner(threadOf(caller));
  return socket.id;
});

registerOperation('sock.recv', (caller: GreenCaller, id: number, position: number, timeout: number | null) => {
  const socket = HubSocket.get(id);
  const thread = threadOf(caller);
  const waiter = socket.readWaiter;
  if (waiter !== null && !waiter.future.done() && waiter.thread !== thread) throw secondWaiter(id, 'read');
  socket.reader = thread;
  socket.addOwner(thread);
  if (position >= 0) socket.acknowledge(position);
  socket.inbound.sent = position >= 0 ? position : socket.inbound.start;
  const ready = socket.ready();
  if (ready !== null) return ready;
  if (socket.error !== null) throw socket.error;
  // Never connected (fresh, bound, listening, or a failed connect): Python's ENOTCONN, not a wait forever.
  if (socket.isStream && socket.stream === null) throw notConnected();
  if (timeout === 0) throw wouldBlock();
  const future = park<Delivery>(caller, timeout, (done) => {
    if (socket.readWaiter?.future === done) socket.readWaiter = null;
  });
  future._label = waitLabel(socket, 'recv', true);
  socket.readWaiter = { thread, future };
  return future;
});

registerOperation('sock.sent', (_caller: GreenCaller, id: number) => {
  sockets.get(id)?.sent();
});

registerOperation('sock.ack', (_caller: GreenCaller, id: number, position: number) => {
  sockets.get(id)?.acknowledge(position);
  sockets.get(id)?.deliver();
});

registerOperation('sock.close', (_caller: GreenCaller, id: number) => {
  sockets.get(id)?.close();
});

registerOperation('sock.shutdown', (_caller: GreenCaller, id: number, how: number) => {
  const socket = HubSocket.get(id);
  if (![SHUT_RD, SHUT_WR, SHUT_RDWR].includes(how)) throw new SocketError('EINVAL', 22, `Invalid argument: how=${how}`);
  if (socket.state !== 'connected') throw notConnected();
  if (how !== SHUT_WR) {
    socket.eof = true;
    socket.inbound.clear();
    socket.deliver();
  }
  if (how !== SHUT_RD) socket.stream?.end();
});

// ---- connecting, binding, listening ---------------------------------------------------

registerOperation('sock.bind', (caller: GreenCaller, id: number, address: unknown) => {
  const socket = HubSocket.get(id);
  if (socket.bindAddress !== null || socket.state !== 'fresh') throw invalid('the socket is already bound');
  const local = checkAddress(socket.family, address, 'bind');
  socket.bindAddress = local;
  // Node binds a TCP socket when it listens or connects: the address is used then.
  if (socket.isStream) return undefined;
  const udp = socket.datagramSocket();
  const future = caller.loop.createFuture<void>();
  const onError = (error: Error): void => {
    socket.bindAddress = null;
    if (!future.done()) future.setException(socketErrorFrom(error));
  };
  udp.once('error', onError);
  udp.bind({ address: (local as [string, number])[0], port: (local as [string, number])[1] }, () => {
    udp.off('error', onError);
    socket.state = 'bound';
    if (!future.done()) future.setResult(undefined);
  });
  return future;
});

registerOperation('sock.listen', (caller: GreenCaller, id: number, backlog: number) => {
  const socket = HubSocket.get(id);
  if (!socket.isStream) throw new SocketError('EOPNOTSUPP', 95, 'Operation not supported on a datagram socket');
  if (socket.state === 'listening') return undefined;
  if (socket.state !== 'fresh') throw invalid('a connected socket cannot listen');
  const local = socket.bindAddress ?? checkAddress(socket.family, ['', 0], 'listen');
  const server = net.createServer({ allowHalfOpen: true });
  const future = caller.loop.createFuture<void>();
  server.once('error', (error) => {
    server.close();
    if (!future.done()) future.setException(socketErrorFrom(error));
  });
  server.on('connection', (stream) => accepted(socket, stream));
  const where = typeof local === 'string' ? { path: local } : { host: local[0], port: local[1] };
  server.listen({ ...where, backlog: Math.max(0, backlog) }, () => {
    if (future.done() || socket.state === 'closed') {
      server.close();
      return;
    }
    socket.server = server;
    socket.state = 'listening';
    future.setResult(undefined);
  });
  return future;
});

/** A connection came in on `listener`: give it to the parked accept, or queue it. */
function accepted(listener: HubSocket, stream: net.Socket): void {
  if (listener.state !== 'listening') {
    stream.destroy();
    return;
  }
  const connection = new HubSocket(listener.family, C.SOCK_STREAM);
  connection.state = 'connected';
  connection.attachStream(stream);
  const waiter = listener.acceptWaiter;
  if (waiter !== null && !waiter.future.done()) {
    listener.acceptWaiter = null;
    connection.addOwner(waiter.thread);
    waiter.future.setResult([connection.id, connection.address(true)]);
  } else {
    listener.acceptQueue.push(connection);
  }
}

registerOperation('sock.accept', (caller: GreenCaller, id: number, timeout: number | null) => {
  const socket = HubSocket.get(id);
  if (socket.state !== 'listening') throw invalid('accept() on a socket that is not listening');
  const thread = threadOf(caller);
  const waiter = socket.acceptWaiter;
  if (waiter !== null && !waiter.future.done() && waiter.thread !== thread) throw secondWaiter(id, 'accept');
  const connection = socket.acceptQueue.shift();
  if (connection !== undefined) {
    connection.addOwner(thread);
    return [connection.id, connection.address(true)] satisfies Accepted;
  }
  if (timeout === 0) throw wouldBlock();
  const future = park<Accepted>(caller, timeout, (done) => {
    if (socket.acceptWaiter?.future === done) socket.acceptWaiter = null;
  });
  future._label = waitLabel(socket, 'accept', false);
  socket.acceptWaiter = { thread, future };
  return future;
});

registerOperation('sock.connect', (caller: GreenCaller, id: number, address: unknown, timeout: number | null) => {
  const socket = HubSocket.get(id);
  const target = checkAddress(socket.family, address, 'connect');
  if (!socket.isStream) return connectDatagram(caller, socket, target as [string, number]);
  if (socket.state === 'connected') throw new SocketError('EISCONN', 106, 'Transport endpoint is already connected');
  if (socket.state === 'connecting') throw new SocketError('EALREADY', 114, 'Operation already in progress');
  if (socket.state !== 'fresh') throw invalid('a listening socket cannot connect');
  const stream = new net.Socket({ allowHalfOpen: true });
  socket.state = 'connecting';
  socket.attachStream(stream);
  const future = park<void>(caller, timeout, (done) => {
    if (abandoned(done) && socket.state === 'connecting') failConnect(socket, stream, null);
  });
  future._label = { toString: () => `sock.connect to ${JSON.stringify(target)}` };
  stream.once('connect', () => {
    if (socket.state !== 'connecting') return;
    socket.state = 'connected';
    socket.applyStreamOptions();
    if (!future.done()) future.setResult(undefined);
  });
  stream.once('error', (error) => {
    if (socket.state !== 'connecting') return;
    failConnect(socket, stream, error);
    if (!future.done()) future.setException(socketErrorFrom(error));
  });
  if (typeof target === 'string') {
    stream.connect({ path: target });
  } else {
    const local = socket.bindAddress as [string, number] | null;
    stream.connect({ host: target[0], port: target[1], localAddress: local?.[0], localPort: local?.[1] || undefined });
  }
  if (timeout === 0) throw new BlockingIOError('Operation now in progress', 'EINPROGRESS', 115);
  return future;
});

/** A connect that failed or was given up: the socket is fresh again (the error stays for connectEx). */
function failConnect(socket: HubSocket, stream: net.Socket, error: Error | null): void {
  socket.state = 'fresh';
  socket.stream = null;
  socket.error = error === null ? null : socketErrorFrom(error);
  stream.removeAllListeners();
  stream.on('error', () => undefined);
  stream.destroy();
}

function connectDatagram(caller: GreenCaller, socket: HubSocket, target: [string, number]): Future<void> {
  const udp = socket.datagramSocket();
  const future = caller.loop.createFuture<void>();
  udp.connect(target[1], target[0], (error?: Error) => {
    if (future.done()) return;
    if (error) {
      future.setException(socketErrorFrom(error));
      return;
    }
    socket.state = 'connected';
    future.setResult(undefined);
  });
  return future;
}

// ---- sending ------------------------------------------------------------------------

/** Why a write on `socket` cannot go out, or null if it can. */
function writeFailure(socket: HubSocket | undefined, id: number): Error | null {
  if (socket === undefined || socket.state === 'closed') return badFd(id);
  if (socket.error !== null) return socket.error;
  if (!socket.isStream) return null;
  if (socket.stream === null) return notConnected();
  if (socket.stream.writableEnded) return new BrokenPipeError('[Errno 32] Broken pipe (the socket was shut down for writing)');
  return null;
}

/** A posted write failed: the writer raises it at its next send. */
function pushWriteError(caller: GreenCaller, id: number, error: unknown): void {
  caller.push('sockerr', { id, error: encodeError(error) });
}

registerOperation('sock.send', (caller: GreenCaller, id: number, data: Uint8Array) => {
  const socket = sockets.get(id);
  const failure = writeFailure(socket, id);
  if (failure !== null) pushWriteError(caller, id, failure);
  else (socket as HubSocket).stream?.write(data);
});

registerOperation('sock.sendto', (caller: GreenCaller, id: number, data: Uint8Array, address: unknown) => {
  const socket = sockets.get(id);
  const failure = writeFailure(socket, id);
  if (failure !== null) {
    pushWriteError(caller, id, failure);
    return;
  }
  const udp = (socket as HubSocket).datagramSocket();
  const done = (error: Error | null): void => {
    if (error) pushWriteError(caller, id, socketErrorFrom(error));
  };
  if (address === null) {
    if (socket?.state !== 'connected') {
      pushWriteError(caller, id, new SocketError('EDESTADDRREQ', 89, 'Destination address required'));
      return;
    }
    udp.send(data, done);
  } else {
    const [host, port] = checkAddress((socket as HubSocket).family, address, 'sendto') as [string, number];
    if (socket?.state === 'fresh') socket.state = 'bound';
    udp.send(data, port, host, done);
  }
});

registerOperation('sock.drain', (caller: GreenCaller, id: number, timeout: number | null) => {
  const socket = sockets.get(id);
  const failure = writeFailure(socket, id);
  if (failure !== null) throw failure;
  const stream = (socket as HubSocket).stream;
  const buffered = stream?.writableLength ?? 0;
  if (stream === null || buffered <= WRITE_LOW) return buffered;
  if (timeout === 0) throw wouldBlock();
  const future = park<number>(caller, timeout, (done) => (socket as HubSocket).drainWaiters.delete(done));
  future._label = waitLabel(socket as HubSocket, 'sendall', true);
  (socket as HubSocket).drainWaiters.add(future);
  return future;
});

// ---- options, names, resolving ---------------------------------------------------------

const SETTABLE = new Set([
  optionKey(C.IPPROTO_TCP, TCP_NODELAY),
  optionKey(C.SOL_SOCKET, SO_KEEPALIVE),
  optionKey(C.SOL_SOCKET, C.SO_REUSEADDR),
  optionKey(C.SOL_SOCKET, C.SO_REUSEPORT),
  optionKey(C.SOL_SOCKET, C.SO_BROADCAST),
  optionKey(C.SOL_SOCKET, SO_SNDBUF),
  optionKey(C.SOL_SOCKET, SO_RCVBUF),
  optionKey(C.SOL_SOCKET, SO_LINGER),
]);

function unsupportedOption(level: number, name: number): SocketError {
  return new SocketError('ENOPROTOOPT', 92, `Protocol not available: socket option ${name} at level ${level} is not supported`);
}

registerOperation('sock.setopt', (_caller: GreenCaller, id: number, level: number, name: number, value: number) => {
  const socket = HubSocket.get(id);
  const key = optionKey(level, name);
  if (!SETTABLE.has(key)) throw unsupportedOption(level, name);
  socket.options.set(key, value);
  socket.applyStreamOptions();
  if (socket.state === 'bound' || socket.state === 'connected') socket.applyDatagramOptions();
});

registerOperation('sock.getopt', (_caller: GreenCaller, id: number, level: number, name: number) => {
  const socket = HubSocket.get(id);
  if (level === C.SOL_SOCKET && name === SO_TYPE) return socket.type;
  if (level === C.SOL_SOCKET && name === SO_ERROR) return 0;
  if (!SETTABLE.has(optionKey(level, name))) throw unsupportedOption(level, name);
  return socket.option(level, name);
});

registerOperation('sock.name', (_caller: GreenCaller, id: number, peer: boolean) => HubSocket.get(id).address(peer));

registerOperation(
  'sock.getaddrinfo',
  (caller: GreenCaller, host: string | null, port: number | string | null, family: number, type: number, proto: number, flags: number) =>
    caller.loop.getaddrinfo(host, port, { family, type, proto, flags }),
);

/**
 * What a thread parked on `socket` waits for, in dumps: `sock.recv on
 * 127.0.0.1:5000 (peer)`; the address is read only when a dump asks.
 */
function waitLabel(socket: HubSocket, call: string, peer: boolean): { toString(): string } {
  return {
    toString: () => {
      let where: string;
      try {
        const address = socket.address(peer);
        where = Array.isArray(address) ? `${String(address[0])}:${String(address[1])}` : String(address);
      } catch {
        where = 'an unconnected socket';
      }
      return `sock.${call} on ${where}${peer ? ' (peer)' : ' (listening)'}`;
    },
  };
}
