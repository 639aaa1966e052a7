/**
 * Green TLS client sockets (eventlet's `eventlet.green.ssl`, Python's
 * `ssl` module): a connected green socket wrapped in TLS, with the same
 * blocking recv/send/sendall/makefile, now over an encrypted connection.
 *
 *     import { socket, ssl } from 'greenloop/green';
 *     const sock = socket.createConnection(['example.org', 443], 10);
 *     const tls = ssl.wrapSocket(sock, { serverHostname: 'example.org' });
 *     tls.sendall('GET / HTTP/1.0\r\nHost: example.org\r\n\r\n');
 *     console.log(tls.recv(4096).toString());
 *
 *     // or Python's SSLContext shape, or connect-and-wrap in one call:
 *     const ctx = ssl.createDefaultContext({ ca: myCaPem });
 *     const tls2 = ctx.wrapSocket(sock2, { serverHostname: 'internal.host' });
 *     const tls3 = ssl.connect(['internal.host', 8443], { ca: myCaPem, timeout: 5 });
 *
 * Options are Node's `tls.connect()` options that are plain data (`ca`,
 * `cert`, `key`, `passphrase`, `rejectUnauthorized`, `ALPNProtocols`,
 * `minVersion`, `ciphers`...). As in Node, and as Python's
 * `create_default_context()`, the peer's certificate and host name are
 * checked by default (`rejectUnauthorized: false` turns both off,
 * `serverHostname: ''` the host name check only). `serverHostname` is sent
 * (SNI) and checked; it defaults to the address connected to.
 *
 * Guarantees:
 * - the handshake is a blocking call: interrupted by `kill()` and a green
 *   `Timeout`, bounded by the socket's timeout (else 60 s), after which it
 *   raises SocketTimeout; a failed or interrupted handshake closes the
 *   socket, as Python's `wrap_socket` does;
 * - a certificate that does not verify raises SSLCertVerificationError,
 *   other TLS failures SSLError, both with Node's `code`;
 * - the wrapped socket keeps the plain socket's id, timeout and ownership
 *   (closed when no thread holding it is alive); the plain Socket object
 *   is detached (closed without closing the connection).
 *
 * An SSLSocket crosses threads (spawn arguments, queues) as a green Socket
 * whose I/O stays encrypted; `getpeercert()` and the session details are
 * then on the thread that wrapped it.
 */
import { ValueError } from '../loop/errors.js';
import { blockingOnHub, callHub, checkBridge, drainPushes, inGreenWorker } from './runtime/index.js';
import type { SessionInfo, WireTlsOptions } from './ssl-hub.js';
import { createConnection, Socket } from './socket.js';
import { SocketError } from './socket-errors.js';
import './ssl-hub.js';

export { SSLError, SSLCertVerificationError } from './ssl-hub.js';

const MODULE = import.meta.url;

/** Node's `tls.connect()` options that can cross to the hub (no SecureContext, no callbacks). */
export type SSLOptions = WireTlsOptions;

/** Options of one wrap: the host name to send (SNI) and check; '' skips the check. */
export interface WrapOptions {
  readonly serverHostname?: string | null;
}

/** A green socket over TLS: a green Socket, plus what the handshake settled. */
export class SSLSocket extends Socket {
  /** The host name sent and checked, or null for the address connected to. */
  serverHostname: string | null = null;
  /** @internal */ _session: SessionInfo = { version: null, cipher: null, alpnProtocol: null };

  /** The protocol version: 'TLSv1.3', 'TLSv1.2'... */
  version(): string | null {
    return this._session.version;
  }

  /** `[name, protocol version, secret bits]` of the cipher in use (Python's `cipher()`). */
  cipher(): [name: string, version: string, bits: number] | null {
    return this._session.cipher;
  }

  /** The protocol ALPN settled on, or null. */
  selectedAlpnProtocol(): string | null {
    return this._session.alpnProtocol;
  }

  /**
   * The peer's certificate (Python's `getpeercert()`): Node's
   * PeerCertificate fields (`subject`, `issuer`, `subjectaltname`,
   * `valid_from`, `valid_to`, `fingerprint256`...) as a plain object, or
   * its DER bytes with `binary`; null if the peer sent none.
   */
  getpeercert(binary: false): Record<string, unknown> | null;
  getpeercert(binary: true): Buffer | null;
  getpeercert(binary?: boolean): Record<string, unknown> | null;
  getpeercert(binary = false): Record<string, unknown> | Buffer | null {
    if (this.isClosed) throw new SocketError('EBADF', 9, 'Bad file descriptor (the TLS socket is closed)');
    if (!inGreenWorker()) throw blockingOnHub('SSLSocket.getpeercert()', "use the stream writer's getExtraInfo('peercert')");
    return callHub('ssl.peercert', [this._id, binary], { module: MODULE });
  }

  override toString(): string {
    return `<greenloop.ssl.SSLSocket fd=${this.fileno()}, ${this._session.version ?? 'TLS'}>`;
  }
}

/** Client-side TLS settings for wrapping many sockets (Python's `ssl.SSLContext`). */
export class SSLContext {
  readonly options: SSLOptions;

  constructor(options: SSLOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('SSLContext: options must be an object of tls.connect() options');
    this.options = { ...options };
  }

  /** Wraps the connected `sock` in TLS and does the handshake: see the module documentation. */
  wrapSocket(sock: Socket, options: WrapOptions = {}): SSLSocket {
    return wrap(sock, this.options, options.serverHostname ?? null);
  }
}

/** A context that verifies the peer (Python's `ssl.create_default_context()`); `options` add a CA, a client certificate... */
export function createDefaultContext(options: SSLOptions = {}): SSLContext {
  return new SSLContext(options);
}

/** Wraps the connected `sock` in TLS (eventlet's `ssl.wrap_socket`): `new SSLContext(options).wrapSocket(sock, options)`. */
export function wrapSocket(sock: Socket, options: SSLOptions & WrapOptions = {}): SSLSocket {
  const { serverHostname, ...tlsOptions } = options;
  return wrap(sock, tlsOptions, serverHostname ?? null);
}

/**
 * Connects to `[host, port]` and wraps the connection in TLS:
 * `serverHostname` defaults to `host`; `timeout` (seconds, default the
 * default socket timeout) bounds the connect and the handshake and stays
 * the socket's timeout.
 */
export function connect(
  address: readonly [host: string, port: number],
  options: SSLOptions & WrapOptions & { readonly timeout?: number | null } = {},
): SSLSocket {
  checkBridge('ssl.connect');
  const { timeout, serverHostname, ...tlsOptions } = options;
  const sock = createConnection(address, timeout);
  return wrap(sock, tlsOptions, serverHostname ?? address[0]);
}

function wrap(sock: Socket, options: SSLOptions, serverHostname: string | null): SSLSocket {
  checkBridge('ssl.wrapSocket');
  if (!(sock instanceof Socket)) throw new TypeError(`ssl.wrapSocket: expected a green socket, got ${String(sock)}`);
  if (!inGreenWorker()) throw blockingOnHub('ssl.wrapSocket()', 'use openConnection(host, port, { ssl }) of greenloop/loop');
  if (sock.gettimeout() === 0) throw new ValueError('ssl.wrapSocket: the handshake needs a blocking socket (settimeout(null) or a timeout > 0)');
  drainPushes();
  const handle = sock._handle();
  let session: SessionInfo;
  try {
    session = callHub<SessionInfo>('ssl.wrap', [sock._id, handle.consumed, options, serverHostname, sock.gettimeout()], { module: MODULE });
  } catch (error) {
    // Argument errors leave the socket as it was; the hub closed it after any other failure.
    if (!(error instanceof ValueError || error instanceof SocketError)) sock.close();
    throw error;
  }
  const id = sock.detach();
  const tls = new SSLSocket(sock.family, sock.type, sock.proto, id);
  tls._adopt({ ...handle, connected: true });
  tls._session = session;
  tls.serverHostname = serverHostname;
  return tls;
}
