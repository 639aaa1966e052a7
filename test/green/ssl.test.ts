/**
 * Green TLS client sockets against real TLS servers on 127.0.0.1 (node:tls,
 * on the test's main thread) with the self-signed fixture in
 * test/fixtures/tls (CN=localhost, SAN DNS:localhost, IP:127.0.0.1).
 */
import { readFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket as NetSocket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { spawn } from '../../src/green/index.js';
import { checkFdLeaks, runInLoop } from '../helpers.js';
import { TEST_POOL_SIZE, useGreenWorkers } from '../green-workers.js';
import { warmWorkers } from './fixtures/net-warm.js';
import { connectAndTalk, handshakeUnderTimeout, wrapAfterData, wrapError, wrapWithContext } from './fixtures/net-ssl.js';

const fixtures = fileURLToPath(new URL('../fixtures/tls', import.meta.url));
const key = readFileSync(join(fixtures, 'key.pem'));
const cert = readFileSync(join(fixtures, 'cert.pem'));
const ca = cert.toString();

/** Listens on a free port of 127.0.0.1, tracking every TCP connection in `connections`; the port. */
async function listening(server: NetServer | TlsServer, connections: Set<NetSocket>): Promise<number> {
  server.on('connection', (conn: NetSocket) => {
    connections.add(conn);
    conn.on('close', () => connections.delete(conn));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closing(server: NetServer | TlsServer, connections: Set<NetSocket>): Promise<void> {
  for (const connection of connections) connection.destroy();
  await new Promise((resolve) => server.close(resolve));
}

describe('green ssl: TLS client sockets', function () {
  this.timeout(20000);
  useGreenWorkers(TEST_POOL_SIZE);
  warmWorkers();
  const connections = new Set<NetSocket>();
  let tlsServer: TlsServer;
  let silent: NetServer;
  let plain: NetServer;
  let tlsPort: number;
  let silentPort: number;
  let plainPort: number;
  let greeter: NetServer;
  let greeterPort: number;

  before(async () => {
    // Upper-cases what it reads; once the client half-closes, says 'bye' and ends.
    tlsServer = createTlsServer({ key, cert, allowHalfOpen: true }, (conn) => {
      conn.on('data', (data: Buffer) => conn.write(data.toString().toUpperCase()));
      conn.on('end', () => conn.end('bye'));
      conn.on('error', () => undefined);
    });
    tlsPort = await listening(tlsServer, connections);
    // Accepts and never says a word: a handshake with it can only time out.
    silent = createNetServer((conn) => {
      conn.on('error', () => undefined);
    });
    silentPort = await listening(silent, connections);
    // Answers whatever it gets in plain text: a TLS client gets garbage.
    plain = createNetServer((conn) => {
      conn.on('error', () => undefined);
      conn.once('data', () => conn.end('HTTP/1.0 400 plain text here\r\n\r\n'));
    });
    plainPort = await listening(plain, connections);
    // Greets in plain text at once.
    greeter = createNetServer((conn) => {
      conn.on('error', () => undefined);
      conn.end('220 hello in plain text\r\n');
    });
    greeterPort = await listening(greeter, connections);
  });
  after(async () => {
    await closing(tlsServer, connections);
    await closing(silent, connections);
    await closing(plain, connections);
    await closing(greeter, connections);
  });
  // After the servers' hooks: counted with the servers listening, checked once they are closed.
  checkFdLeaks(3000);

  it('connects over TLS, exchanges data, and reports the session and the peer certificate', async () => {
    const [reply, version, cn, bits, der] = await runInLoop(async () => spawn(connectAndTalk, tlsPort, ca));
    expect(reply).to.equal('HELLO TLS\n');
    expect(version).to.match(/^TLSv1\.[23]$/);
    expect(cn).to.equal('localhost');
    expect(bits).to.be.at.least(128);
    expect(der).to.equal(true);
  });

  it('wraps a connected socket with a context: makefile lines, and a half-close the server answers', async () => {
    const [lines, rest, plainDetached] = await runInLoop(async () => spawn(wrapWithContext, tlsPort, ca));
    expect(lines).to.deep.equal(['ONE\n', 'TWO\n']);
    expect(rest).to.equal('bye');
    expect(plainDetached).to.equal(true);
  });

  it('raises SSLCertVerificationError for an untrusted certificate, and closes the socket', async () => {
    const [error, closed] = await runInLoop(async () => spawn(wrapError, tlsPort, {}));
    expect(error?.name).to.equal('SSLCertVerificationError');
    expect(error?.code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(error?.message).to.match(/^certificate verify failed: self[- ]signed certificate/);
    expect(closed).to.equal(true);
  });

  it('raises SSLCertVerificationError for a host name the certificate does not name', async () => {
    const [error] = await runInLoop(async () => spawn(wrapError, tlsPort, { ca, serverHostname: 'example.com' }));
    expect(error?.name).to.equal('SSLCertVerificationError');
    expect(error?.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(error?.message).to.include('example.com');
  });

  it('connects without verification when asked (rejectUnauthorized: false)', async () => {
    const [error, closed] = await runInLoop(async () => spawn(wrapError, tlsPort, { rejectUnauthorized: false }));
    expect(error).to.equal(null);
    expect(closed).to.equal(true); // the test closed the detached plain socket: a no-op
  });

  it('raises SSLError when the peer does not speak TLS', async () => {
    const [error, closed] = await runInLoop(async () => spawn(wrapError, plainPort, { ca }));
    expect(error?.name).to.equal('SSLError');
    expect(error?.code).to.equal('ERR_SSL_WRONG_VERSION_NUMBER');
    expect(error?.message).to.match(/^TLS handshake with 127\.0\.0\.1:\d+ failed: wrong version number$/);
    expect(closed).to.equal(true);
  });

  it("times out a handshake the peer never answers after the socket's timeout, closing the socket", async () => {
    const [error, closed] = await runInLoop(async () => spawn(wrapError, silentPort, { ca }, 0.3));
    expect(error?.name).to.equal('SocketTimeout');
    expect(error?.message).to.match(/TLS handshake with 127\.0\.0\.1:\d+ timed out/);
    expect(closed).to.equal(true);
  });

  it('a green Timeout interrupts the handshake', async () => {
    const [own, closed] = await runInLoop(async () => spawn(handshakeUnderTimeout, silentPort, ca));
    expect(own).to.equal(true);
    expect(closed).to.equal(true);
  });

  it('refuses to wrap a socket with unread plain-text data (ValueError), leaving it open', async () => {
    const [error, open] = await runInLoop(async () => spawn(wrapAfterData, greeterPort, ca));
    expect(error?.name).to.equal('ValueError');
    expect(error?.message).to.match(/before the TLS handshake/);
    expect(open).to.equal(true);
  });
});
