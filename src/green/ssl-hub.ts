/**
 * The hub's side of green TLS (ssl.ts is the green side): wrapping a
 * connected green socket's Node socket in a TLS client socket.
 *
 * The green socket keeps its id, its owners and its inbound positions
 * (socket-hub.ts): the hub detaches the plain Node socket from it, runs the
 * handshake on a `tls.TLSSocket` over that socket, and attaches the TLS
 * socket in its place, so recv/send/makefile carry decrypted bytes from
 * then on through the same machinery.
 *
 * Guarantees:
 * - the wrap fails (ValueError) if bytes arrived that the green side has
 *   not read: they were sent in the clear and cannot be part of the TLS
 *   stream;
 * - a handshake that fails, times out or is interrupted (kill, Timeout)
 *   closes the socket, as Python's `wrap_socket` does;
 * - certificate and host name failures raise SSLCertVerificationError,
 *   other TLS failures SSLError, with Node's `code`.
 */
import type { Socket as NetSocket } from 'node:net';
import type { ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import { GreenloopError, ValueError } from '../loop/errors.js';
import { clientTls } from '../loop/tcp.js';
import { registerErrorClass, type GreenCaller, registerOperation } from './runtime/index.js';
import { abandoned, HubSocket, park } from './socket-hub.js';
import { invalid, socketErrorFrom, SocketTimeout } from './socket-errors.js';

/** A TLS failure (Python's `ssl.SSLError`): `code` is Node's (`'ERR_SSL_WRONG_VERSION_NUMBER'`...). */
export class SSLError extends GreenloopError {
  readonly code: string | undefined;

  constructor(message: string, code?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SSLError';
    this.code = code;
  }
}

/**
 * The peer's certificate did not verify, or does not name the host
 * (Python's `ssl.SSLCertVerificationError`): `code` is OpenSSL's verify
 * result as Node names it (`'DEPTH_ZERO_SELF_SIGNED_CERT'`,
 * `'CERT_HAS_EXPIRED'`, `'ERR_TLS_CERT_ALTNAME_INVALID'`...).
 */
export class SSLCertVerificationError extends SSLError {
  constructor(message: string, code?: string, cause?: unknown) {
    super(message, code, cause);
    this.name = 'SSLCertVerificationError';
  }
}

registerErrorClass(SSLError);
registerErrorClass(SSLCertVerificationError);

/** TLS client options as they cross: `tls.connect()`'s plain-data options. */
export type WireTlsOptions = Omit<ConnectionOptions, 'socket' | 'secureContext' | 'checkServerIdentity' | 'session'>;

/** What the green side learns about the session once the handshake is done. */
export interface SessionInfo {
  readonly version: string | null;
  readonly cipher: [name: string, version: string, bits: number] | null;
  readonly alpnProtocol: string | null;
}

/** A handshake error as the class Python raises. */
function sslErrorFrom(error: Error & { code?: string }, tls: TLSSocket, where: string): Error {
  if (tls.authorizationError) {
    const reason = tls.authorizationError instanceof Error ? tls.authorizationError.message : error.message;
    return new SSLCertVerificationError(`certificate verify failed: ${reason} (${where})`, error.code, error);
  }
  // An errno name (ECONNRESET, EPIPE): the connection broke, as Python raises it.
  if (/^E[A-Z]+$/.test(error.code ?? '')) return socketErrorFrom(error);
  // OpenSSL's `reason` reads better than its message (which carries the library's source position).
  const reason = (error as { reason?: unknown }).reason;
  return new SSLError(`TLS handshake with ${where} failed: ${typeof reason === 'string' ? reason : error.message}`, error.code, error);
}

registerOperation(
  'ssl.wrap',
  (caller: GreenCaller, id: number, consumed: number, options: WireTlsOptions, serverHostname: string | null, timeout: number | null) => {
    const socket = HubSocket.get(id);
    if (!socket.isStream || socket.state !== 'connected' || socket.stream === null) {
      throw invalid('only a connected stream socket can be wrapped in TLS');
    }
    socket.acknowledge(consumed);
    if (socket.inbound.size > 0 || socket.eof) {
      throw new ValueError(`socket ${id} received ${socket.inbound.size} bytes before the TLS handshake (or its peer closed): cannot wrap it`);
    }
    const peer = socket.stream.remoteAddress ?? '';
    const settings = clientTls({ ssl: options, serverHostname: serverHostname ?? peer, sslHandshakeTimeout: timeout ?? undefined }, peer);
    const raw = socket.detachStream() as NetSocket;
    const where = `${serverHostname ?? peer}:${raw.remotePort ?? ''}`;
    const tls = tlsConnect({ ...settings?.options, socket: raw, secureContext: settings?.context });
    const future = park<SessionInfo>(
      caller,
      timeout ?? settings?.handshakeTimeout ?? null,
      (done) => {
        if (abandoned(done) || done.exception() !== null) failWrap(socket, tls, raw);
      },
      () => new SocketTimeout(`TLS handshake with ${where} timed out`),
    );
    tls.once('secureConnect', () => {
      if (future.done()) return;
      tls.off('error', onError);
      socket.attachStream(tls);
      future.setResult(sessionOf(tls));
    });
    const onError = (error: Error): void => {
      if (!future.done()) future.setException(sslErrorFrom(error, tls, where));
    };
    tls.on('error', onError);
    return future;
  },
);

/** A wrap that failed or was given up: the TLS socket and the connection close. */
function failWrap(socket: HubSocket, tls: TLSSocket, raw: NetSocket): void {
  tls.on('error', () => undefined);
  tls.destroy();
  raw.destroy();
  socket.close();
}

function sessionOf(tls: TLSSocket): SessionInfo {
  const cipher = tls.getCipher();
  return {
    version: tls.getProtocol(),
    cipher: cipher === undefined ? null : [cipher.name, cipher.version, cipherBits(cipher.name)],
    alpnProtocol: typeof tls.alpnProtocol === 'string' ? tls.alpnProtocol : null,
  };
}

/** The secret bits of a cipher suite, from its name (Python's `cipher()[2]`). */
function cipherBits(name: string): number {
  const match = /(?:AES|CAMELLIA|ARIA)[_-]?(\d{3})|CHACHA20/.exec(name);
  if (match === null) return 0;
  return match[1] === undefined ? 256 : Number(match[1]);
}

registerOperation('ssl.peercert', (_caller: GreenCaller, id: number, binary: boolean) => {
  const tls = HubSocket.get(id).stream as TLSSocket | null;
  if (tls === null || typeof tls.getPeerCertificate !== 'function') throw invalid(`socket ${id} is not a TLS socket`);
  const cert = tls.getPeerCertificate(false);
  if (cert === null || Object.keys(cert).length === 0) return null;
  if (binary) return cert.raw;
  return plainCertificate(cert);
});

/** The certificate as structured clone carries it (without the raw bytes and the issuer chain). */
function plainCertificate(cert: PeerCertificate): Record<string, unknown> {
  const { raw: _raw, pubkey: _pubkey, issuerCertificate: _issuer, ...rest } = cert as PeerCertificate & { issuerCertificate?: unknown };
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}
