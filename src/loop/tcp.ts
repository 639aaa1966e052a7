/**
 * Stream connections and servers (asyncio's `create_connection`,
 * `create_server`, `create_unix_connection`, `create_unix_server`), as
 * functions taking the loop first; `EventLoop` has the same as methods.
 *
 * TLS settings (`ssl`):
 * - client side: `true` (Node's default CAs, certificate and host name
 *   checked), a `tls.SecureContext`, or an object of `tls.connect()` options
 *   (`ca`, `cert`, `key`, `rejectUnauthorized`, `ALPNProtocols`, ...);
 *   `serverHostname` is the name sent (SNI) and checked, the host by default,
 *   '' to skip the host name check;
 * - server side: a `tls.SecureContext`, or an object of
 *   `tls.createSecureContext()` options (`key`, `cert`, `ca`, ...) plus
 *   `requestCert`, `rejectUnauthorized`, `ALPNProtocols`, `SNICallback`.
 *
 * Every blocking step waits on a loop Future, so awaiting these from a task
 * is cancellable; a cancelled or failed attempt leaves no socket open.
 */
import { lookup } from 'node:dns/promises';
import { statSync, unlinkSync } from 'node:fs';
import { connect as netConnect, isIP, type ListenOptions, type Socket } from 'node:net';
import * as tlsModule from 'node:tls';
import {
  connect as tlsConnect,
  createSecureContext,
  type ConnectionOptions as TlsConnectOptions,
  type SecureContext,
  type TLSSocketOptions,
  type TlsOptions,
} from 'node:tls';
import { taskContext } from './context.js';
import { TimeoutError, ValueError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import { futureFromPromise } from './futures.js';
import type { Protocol } from './protocols.js';
import { Server, type ServerTlsSettings } from './server.js';
import { AF_INET, AF_INET6, AF_UNSPEC } from './socket-constants.js';
import { connectionErrorFrom, SocketTransport } from './socket-transport.js';

/** Client-side TLS: true (defaults), a SecureContext, or tls.connect() options. */
export type ClientSSL = boolean | SecureContext | TlsConnectOptions;
/** Server-side TLS: a SecureContext, or tls.createSecureContext() options plus server options. */
export type ServerSSL = SecureContext | TlsOptions;

export interface UnixConnectionOptions {
  /** Use TLS (see the module doc for the accepted shapes). */
  ssl?: ClientSSL | null;
  /** The host name to send (SNI) and check; defaults to `host`; '' skips the check. */
  serverHostname?: string | null;
  /** Seconds the TLS handshake may take (default 60). */
  sslHandshakeTimeout?: number | null;
  /** An already connected socket to use instead of connecting. */
  sock?: Socket | null;
}

export interface ConnectionOptions extends UnixConnectionOptions {
  /** [host, port] to bind the socket to before connecting. */
  localAddr?: readonly [string, number] | null;
  /** 4 (or AF_INET) / 6 (or AF_INET6) to use only IPv4 / IPv6 addresses of `host`; 0 (default) for either. */
  family?: number;
}

export interface UnixServerOptions {
  /** Serve TLS (see the module doc for the accepted shapes). */
  ssl?: ServerSSL | null;
  /** The listen() backlog (default 100). */
  backlog?: number;
  /** Start accepting at once (default true); otherwise call `server.startServing()`. */
  startServing?: boolean;
  /** Seconds a client has to finish the TLS handshake (default 60). */
  sslHandshakeTimeout?: number | null;
}

export interface ServerOptions extends UnixServerOptions {
  /** 4 (or AF_INET) / 6 (or AF_INET6) to listen only on IPv4 / IPv6 addresses of `host`; 0 (default) for all. */
  family?: number;
  /** Accepted for asyncio compatibility: Node always sets SO_REUSEADDR on listening TCP sockets. */
  reuseAddress?: boolean;
  /** SO_REUSEPORT: needs Node >= 22.12; ValueError on older Node. */
  reusePort?: boolean;
}

/** Where to listen: one host, several hosts, or null / '' for every interface. */
export type ServerHost = string | readonly string[] | null | undefined;

type ProtocolFactory<P extends Protocol> = () => P;

const DEFAULT_BACKLOG = 100;
const DEFAULT_SSL_HANDSHAKE_TIMEOUT = 60;

// ---- connecting ----------------------------------------------------------------

/**
 * Connects to `host`:`port` (every address of the host is tried), makes a
 * protocol with `protocolFactory()` and a transport for it, and resolves to
 * `[transport, protocol]` once `protocol.connectionMade` has run. TCP_NODELAY
 * is set. Errors: ConnectionRefusedError (code ECONNREFUSED) and Node's own
 * (ENOTFOUND, ETIMEDOUT, TLS certificate errors...) with their `code`;
 * RangeError for a port outside 1..65535; ValueError for inconsistent options.
 */
export async function createConnection<P extends Protocol>(
  loop: EventLoop,
  protocolFactory: ProtocolFactory<P>,
  host?: string | null,
  port?: number | string | null,
  options: ConnectionOptions = {},
): Promise<[SocketTransport, P]> {
  checkFactory(protocolFactory, 'createConnection');
  const ssl = clientTls(options, host ?? null);
  let sock = options.sock ?? null;
  if (sock !== null && (host != null || port != null)) {
    throw new ValueError('host/port and sock can not be specified at the same time');
  }
  if (sock === null) {
    if (host == null && port == null) throw new ValueError('host and port was not specified and no sock specified');
    if (host != null && typeof host !== 'string') throw new TypeError(`createConnection: host must be a string, got ${typeof host}`);
    const target = {
      host: host ?? undefined,
      port: checkPort(port, 'createConnection', 1),
      family: checkFamily(options.family, 'createConnection'),
      ...localAddress(options.localAddr),
    };
    sock = await connectSocket(loop, () => netConnect({ ...target, allowHalfOpen: true }), 'connect', null);
  }
  sock.setNoDelay(true);
  return finishConnection(loop, protocolFactory, sock, ssl, null);
}

/** createConnection over a Unix socket at `path`. Errors: ENOENT, ConnectionRefusedError... */
export async function createUnixConnection<P extends Protocol>(
  loop: EventLoop,
  protocolFactory: ProtocolFactory<P>,
  path?: string | null,
  options: UnixConnectionOptions = {},
): Promise<[SocketTransport, P]> {
  checkFactory(protocolFactory, 'createUnixConnection');
  const ssl = clientTls(options, null);
  let sock = options.sock ?? null;
  if (sock !== null && path != null) throw new ValueError('path and sock can not be specified at the same time');
  if (sock === null) {
    const socketPath = checkPath(path, 'createUnixConnection');
    sock = await connectSocket(loop, () => netConnect({ path: socketPath, allowHalfOpen: true }), 'connect', null);
  }
  return finishConnection(loop, protocolFactory, sock, ssl, sock.remoteAddress ?? path ?? '');
}

/** TLS (if asked), then the protocol and its transport; the socket is closed on any failure. */
async function finishConnection<P extends Protocol>(
  loop: EventLoop,
  protocolFactory: ProtocolFactory<P>,
  raw: Socket,
  ssl: ClientTlsSettings | null,
  unixPath: string | null,
): Promise<[SocketTransport, P]> {
  let socket = raw;
  if (ssl !== null) {
    try {
      socket = await connectSocket(
        loop,
        () => tlsConnect({ ...ssl.options, socket: raw, secureContext: ssl.context }),
        'secureConnect',
        ssl.handshakeTimeout,
      );
    } catch (err) {
      // A TLS socket that fails before its handshake completes leaves the TCP socket open.
      raw.destroy();
      throw err;
    }
  }
  let protocol: P;
  try {
    protocol = protocolFactory();
  } catch (err) {
    socket.destroy();
    throw err;
  }
  const waiter = loop.createFuture<void>();
  const transport = new SocketTransport(loop, socket, protocol, {
    waiter,
    sslContext: ssl?.context ?? null,
    unixPath,
  });
  try {
    await waiter;
  } catch (err) {
    transport.close();
    throw err;
  }
  return [transport, protocol];
}

/**
 * Makes a socket outside any task's async context and waits for `readyEvent`;
 * on error, timeout or cancellation the socket is destroyed and the error raised.
 */
async function connectSocket(
  loop: EventLoop,
  makeSocket: () => Socket,
  readyEvent: 'connect' | 'secureConnect',
  timeoutSeconds: number | null,
): Promise<Socket> {
  const ready = loop.createFuture<void>();
  const socket = taskContext.exit(makeSocket);
  const fail = (err: Error): void => {
    if (!ready.done()) ready.setException(connectionErrorFrom(err));
  };
  // Stays attached: an error between 'connect' and the transport taking over
  // must not become an uncaught 'error' event.
  socket.on('error', fail);
  socket.once(readyEvent, () => {
    if (!ready.done()) ready.setResult(undefined);
  });
  const timer =
    timeoutSeconds === null
      ? null
      : loop.callLater(timeoutSeconds, () => fail(new TimeoutError(`TLS handshake did not complete in ${timeoutSeconds} seconds`)));
  try {
    await ready;
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    timer?.cancel();
  }
  return socket;
}

// ---- serving -------------------------------------------------------------------

/**
 * Listens on `host`:`port` and serves each connection with a new protocol
 * from `protocolFactory`. `host` may be a name (every address it resolves to
 * gets its own socket), an address, a list of them, or null / '' for every
 * interface; port 0 picks a free port (per socket). Listening errors
 * (EADDRINUSE, EACCES...) are Node's, with their `code`; RangeError for a port
 * outside 0..65535. Resolves once listening (and, with startServing, serving).
 */
export async function createServer(
  loop: EventLoop,
  protocolFactory: ProtocolFactory<Protocol>,
  host?: ServerHost,
  port?: number | string | null,
  options: ServerOptions = {},
): Promise<Server> {
  checkFactory(protocolFactory, 'createServer');
  const portNumber = checkPort(port ?? 0, 'createServer', 0);
  const family = checkFamily(options.family, 'createServer');
  const extra = reusePortOption(options.reusePort);
  const tls = serverTls(options);
  const server = new Server(loop, { protocolFactory, tls, unixPath: null, backlog: checkBacklog(options.backlog) });
  const targets = await listenTargets(loop, host, portNumber, family);
  await server._listen(targets.map((target) => ({ ...target, ...extra })));
  if (options.startServing ?? true) await server.startServing();
  return server;
}

/**
 * createServer on a Unix socket at `path`. A stale socket file left there is
 * removed first (as asyncio does); Node removes the file when the server closes.
 */
export async function createUnixServer(
  loop: EventLoop,
  protocolFactory: ProtocolFactory<Protocol>,
  path: string,
  options: UnixServerOptions = {},
): Promise<Server> {
  checkFactory(protocolFactory, 'createUnixServer');
  const socketPath = checkPath(path, 'createUnixServer');
  const tls = serverTls(options);
  removeStaleSocket(socketPath);
  const server = new Server(loop, { protocolFactory, tls, unixPath: socketPath, backlog: checkBacklog(options.backlog) });
  await server._listen([{ path: socketPath }]);
  if (options.startServing ?? true) await server.startServing();
  return server;
}

/** One ListenOptions per address to listen on. */
async function listenTargets(loop: EventLoop, host: ServerHost, port: number, family: 0 | 4 | 6): Promise<ListenOptions[]> {
  const hosts = host === null || host === undefined || host === '' ? [] : typeof host === 'string' ? [host] : [...host];
  if (hosts.length === 0) return [{ port }]; // every interface, IPv4 and IPv6 on one dual-stack socket
  const addresses = new Map<string, number>();
  for (const name of hosts) {
    if (typeof name !== 'string') throw new TypeError(`createServer: host must be a string, got ${typeof name}`);
    const found = isIP(name) !== 0 ? [{ address: name, family: isIP(name) }] : await resolveAll(loop, name, family);
    for (const entry of found) if (family === 0 || entry.family === family) addresses.set(entry.address, entry.family);
  }
  // As asyncio: an IPv6 socket takes IPv6 only, so '::' and '0.0.0.0' can both listen.
  return [...addresses].map(([address, addressFamily]) => ({ host: address, port, ipv6Only: addressFamily === 6 }));
}

async function resolveAll(loop: EventLoop, name: string, family: 0 | 4 | 6): Promise<{ address: string; family: number }[]> {
  return futureFromPromise(lookup(name, { all: true, family }), loop);
}

function removeStaleSocket(path: string): void {
  if (path.startsWith('\0')) return; // Linux abstract namespace: no file
  try {
    if (statSync(path).isSocket()) unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

// ---- TLS settings --------------------------------------------------------------

export interface ClientTlsSettings {
  context: SecureContext;
  options: TlsConnectOptions;
  handshakeTimeout: number;
}

let defaultClientContext: SecureContext | null = null;

/** asyncio's rules for ssl / server_hostname / ssl_handshake_timeout, then Node's options. */
export function clientTls(options: UnixConnectionOptions, host: string | null): ClientTlsSettings | null {
  const { ssl, serverHostname, sslHandshakeTimeout } = options;
  if (!ssl) {
    if (serverHostname != null) throw new ValueError('serverHostname is only meaningful with ssl');
    if (sslHandshakeTimeout != null) throw new ValueError('sslHandshakeTimeout is only meaningful with ssl');
    return null;
  }
  if (serverHostname == null && !host) {
    throw new ValueError('You must set serverHostname when using ssl without a host');
  }
  const name = serverHostname ?? host ?? '';
  const given = ssl === true || isSecureContext(ssl) ? {} : ssl;
  const context = isSecureContext(ssl)
    ? ssl
    : ssl === true
      ? (defaultClientContext ??= createSecureContext())
      : createSecureContext(given);
  const connectOptions: TlsConnectOptions = { ...given };
  // SNI takes host names only; the identity check uses servername or host.
  if (name !== '' && isIP(name) === 0) connectOptions.servername = name;
  else if (name !== '') connectOptions.host = name;
  if (name === '') connectOptions.checkServerIdentity = () => undefined;
  return { context, options: connectOptions, handshakeTimeout: checkHandshakeTimeout(sslHandshakeTimeout) };
}

function serverTls(options: UnixServerOptions): ServerTlsSettings | null {
  const { ssl, sslHandshakeTimeout } = options;
  if (ssl === null || ssl === undefined) {
    if (sslHandshakeTimeout != null) throw new ValueError('sslHandshakeTimeout is only meaningful with ssl');
    return null;
  }
  if (typeof ssl !== 'object') throw new TypeError('ssl argument must be a tls.SecureContext or TLS server options');
  const handshakeTimeout = checkHandshakeTimeout(sslHandshakeTimeout);
  if (isSecureContext(ssl)) return { context: ssl, handshakeTimeout };
  return {
    context: createSecureContext(ssl),
    requestCert: ssl.requestCert,
    rejectUnauthorized: ssl.rejectUnauthorized,
    // Node converts arrays of strings and of buffers alike.
    ALPNProtocols: ssl.ALPNProtocols as TLSSocketOptions['ALPNProtocols'],
    SNICallback: ssl.SNICallback,
    handshakeTimeout,
  };
}

/** Node exports the class of tls.createSecureContext()'s result without typing it. */
function isSecureContext(value: unknown): value is SecureContext {
  const SecureContextClass = (tlsModule as unknown as { SecureContext?: abstract new () => unknown }).SecureContext;
  if (typeof SecureContextClass === 'function') return value instanceof SecureContextClass;
  return typeof value === 'object' && value !== null && value.constructor?.name === 'SecureContext';
}

// ---- argument checks -----------------------------------------------------------

function checkFactory(factory: unknown, method: string): void {
  if (typeof factory !== 'function') {
    throw new TypeError(`${method}: protocolFactory must be a function returning a protocol, got ${typeof factory}`);
  }
}

/** A port as a number: an integer (or its decimal string) from `min` to 65535. */
function checkPort(port: unknown, method: string, min: number): number {
  if (typeof port !== 'number' && typeof port !== 'string') {
    throw new TypeError(`${method}: port must be a number, got ${port === null ? 'null' : typeof port}`);
  }
  const value = typeof port === 'string' && /^\d+$/.test(port.trim()) ? Number(port) : port;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 65535) {
    throw new RangeError(`${method}: port must be an integer from ${min} to 65535, got ${JSON.stringify(port)}`);
  }
  return value;
}

/** Node's family number; Python's AF_INET (2) and AF_INET6 (10) are accepted too. */
function checkFamily(family: unknown, method: string): 0 | 4 | 6 {
  if (family === undefined || family === null || family === AF_UNSPEC) return 0;
  if (family === 4 || family === AF_INET) return 4;
  if (family === 6 || family === AF_INET6) return 6;
  throw new ValueError(`${method}: family must be 0, 4 or 6 (or AF_INET / AF_INET6), got ${String(family)}`);
}

function checkPath(path: unknown, method: string): string {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`${method}: path must be a non-empty string, got ${JSON.stringify(path)}`);
  }
  return path;
}

function checkBacklog(backlog: unknown): number {
  if (backlog === undefined || backlog === null) return DEFAULT_BACKLOG;
  if (typeof backlog !== 'number' || !Number.isInteger(backlog) || backlog < 0) {
    throw new ValueError(`backlog must be a non-negative integer, got ${String(backlog)}`);
  }
  return backlog;
}

function checkHandshakeTimeout(timeout: unknown): number {
  if (timeout === undefined || timeout === null) return DEFAULT_SSL_HANDSHAKE_TIMEOUT;
  if (typeof timeout !== 'number' || !(timeout > 0)) {
    throw new ValueError(`sslHandshakeTimeout should be a positive number, got ${String(timeout)}`);
  }
  return timeout;
}

function localAddress(localAddr: ConnectionOptions['localAddr']): { localAddress?: string; localPort?: number } {
  if (localAddr === undefined || localAddr === null) return {};
  if (!Array.isArray(localAddr) || localAddr.length !== 2) {
    throw new TypeError('createConnection: localAddr must be [host, port]');
  }
  const [address, port] = localAddr;
  return { localAddress: address, localPort: checkPort(port, 'createConnection (localAddr)', 0) };
}

/** SO_REUSEPORT as a listen() option where Node has it (22.12+, 23.1+). */
function reusePortOption(reusePort: boolean | undefined): { reusePort?: boolean } {
  if (!reusePort) return {};
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)) return { reusePort: true };
  throw new ValueError(`reusePort is not supported by Node ${process.versions.node} (needs 22.12 or later)`);
}
