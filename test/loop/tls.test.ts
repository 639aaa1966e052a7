/**
 * TLS transports and streams, with the self-signed fixture in
 * test/fixtures/tls (CN=localhost, SAN DNS:localhost, IP:127.0.0.1).
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer as netCreateServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createSecureContext, type PeerCertificate, type SecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import sinon from 'sinon';
import {
  ConnectionResetError,
  getRunningLoop,
  logger,
  openConnection,
  openUnixConnection,
  Protocol,
  RuntimeError,
  sleep,
  startServer,
  startUnixServer,
  TimeoutError,
  ValueError,
  type EventLoop,
  type Future,
  type Server,
  type Transport,
} from '../../src/loop/index.js';
import { checkFdLeaks, runInLoop, rejection, portOf } from '../helpers.js';

const fixtures = fileURLToPath(new URL('../fixtures/tls', import.meta.url));
const key = readFileSync(join(fixtures, 'key.pem'));
const cert = readFileSync(join(fixtures, 'cert.pem'));
const trusting = { ca: cert };

/** Upper-cases each line back over TLS. */
async function tlsUpperServer(ssl: SecureContext | { key: Buffer; cert: Buffer } = { key, cert }): Promise<Server> {
  return startServer(
    async (reader, writer) => {
      for await (const line of reader) {
        writer.write(line.toString().toUpperCase());
        await writer.drain();
      }
      writer.close();
    },
    '127.0.0.1',
    0,
    { ssl },
  );
}

class Collector extends Protocol {
  transport: Transport | null = null;
  readonly events: string[] = [];
  text = '';
  readonly lost: Future<void>;

  constructor(loop: EventLoop) {
    super();
    this.lost = loop.createFuture<void>();
  }

  override connectionMade(transport: Transport): void {
    this.transport = transport;
    this.events.push('made');
  }

  override dataReceived(data: Buffer): void {
    this.text += data.toString();
    if (this.events[this.events.length - 1] !== 'data') this.events.push('data');
  }

  override eofReceived(): boolean {
    this.events.push('eof');
    return true;
  }

  override connectionLost(): void {
    this.events.push('lost');
    this.lost.setResult(undefined);
  }
}

describe('TLS', () => {
  checkFdLeaks();

  it('serves and connects with streams, checking the certificate against serverHostname', async () => {
    await runInLoop(async () => {
      const server = await tlsUpperServer();
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server), {
        ssl: trusting,
        serverHostname: 'localhost',
      });
      writer.write('secret\n');
      expect((await reader.readline()).toString()).to.equal('SECRET\n');
      const peercert = writer.getExtraInfo('peercert') as PeerCertificate;
      expect(peercert.subject.CN).to.equal('localhost');
      expect(writer.getExtraInfo('sslcontext')).to.have.property('context');
      expect(writer.getExtraInfo('cipher')).to.have.property('version');
      expect(writer.canWriteEof()).to.equal(false);
      expect(() => writer.writeEof()).to.throw(RuntimeError, 'half-close');
      writer.close();
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
    });
  });

  it('accepts tls.SecureContext objects on both sides, and checks an IP host against the certificate', async () => {
    await runInLoop(async () => {
      const server = await tlsUpperServer(createSecureContext({ key, cert }));
      const clientContext = createSecureContext(trusting);
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server), { ssl: clientContext });
      writer.write('context\n');
      expect((await reader.readline()).toString()).to.equal('CONTEXT\n');
      expect(writer.getExtraInfo('sslcontext')).to.equal(clientContext);
      writer.close();
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
    });
  });

  it('delivers data, EOF and connectionLost over TLS with the protocol API; EOF closes', async () => {
    const warning = sinon.stub(logger, 'warning');
    try {
      await runInLoop(async () => {
        const loop = getRunningLoop();
        const accepted: Collector[] = [];
        const server = await loop.createServer(
          () => {
            const protocol = new Collector(loop);
            accepted.push(protocol);
            return protocol;
          },
          '127.0.0.1',
          0,
          { ssl: { key, cert } },
        );
        const [transport, client] = await loop.createConnection(() => new Collector(loop), 'localhost', portOf(server), {
          ssl: trusting,
        });
        expect(client.events).to.deep.equal(['made']);
        transport.write('over tls');
        while (accepted.length === 0 || accepted[0].text !== 'over tls') await sleep(0.001);
        expect(accepted[0].transport?.getExtraInfo('sslcontext')).to.have.property('context');
        transport.close();
        await client.lost;
        await accepted[0].lost;
        // Returning true from eofReceived cannot keep a TLS connection half-open.
        expect(accepted[0].events).to.deep.equal(['made', 'data', 'eof', 'lost']);
        expect(warning.calledWithMatch('no effect when using TLS')).to.equal(true);
        server.close();
        await server.waitClosed();
      });
    } finally {
      warning.restore();
    }
  });

  it('fails with the certificate error (code kept) when the certificate is not trusted', async () => {
    await runInLoop(async () => {
      const server = await tlsUpperServer();
      const err = await rejection(openConnection('127.0.0.1', portOf(server), { ssl: true, serverHostname: 'localhost' }));
      expect((err as NodeJS.ErrnoException).code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
      // The server is unharmed.
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server), { ssl: trusting, serverHostname: 'localhost' });
      writer.write('still up\n');
      expect((await reader.readline()).toString()).to.equal('STILL UP\n');
      writer.close();
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
    });
  });

  it('checks the host name unless serverHostname is empty', async () => {
    await runInLoop(async () => {
      const server = await tlsUpperServer();
      const port = portOf(server);
      const err = await rejection(openConnection('127.0.0.1', port, { ssl: trusting, serverHostname: 'example.com' }));
      expect((err as NodeJS.ErrnoException).code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
      const [reader, writer] = await openConnection('127.0.0.1', port, { ssl: trusting, serverHostname: '' });
      writer.write('unchecked\n');
      expect((await reader.readline()).toString()).to.equal('UNCHECKED\n');
      writer.close();
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
    });
  });

  it('survives clients that are not TLS at all', async () => {
    await runInLoop(async () => {
      const server = await tlsUpperServer();
      const plain = netConnect(portOf(server), '127.0.0.1');
      plain.on('error', () => undefined);
      plain.write('GET / HTTP/1.0\r\n\r\n');
      plain.resume();
      await new Promise((resolve) => plain.once('close', resolve));
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server), { ssl: trusting, serverHostname: 'localhost' });
      writer.write('fine\n');
      expect((await reader.readline()).toString()).to.equal('FINE\n');
      writer.close();
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
    });
  });

  it('survives clients that reset mid-handshake or after it; the handler sees ConnectionResetError', async () => {
    await runInLoop(async () => {
      const seen: unknown[] = [];
      const server = await startServer(
        async (reader) => {
          try {
            await reader.read();
          } catch (err) {
            seen.push(err);
          }
        },
        '127.0.0.1',
        0,
        { ssl: { key, cert } },
      );
      const port = portOf(server);
      const midHandshake = netConnect(port, '127.0.0.1', () => {
        midHandshake.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]));
        setTimeout(() => midHandshake.resetAndDestroy(), 10);
      });
      midHandshake.on('error', () => undefined);
      const midHandshakeClosed = new Promise((resolve) => midHandshake.once('close', resolve));
      const raw = netConnect(port, '127.0.0.1', () => {
        const secure = tlsConnect({ socket: raw, ...trusting, servername: 'localhost' }, () => {
          setTimeout(() => raw.resetAndDestroy(), 10);
        });
        secure.on('error', () => undefined);
      });
      raw.on('error', () => undefined);
      while (seen.length === 0) await sleep(0.005);
      expect(seen[0]).to.be.instanceOf(ConnectionResetError);
      expect((seen[0] as ConnectionResetError).code).to.equal('ECONNRESET');
      await midHandshakeClosed;
      server.close();
      await server.waitClosed();
    });
  });

  it('gives up a handshake that takes longer than sslHandshakeTimeout', async () => {
    await runInLoop(async () => {
      const silent: Socket[] = [];
      const silentClosed: Promise<unknown>[] = [];
      const raw = netCreateServer((socket) => {
        silent.push(socket);
        silentClosed.push(new Promise((resolve) => socket.once('close', resolve)));
        socket.resume();
      });
      await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
      const port = (raw.address() as AddressInfo).port;
      const err = await rejection(
        openConnection('127.0.0.1', port, { ssl: trusting, serverHostname: 'localhost', sslHandshakeTimeout: 0.05 }),
      );
      expect(err).to.be.instanceOf(TimeoutError);
      await silentClosed[0];
      await new Promise((resolve) => raw.close(resolve));
    });
  });

  it('closes server-side handshakes that take longer than sslHandshakeTimeout', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const server = await loop.createServer(() => new Collector(loop), '127.0.0.1', 0, {
        ssl: { key, cert },
        sslHandshakeTimeout: 0.05,
      });
      const idle = netConnect(portOf(server), '127.0.0.1');
      idle.resume();
      await new Promise((resolve) => idle.once('close', resolve));
      server.close();
      await server.waitClosed();
    });
  });

  it('rejects inconsistent TLS options with ValueError / TypeError', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const factory = (): Collector => new Collector(loop);
      expect(await rejection(loop.createConnection(factory, '127.0.0.1', 1, { sslHandshakeTimeout: 1 }))).to.be.instanceOf(
        ValueError,
      );
      const noHost = await rejection(loop.createUnixConnection(factory, '/nonexistent.sock', { ssl: trusting }));
      expect(noHost).to.be.instanceOf(ValueError);
      expect((noHost as Error).message).to.contain('serverHostname');
      expect(
        await rejection(loop.createConnection(factory, '127.0.0.1', 1, { ssl: trusting, sslHandshakeTimeout: -1 })),
      ).to.be.instanceOf(ValueError);
      expect(
        await rejection(loop.createServer(factory, '127.0.0.1', 0, { ssl: true as unknown as SecureContext })),
      ).to.be.instanceOf(TypeError);
    });
  });

  it('works over Unix sockets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'greenloop-tls-'));
    try {
      await runInLoop(async () => {
        const path = join(dir, 'tls.sock');
        const server = await startUnixServer(
          async (reader, writer) => {
            writer.write(await reader.readexactly(3));
            writer.close();
          },
          path,
          { ssl: { key, cert } },
        );
        const [reader, writer] = await openUnixConnection(path, { ssl: trusting, serverHostname: 'localhost' });
        writer.write('abc');
        expect((await reader.read()).toString()).to.equal('abc');
        writer.close();
        await writer.waitClosed();
        server.close();
        await server.waitClosed();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
