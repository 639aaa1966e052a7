/**
 * Socket transports and protocols over real TCP and Unix sockets (in the
 * spirit of CPython's test_sock_lowlevel / test_selector_events).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer as netCreateServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import sinon from 'sinon';
import {
  AF_INET,
  CancelledError,
  ConnectionError,
  ConnectionRefusedError,
  ConnectionResetError,
  currentTask,
  getRunningLoop,
  logger,
  Protocol,
  RuntimeError,
  sleep,
  ValueError,
  type EventLoop,
  type ExceptionContext,
  type Future,
  type Server,
  type Transport,
} from '../../src/loop/index.js';
import { checkFdLeaks, runInLoop, until, rejection, portOf } from '../helpers.js';

/** Records every callback, in order, and what it was given. */
class Recorder extends Protocol {
  readonly events: string[] = [];
  readonly chunks: Buffer[] = [];
  transport: Transport | null = null;
  lostWith: Error | null | undefined = undefined;
  keepOpen = false;
  readonly lost: Future<void>;
  taskInCallbacks: unknown[] = [];

  constructor(loop: EventLoop = getRunningLoop()) {
    super();
    this.lost = loop.createFuture<void>();
  }

  override connectionMade(transport: Transport): void {
    this.events.push('made');
    this.transport = transport;
    this.taskInCallbacks.push(currentTask());
  }

  override dataReceived(data: Buffer): void {
    if (this.events[this.events.length - 1] !== 'data') this.events.push('data');
    this.chunks.push(data);
    this.taskInCallbacks.push(currentTask());
  }

  override eofReceived(): boolean {
    this.events.push('eof');
    return this.keepOpen;
  }

  override connectionLost(error: Error | null): void {
    this.events.push('lost');
    this.lostWith = error;
    this.lost.setResult(undefined);
  }

  get received(): string {
    return Buffer.concat(this.chunks).toString();
  }

  get receivedBytes(): number {
    return this.chunks.reduce((total, chunk) => total + chunk.length, 0);
  }
}

/** A server whose protocols are kept, in accept order. */
async function recordingServer(loop: EventLoop, make: () => Recorder = () => new Recorder(loop)): Promise<{ server: Server; accepted: Recorder[] }> {
  const accepted: Recorder[] = [];
  const server = await loop.createServer(
    () => {
      const protocol = make();
      accepted.push(protocol);
      return protocol;
    },
    '127.0.0.1',
    0,
  );
  return { server, accepted };
}

function captureExceptions(contexts: ExceptionContext[]): (loop: EventLoop) => void {
  return (loop) => loop.setExceptionHandler((_loop, context) => contexts.push(context));
}

describe('socket transports (TCP)', () => {
  checkFdLeaks();

  it('calls connectionMade, dataReceived, eofReceived, connectionLost once each, in order', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server, accepted } = await recordingServer(loop);
      const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
      expect(client.events).to.deep.equal(['made']);
      transport.write('ping');
      await until(() => accepted.length === 1 && accepted[0].received === 'ping');
      accepted[0].transport?.write('pong');
      await until(() => client.received === 'pong');
      transport.writeEof();
      await accepted[0].lost;
      await client.lost;
      expect(accepted[0].events).to.deep.equal(['made', 'data', 'eof', 'lost']);
      expect(client.events).to.deep.equal(['made', 'data', 'eof', 'lost']);
      expect(accepted[0].lostWith).to.equal(null);
      expect(client.lostWith).to.equal(null);
      server.close();
      await server.waitClosed();
    });
  });

  it('runs protocol callbacks outside any task, even for connections made from a task', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server, accepted } = await recordingServer(loop);
      const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
      transport.write('x');
      await until(() => accepted.length === 1 && accepted[0].receivedBytes === 1);
      accepted[0].transport?.write('y');
      await until(() => client.receivedBytes === 1);
      expect(client.taskInCallbacks).to.deep.equal([null, null]);
      expect(accepted[0].taskInCallbacks).to.deep.equal([null, null]);
      transport.close();
      await client.lost;
      server.close();
      await server.waitClosed();
    });
  });

  it('keeps the write side open when eofReceived returns true (half-close)', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server, accepted } = await recordingServer(loop, () => {
        const protocol = new Recorder(loop);
        protocol.keepOpen = true;
        return protocol;
      });
      const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
      expect(transport.canWriteEof()).to.equal(true);
      transport.write('request');
      transport.writeEof();
      await until(() => accepted.length === 1 && accepted[0].events.includes('eof'));
      const serverSide = accepted[0];
      expect(serverSide.transport?.isClosing()).to.equal(false);
      serverSide.transport?.write('response after EOF');
      serverSide.transport?.close();
      await client.lost;
      expect(client.received).to.equal('response after EOF');
      expect(serverSide.received).to.equal('request');
      server.close();
      await server.waitClosed();
    });
  });

  it('closes the transport when eofReceived returns a falsy value', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server, accepted } = await recordingServer(loop);
      const [transport] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
      transport.writeEof();
      await until(() => accepted.length === 1);
      await accepted[0].lost;
      expect(accepted[0].events).to.deep.equal(['made', 'eof', 'lost']);
      expect(accepted[0].transport?.isClosing()).to.equal(true);
      server.close();
      await server.waitClosed();
    });
  });

  for (const callback of ['connectionMade', 'dataReceived', 'eofReceived'] as const) {
    it(`reports an error thrown by ${callback} and closes the transport with it`, async () => {
      const contexts: ExceptionContext[] = [];
      await runInLoop(async () => {
        const loop = getRunningLoop();
        const failure = new Error(`${callback} failed`);
        class Failing extends Recorder {
          override connectionMade(transport: Transport): void {
            super.connectionMade(transport);
            if (callback === 'connectionMade') throw failure;
          }
          override dataReceived(data: Buffer): void {
            super.dataReceived(data);
            if (callback === 'dataReceived') throw failure;
          }
          override eofReceived(): boolean {
            super.eofReceived();
            if (callback === 'eofReceived') throw failure;
            return false;
          }
        }
        const { server, accepted } = await recordingServer(loop, () => new Failing(loop));
        const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
        transport.write('data');
        transport.writeEof();
        await until(() => accepted.length === 1);
        await accepted[0].lost;
        expect(accepted[0].lostWith).to.equal(failure);
        expect(accepted[0].events.filter((event) => event === 'lost')).to.have.length(1);
        expect(contexts).to.have.length(1);
        expect(contexts[0].message).to.equal(`Fatal error: protocol.${callback}() call failed.`);
        expect(contexts[0].exception).to.equal(failure);
        expect(contexts[0].transport).to.equal(accepted[0].transport);
        await client.lost;
        server.close();
        await server.waitClosed();
      }, captureExceptions(contexts));
    });
  }

  it('checks write buffer limits as asyncio does', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server } = await recordingServer(loop);
      const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
      expect(transport.getWriteBufferLimits()).to.deep.equal([16 * 1024, 64 * 1024]);
      transport.setWriteBufferLimits(1000);
      expect(transport.getWriteBufferLimits()).to.deep.equal([250, 1000]);
      transport.setWriteBufferLimits(undefined, 100);
      expect(transport.getWriteBufferLimits()).to.deep.equal([100, 400]);
      expect(() => transport.setWriteBufferLimits(10, 20)).to.throw(ValueError, 'high (10) must be >= low (20) must be >= 0');
      expect(() => transport.setWriteBufferLimits(10, -1)).to.throw(ValueError);
      transport.close();
      await client.lost;
      server.close();
      await server.waitClosed();
    });
  });

  it('pauses writing once above the high-water mark and resumes once drained to the low one', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server, accepted } = await recordingServer(loop);
      const calls: string[] = [];
      let sizeWhenResumed = -1;
      class Writer extends Recorder {
        override pauseWriting(): void {
          calls.push('pause');
        }
        override resumeWriting(): void {
          calls.push('resume');
          sizeWhenResumed = this.transport?.getWriteBufferSize() ?? -1;
        }
      }
      const [transport, client] = await loop.createConnection(() => new Writer(loop), '127.0.0.1', portOf(server));
      await until(() => accepted.length === 1);
      accepted[0].transport?.pauseReading();
      expect(accepted[0].transport?.isReading()).to.equal(false);
      transport.setWriteBufferLimits(64 * 1024, 16 * 1024);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      // Far more than the kernel buffers of both ends hold.
      for (let i = 0; i < 200 && transport.getWriteBufferSize() <= 64 * 1024; i++) transport.write(chunk);
      expect(transport.getWriteBufferSize()).to.be.greaterThan(64 * 1024);
      transport.write(chunk);
      expect(calls).to.deep.equal(['pause']);
      const total = accepted[0].receivedBytes + transport.getWriteBufferSize();
      accepted[0].transport?.resumeReading();
      await until(() => calls.length === 2);
      expect(calls).to.deep.equal(['pause', 'resume']);
      expect(sizeWhenResumed).to.be.at.most(16 * 1024);
      await until(() => transport.getWriteBufferSize() === 0);
      expect(total).to.be.greaterThan(0);
      transport.close();
      await client.lost;
      server.close();
      await server.waitClosed();
    });
  });

  it('reports errors thrown by pauseWriting and resumeWriting without closing the transport', async () => {
    const contexts: ExceptionContext[] = [];
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server, accepted } = await recordingServer(loop);
      class Failing extends Recorder {
        override pauseWriting(): void {
          throw new Error('pause failed');
        }
        override resumeWriting(): void {
          throw new Error('resume failed');
        }
      }
      const [transport, client] = await loop.createConnection(() => new Failing(loop), '127.0.0.1', portOf(server));
      await until(() => accepted.length === 1);
      transport.setWriteBufferLimits(0);
      transport.write(Buffer.alloc(4 * 1024 * 1024));
      await until(() => contexts.length === 2);
      expect(contexts.map((context) => context.message)).to.deep.equal([
        'protocol.pauseWriting() failed',
        'protocol.resumeWriting() failed',
      ]);
      expect(transport.isClosing()).to.equal(false);
      transport.close();
      await client.lost;
      server.close();
      await server.waitClosed();
    }, captureExceptions(contexts));
  });

  it('stops and restarts dataReceived with pauseReading / resumeReading', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server, accepted } = await recordingServer(loop);
      const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
      await until(() => accepted.length === 1);
      expect(transport.isReading()).to.equal(true);
      transport.pauseReading();
      transport.pauseReading(); // idempotent
      expect(transport.isReading()).to.equal(false);
      accepted[0].transport?.write('while paused');
      await sleep(0.05);
      expect(client.receivedBytes).to.equal(0);
      transport.resumeReading();
      expect(transport.isReading()).to.equal(true);
      await until(() => client.received === 'while paused');
      transport.close();
      expect(transport.isReading()).to.equal(false);
      await client.lost;
      server.close();
      await server.waitClosed();
    });
  });

  it('close() flushes buffered data before closing', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server, accepted } = await recordingServer(loop);
      const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
      const size = 8 * 1024 * 1024;
      transport.write(Buffer.alloc(size, 'z'));
      expect(transport.getWriteBufferSize()).to.be.greaterThan(0);
      transport.close();
      expect(transport.isClosing()).to.equal(true);
      await client.lost;
      await until(() => accepted.length === 1);
      await accepted[0].lost;
      expect(accepted[0].receivedBytes).to.equal(size);
      expect(accepted[0].events).to.deep.equal(['made', 'data', 'eof', 'lost']);
      server.close();
      await server.waitClosed();
    });
  });

  it('abort() drops buffered data and closes at once', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server, accepted } = await recordingServer(loop);
      const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
      await until(() => accepted.length === 1);
      accepted[0].transport?.pauseReading();
      const size = 16 * 1024 * 1024;
      transport.write(Buffer.alloc(size));
      expect(transport.getWriteBufferSize()).to.be.greaterThan(0);
      transport.abort();
      await client.lost;
      expect(client.lostWith).to.equal(null);
      accepted[0].transport?.resumeReading();
      await accepted[0].lost;
      expect(accepted[0].receivedBytes).to.be.lessThan(size);
      server.close();
      await server.waitClosed();
    });
  });

  it('ignores writes after close(), logging from the fifth on as asyncio', async () => {
    const warning = sinon.stub(logger, 'warning');
    try {
      await runInLoop(async () => {
        const loop = getRunningLoop();
        const { server } = await recordingServer(loop);
        const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
        transport.close();
        for (let i = 0; i < 4; i++) transport.write('dropped');
        expect(warning.callCount).to.equal(0);
        transport.write('dropped');
        expect(warning.callCount).to.equal(1);
        expect(warning.firstCall.args[0]).to.equal('socket.send() raised exception.');
        await client.lost;
        transport.write('still dropped');
        expect(warning.callCount).to.equal(2);
        server.close();
        await server.waitClosed();
      });
    } finally {
      warning.restore();
    }
  });

  it('rejects writes after writeEof() and non-bytes data', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server } = await recordingServer(loop);
      const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
      expect(() => transport.write(42 as unknown as string)).to.throw(TypeError, 'not number');
      transport.write(''); // empty writes are nothing
      transport.writeEof();
      transport.writeEof(); // idempotent
      expect(() => transport.write('late')).to.throw(RuntimeError, 'Cannot call write() after writeEof()');
      await client.lost;
      server.close();
      await server.waitClosed();
    });
  });

  it('writelines() sends every item in order', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server, accepted } = await recordingServer(loop);
      const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
      transport.writelines(['a', Buffer.from('b'), new Uint8Array([99])]);
      await until(() => accepted.length === 1 && accepted[0].received === 'abc');
      transport.close();
      await client.lost;
      server.close();
      await server.waitClosed();
    });
  });

  it('gives peername, sockname and socket as extra info', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server, accepted } = await recordingServer(loop);
      const port = portOf(server);
      const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', port);
      await until(() => accepted.length === 1);
      const sockname = transport.getExtraInfo('sockname') as [string, number];
      expect(transport.getExtraInfo('peername')).to.deep.equal(['127.0.0.1', port]);
      expect(accepted[0].transport?.getExtraInfo('peername')).to.deep.equal(sockname);
      expect(accepted[0].transport?.getExtraInfo('sockname')).to.deep.equal(['127.0.0.1', port]);
      expect((transport.getExtraInfo('socket') as Socket).remotePort).to.equal(port);
      expect(transport.getExtraInfo('sslcontext')).to.equal(undefined);
      expect(transport.getExtraInfo('nonsense', 'fallback')).to.equal('fallback');
      expect(transport.getProtocol()).to.equal(client);
      transport.close();
      await client.lost;
      // Still known after the socket is gone.
      expect(transport.getExtraInfo('peername')).to.deep.equal(['127.0.0.1', port]);
      server.close();
      await server.waitClosed();
    });
  });

  it('binds to localAddr and uses a given connected socket (sock)', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server, accepted } = await recordingServer(loop);
      const port = portOf(server);
      const [bound, boundClient] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', port, {
        localAddr: ['127.0.0.1', 0],
        family: AF_INET,
      });
      expect((bound.getExtraInfo('sockname') as [string, number])[0]).to.equal('127.0.0.1');
      const raw = netConnect(port, '127.0.0.1');
      await new Promise((resolve) => raw.once('connect', resolve));
      const [viaSock, sockClient] = await loop.createConnection(() => new Recorder(loop), null, null, { sock: raw });
      viaSock.write('through sock');
      await until(() => accepted.length === 2 && accepted[1].received === 'through sock');
      await rejection(loop.createConnection(() => new Recorder(loop), '127.0.0.1', port, { sock: raw })).then((err) =>
        expect(err).to.be.instanceOf(ValueError),
      );
      bound.close();
      viaSock.close();
      await boundClient.lost;
      await sockClient.lost;
      server.close();
      await server.waitClosed();
    });
  });

  it('gives connectionLost a ConnectionResetError when the peer resets mid-stream', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const peers: Socket[] = [];
      const raw = netCreateServer((socket) => {
        peers.push(socket);
        socket.on('data', () => socket.resetAndDestroy());
      });
      await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
      const port = (raw.address() as AddressInfo).port;
      const [transport, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', port);
      transport.write('trigger the reset');
      await client.lost;
      expect(client.lostWith).to.be.instanceOf(ConnectionResetError);
      expect(client.lostWith).to.be.instanceOf(ConnectionError);
      expect((client.lostWith as ConnectionResetError).code).to.equal('ECONNRESET');
      expect(client.events).to.deep.equal(['made', 'lost']);
      await new Promise((resolve) => raw.close(resolve));
    });
  });

  it('raises ConnectionRefusedError (code ECONNREFUSED) when nothing listens', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server } = await recordingServer(loop);
      const port = portOf(server);
      server.close();
      await server.waitClosed();
      const err = await rejection(loop.createConnection(() => new Recorder(loop), '127.0.0.1', port));
      expect(err).to.be.instanceOf(ConnectionRefusedError);
      expect((err as ConnectionRefusedError).code).to.equal('ECONNREFUSED');
      expect((err as Error).message).to.contain(`127.0.0.1:${port}`);
    });
  });

  it('rejects bad arguments with clear errors before touching the network', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const factory = (): Recorder => new Recorder(loop);
      const cases: [Promise<unknown>, new (...args: never[]) => Error, string][] = [
        [loop.createConnection(factory, '127.0.0.1', 70000), RangeError, 'port must be an integer from 1 to 65535, got 70000'],
        [loop.createConnection(factory, '127.0.0.1', 0), RangeError, 'got 0'],
        [loop.createConnection(factory, '127.0.0.1', 'http'), RangeError, 'got "http"'],
        [loop.createConnection(factory, '127.0.0.1', 1.5), RangeError, 'got 1.5'],
        [loop.createConnection(factory, 42 as unknown as string, 80), TypeError, 'host must be a string'],
        [loop.createConnection(factory), ValueError, 'host and port was not specified'],
        [loop.createConnection(null as unknown as () => Recorder, '127.0.0.1', 80), TypeError, 'protocolFactory'],
        [loop.createConnection(factory, '127.0.0.1', 80, { serverHostname: 'x' }), ValueError, 'only meaningful with ssl'],
        [loop.createConnection(factory, '127.0.0.1', 80, { family: 5 }), ValueError, 'family must be 0, 4 or 6'],
        [loop.createServer(factory, '127.0.0.1', -1), RangeError, 'from 0 to 65535, got -1'],
        [loop.createServer(factory, '127.0.0.1', 0, { backlog: -1 }), ValueError, 'backlog'],
      ];
      for (const [promise, ErrorClass, text] of cases) {
        const err = await rejection(promise);
        expect(err).to.be.instanceOf(ErrorClass);
        expect((err as Error).message).to.contain(text);
      }
    });
  });

  it('cancels a connection attempt cleanly', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      // Accepts but never answers a TLS hello: the attempt would wait forever.
      const silent: Socket[] = [];
      const silentClosed: Promise<unknown>[] = [];
      const raw = netCreateServer((socket) => {
        silent.push(socket);
        silentClosed.push(new Promise((resolve) => socket.once('close', resolve)));
        socket.resume(); // reads (and drops) the hello, so it sees the client go
      });
      await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
      const port = (raw.address() as AddressInfo).port;
      const attempt = loop.createTask(() =>
        loop.createConnection(() => new Recorder(loop), '127.0.0.1', port, { ssl: true, serverHostname: 'localhost' }),
      );
      await until(() => silent.length === 1);
      attempt.cancel();
      expect(await rejection(attempt)).to.be.instanceOf(CancelledError);
      await silentClosed[0];
      await new Promise((resolve) => raw.close(resolve));
    });
  });

  it('aborts transports still open when the loop closes', async () => {
    let client: Recorder | null = null;
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { server } = await recordingServer(loop);
      [, client] = await loop.createConnection(() => new Recorder(loop), '127.0.0.1', portOf(server));
    });
    // No callback ran on the closed loop; the fd check of this group proves the sockets went.
    expect(client!.events).to.deep.equal(['made']);
  });
});

describe('socket transports (Unix)', () => {
  checkFdLeaks();
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'greenloop-unix-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('connects, exchanges data and reports the path as peername / sockname', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const path = join(dir, 'echo.sock');
      const accepted: Recorder[] = [];
      const server = await loop.createUnixServer(() => {
        const protocol = new Recorder(loop);
        accepted.push(protocol);
        return protocol;
      }, path);
      expect(server.sockets[0].getsockname()).to.equal(path);
      expect(server.address()).to.equal(path);
      const [transport, client] = await loop.createUnixConnection(() => new Recorder(loop), path);
      transport.write('over unix');
      await until(() => accepted.length === 1 && accepted[0].received === 'over unix');
      expect(transport.getExtraInfo('peername')).to.equal(path);
      expect(transport.getExtraInfo('sockname')).to.equal('');
      expect(accepted[0].transport?.getExtraInfo('sockname')).to.equal(path);
      expect(accepted[0].transport?.getExtraInfo('peername')).to.equal('');
      transport.writeEof();
      await accepted[0].lost;
      await client.lost;
      expect(accepted[0].events).to.deep.equal(['made', 'data', 'eof', 'lost']);
      server.close();
      await server.waitClosed();
      expect(existsSync(path)).to.equal(false);
    });
  });

  it('replaces a stale socket file, and refuses a path that is not a socket', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const path = join(dir, 'stale.sock');
      const first = await loop.createUnixServer(() => new Recorder(loop), path);
      // A second server takes the path over, as asyncio's does.
      const second = await loop.createUnixServer(() => new Recorder(loop), path);
      const [transport, client] = await loop.createUnixConnection(() => new Recorder(loop), path);
      transport.close();
      await client.lost;
      first.close();
      second.close();
      await first.waitClosed();
      await second.waitClosed();
      const regular = join(dir, 'regular-file');
      writeFileSync(regular, 'not a socket');
      const err = await rejection(loop.createUnixServer(() => new Recorder(loop), regular));
      expect((err as NodeJS.ErrnoException).code).to.equal('EADDRINUSE');
    });
  });

  it('fails with the OS error code when no server is there', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const err = await rejection(loop.createUnixConnection(() => new Recorder(loop), join(dir, 'nobody.sock')));
      expect((err as NodeJS.ErrnoException).code).to.equal('ENOENT');
      const typeErr = await rejection(loop.createUnixConnection(() => new Recorder(loop), ''));
      expect(typeErr).to.be.instanceOf(TypeError);
    });
  });
});
