/**
 * UDP endpoints on real sockets (127.0.0.1 and ::1), in the spirit of
 * CPython's test_asyncio datagram tests: echo, connected endpoints, errors
 * reported to errorReceived, closing, flow control and bad arguments.
 */
import dgram from 'node:dgram';
import { expect } from 'chai';
import type { DatagramSocketTransport } from '../../src/loop/datagram.js';
import {
  AF_INET,
  AF_INET6,
  CancelledError,
  currentTask,
  GaiError,
  getRunningLoop,
  Queue,
  RuntimeError,
  sleep,
  ValueError,
  waitFor,
  type Address,
  type EventLoop,
  type Future,
} from '../../src/loop/index.js';
import { DatagramProtocol } from '../../src/loop/protocols.js';
import type { DatagramTransport } from '../../src/loop/transports.js';
import { checkFdLeaks, runInLoop } from '../helpers.js';

type Received = { data: Buffer; addr: Address; inTask: boolean };

/** Records every protocol call in `log`; datagrams and errors also go to queues. */
class Recorder extends DatagramProtocol {
  readonly log: string[] = [];
  readonly datagrams = new Queue<Received>();
  readonly errors = new Queue<Error>();
  readonly lost: Future<Error | null>;
  transport: DatagramTransport | null = null;

  constructor(loop: EventLoop = getRunningLoop()) {
    super();
    this.lost = loop.createFuture<Error | null>();
  }

  override connectionMade(transport: DatagramTransport): void {
    this.log.push('made');
    this.transport = transport;
  }
  override datagramReceived(data: Buffer, addr: [string, number]): void {
    this.log.push('datagram');
    this.datagrams.putNowait({ data, addr, inTask: currentTask() !== null });
  }
  override errorReceived(error: Error): void {
    this.log.push('error');
    this.errors.putNowait(error);
  }
  override pauseWriting(): void {
    this.log.push('pause');
  }
  override resumeWriting(): void {
    this.log.push('resume');
  }
  override connectionLost(error: Error | null): void {
    this.log.push('lost');
    this.lost.setResult(error);
  }
}

/** An endpoint bound to 127.0.0.1 on a free port, and that port. */
async function localEndpoint(host = '127.0.0.1'): Promise<[DatagramSocketTransport, Recorder, number]> {
  const [transport, protocol] = await getRunningLoop().createDatagramEndpoint(() => new Recorder(), {
    localAddr: [host, 0],
  });
  return [transport, protocol, (transport.getExtraInfo('sockname') as Address)[1]];
}

/** A UDP port nothing listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

async function expectRejection(promise: PromiseLike<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('createDatagramEndpoint', () => {
  checkFdLeaks();

  it('echoes between a bound endpoint and a connected one', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const [server, serverProtocol, port] = await localEndpoint();
      const [client, clientProtocol] = await loop.createDatagramEndpoint(() => new Recorder(), {
        remoteAddr: ['127.0.0.1', port],
      });
      client.sendto(Buffer.from('ping'));
      const request = await waitFor(serverProtocol.datagrams.get(), 2);
      expect(request.data.toString()).to.equal('ping');
      expect(request.addr).to.deep.equal(['127.0.0.1', (client.getExtraInfo('sockname') as Address)[1]]);
      server.sendto('pong', request.addr);
      const reply = await waitFor(clientProtocol.datagrams.get(), 2);
      expect(reply.data.toString()).to.equal('pong');
      expect(reply.addr).to.deep.equal(['127.0.0.1', port]);
      expect(reply.inTask).to.equal(false);
      expect(client.getExtraInfo('peername')).to.deep.equal(['127.0.0.1', port]);
      expect(server.getExtraInfo('peername')).to.equal(null);
      expect(server.getExtraInfo('socket')).to.be.instanceOf(dgram.Socket);
      expect(server.getExtraInfo('nonsense', 'dflt')).to.equal('dflt');
      client.close();
      server.close();
      expect(await waitFor(clientProtocol.lost, 2)).to.equal(null);
      expect(await waitFor(serverProtocol.lost, 2)).to.equal(null);
      expect(clientProtocol.log).to.deep.equal(['made', 'datagram', 'lost']);
      expect(serverProtocol.log).to.deep.equal(['made', 'datagram', 'lost']);
    });
  });

  it('calls connectionMade before returning, and connectionLost once', async () => {
    await runInLoop(async () => {
      const [transport, protocol] = await localEndpoint();
      expect(protocol.log).to.deep.equal(['made']);
      expect(protocol.transport).to.equal(transport);
      transport.close();
      transport.close();
      transport.abort();
      expect(transport.isClosing()).to.equal(true);
      await waitFor(protocol.lost, 2);
      await sleep(0.01);
      expect(protocol.log).to.deep.equal(['made', 'lost']);
    });
  });

  it('works over IPv6', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const [server, serverProtocol, port] = await localEndpoint('::1');
      const [client, clientProtocol] = await loop.createDatagramEndpoint(() => new Recorder(), {
        remoteAddr: ['::1', port],
        family: AF_INET6,
      });
      client.sendto(Buffer.from('six'));
      const request = await waitFor(serverProtocol.datagrams.get(), 2);
      expect(request.data.toString()).to.equal('six');
      expect(request.addr[0]).to.equal('::1');
      server.sendto(Buffer.from('back'), request.addr);
      expect((await waitFor(clientProtocol.datagrams.get(), 2)).data.toString()).to.equal('back');
      client.close();
      server.close();
      await waitFor(clientProtocol.lost, 2);
      await waitFor(serverProtocol.lost, 2);
    });
  });

  it('resolves host names with the system resolver (localhost)', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const [server, serverProtocol, port] = await localEndpoint();
      const [client, clientProtocol] = await loop.createDatagramEndpoint(() => new Recorder(), {
        remoteAddr: ['localhost', port],
        family: AF_INET,
      });
      // Both the address as given and as resolved are "the" remote address.
      client.sendto(Buffer.from('a'), ['localhost', port]);
      client.sendto(Buffer.from('b'), ['127.0.0.1', port]);
      expect(() => client.sendto(Buffer.from('c'), ['127.0.0.1', port + 1])).to.throw(ValueError, /Invalid address/);
      expect((await waitFor(serverProtocol.datagrams.get(), 2)).data.toString()).to.equal('a');
      expect((await waitFor(serverProtocol.datagrams.get(), 2)).data.toString()).to.equal('b');
      client.close();
      server.close();
      await waitFor(clientProtocol.lost, 2);
      await waitFor(serverProtocol.lost, 2);
    });
  });

  it('binds to the wildcard address when only a family is given', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const [server, serverProtocol, port] = await localEndpoint();
      const [client, clientProtocol] = await loop.createDatagramEndpoint(() => new Recorder(), { family: AF_INET });
      expect((client.getExtraInfo('sockname') as Address)[0]).to.equal('0.0.0.0');
      client.sendto(Buffer.from('hi'), ['127.0.0.1', port]);
      const request = await waitFor(serverProtocol.datagrams.get(), 2);
      server.sendto(Buffer.from('ho'), request.addr);
      expect((await waitFor(clientProtocol.datagrams.get(), 2)).data.toString()).to.equal('ho');
      client.close();
      server.close();
      await waitFor(clientProtocol.lost, 2);
      await waitFor(serverProtocol.lost, 2);
    });
  });

  it('with allowBroadcast and remoteAddr, does not connect but sends there by default', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const [server, serverProtocol, port] = await localEndpoint();
      const [client, clientProtocol] = await loop.createDatagramEndpoint(() => new Recorder(), {
        remoteAddr: ['127.0.0.1', port],
        allowBroadcast: true,
      });
      expect(client.getExtraInfo('peername')).to.equal(null);
      client.sendto(Buffer.from('default'));
      expect((await waitFor(serverProtocol.datagrams.get(), 2)).data.toString()).to.equal('default');
      client.close();
      server.close();
      await waitFor(clientProtocol.lost, 2);
      await waitFor(serverProtocol.lost, 2);
    });
  });
});

describe('DatagramTransport errors', () => {
  checkFdLeaks();

  it('reports ECONNREFUSED from a closed peer port to errorReceived and stays open', async () => {
    await runInLoop(async () => {
      const port = await closedPort();
      const [transport, protocol] = await getRunningLoop().createDatagramEndpoint(() => new Recorder(), {
        remoteAddr: ['127.0.0.1', port],
      });
      transport.sendto(Buffer.from('anyone?'));
      const error = (await waitFor(protocol.errors.get(), 2)) as NodeJS.ErrnoException;
      expect(error.code).to.equal('ECONNREFUSED');
      expect(transport.isClosing()).to.equal(false);
      transport.close();
      expect(await waitFor(protocol.lost, 2)).to.equal(null);
      expect(protocol.log.filter((event) => event !== 'error')).to.deep.equal(['made', 'lost']);
    });
  });

  it('reports a failed send (EMSGSIZE) to errorReceived and goes on sending', async () => {
    await runInLoop(async () => {
      const [transport, protocol, port] = await localEndpoint();
      transport.sendto(Buffer.alloc(70000), ['127.0.0.1', port]);
      const error = (await waitFor(protocol.errors.get(), 2)) as NodeJS.ErrnoException;
      expect(error.code).to.equal('EMSGSIZE');
      expect(transport.getWriteBufferSize()).to.equal(0);
      transport.sendto(new Uint8Array([1, 2, 3]), ['127.0.0.1', port]);
      expect([...(await waitFor(protocol.datagrams.get(), 2)).data]).to.deep.equal([1, 2, 3]);
      transport.close();
      await waitFor(protocol.lost, 2);
    });
  });

  it('reports an unknown host name in sendto() to errorReceived as a GaiError', async () => {
    await runInLoop(async () => {
      const [transport, protocol] = await localEndpoint();
      transport.sendto(Buffer.from('x'), ['no-such-host.invalid', 9]);
      const error = await waitFor(protocol.errors.get(), 5);
      expect(error).to.be.instanceOf(GaiError);
      expect((error as GaiError).code).to.equal('ENOTFOUND');
      transport.close();
      await waitFor(protocol.lost, 2);
    });
  });

  it('rejects bad sendto() arguments with TypeError or ValueError', async () => {
    await runInLoop(async () => {
      const [transport, protocol] = await localEndpoint();
      expect(() => transport.sendto(Buffer.from('x'))).to.throw(TypeError, /addr is required/);
      expect(() => transport.sendto(42 as unknown as Buffer, ['127.0.0.1', 9])).to.throw(TypeError, /bytes-like/);
      expect(() => transport.sendto(Buffer.from('x'), ['127.0.0.1'] as unknown as Address)).to.throw(TypeError);
      expect(() => transport.sendto(Buffer.from('x'), ['127.0.0.1', 0])).to.throw(ValueError, /port/);
      expect(() => transport.sendto(Buffer.from('x'), ['127.0.0.1', 70000])).to.throw(ValueError, /port/);
      expect(transport.getWriteBufferSize()).to.equal(0);
      transport.close();
      await waitFor(protocol.lost, 2);
    });
  });

  it('refuses sendto() once closing, with a RuntimeError', async () => {
    await runInLoop(async () => {
      const [transport, protocol, port] = await localEndpoint();
      transport.close();
      expect(() => transport.sendto(Buffer.from('late'), ['127.0.0.1', port])).to.throw(RuntimeError, /closed/);
      await waitFor(protocol.lost, 2);
      expect(() => transport.sendto(Buffer.from('later'), ['127.0.0.1', port])).to.throw(RuntimeError, /closed/);
    });
  });

  it('fails with EADDRINUSE when the port is taken, and leaves no socket behind', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const [server, serverProtocol, port] = await localEndpoint();
      let made = 0;
      const error = (await expectRejection(
        loop.createDatagramEndpoint(() => (made++, new Recorder()), { localAddr: ['127.0.0.1', port] }),
      )) as NodeJS.ErrnoException;
      expect(error.code).to.equal('EADDRINUSE');
      expect(made).to.equal(0);
      server.close();
      await waitFor(serverProtocol.lost, 2);
    });
  });

  it('rejects bad options with clear errors', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const factory = (): Recorder => new Recorder();
      const cases: Array<[object, new (...args: never[]) => Error, RegExp]> = [
        [{}, ValueError, /unexpected address family/],
        [{ localAddr: '127.0.0.1:0' }, TypeError, /localAddr must be \[host, port\]/],
        [{ remoteAddr: ['127.0.0.1'] }, TypeError, /remoteAddr must be \[host, port\]/],
        [{ localAddr: ['127.0.0.1', 70000] }, ValueError, /port must be an integer in 0\.\.65535/],
        [{ localAddr: ['127.0.0.1', 0], reuseAddress: true }, ValueError, /reuseAddress/],
        [{ localAddr: ['::1', 0], remoteAddr: ['127.0.0.1', 9] }, ValueError, /can not get address information/],
        [{ localAddr: ['no-such-host.invalid', 0] }, GaiError, /ENOTFOUND/],
      ];
      for (const [options, errorClass, message] of cases) {
        const error = await expectRejection(loop.createDatagramEndpoint(factory, options));
        expect(error, JSON.stringify(options)).to.be.instanceOf(errorClass);
        expect(error.message).to.match(message);
      }
      const reusePort = loop.createDatagramEndpoint(factory, { localAddr: ['127.0.0.1', 0], reusePort: true });
      const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
      if (major > 22 || (major === 22 && minor >= 12)) {
        const [transport, protocol] = await reusePort;
        transport.close();
        await waitFor(protocol.lost, 2);
      } else {
        expect(await expectRejection(reusePort)).to.be.instanceOf(ValueError).with.property('message').match(/22\.12/);
      }
    });
  });

  it('rejects a protocol factory that is not a function, and a closed loop', async () => {
    let closedLoop: EventLoop | null = null;
    await runInLoop(async () => {
      closedLoop = getRunningLoop();
      const error = await expectRejection(
        getRunningLoop().createDatagramEndpoint(42 as unknown as () => Recorder, { family: AF_INET }),
      );
      expect(error).to.be.instanceOf(TypeError);
    });
    const error = await expectRejection(
      (closedLoop as unknown as EventLoop).createDatagramEndpoint(() => new DatagramProtocol(), { family: AF_INET }),
    );
    expect(error).to.be.instanceOf(RuntimeError);
  });

  it('closes the socket of a cancelled creation', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const created: Recorder[] = [];
      const task = loop.createTask(() =>
        loop.createDatagramEndpoint(() => {
          const protocol = new Recorder();
          created.push(protocol);
          return protocol;
        }, { localAddr: ['127.0.0.1', 0] }),
      );
      await sleep(0);
      task.cancel();
      expect(await expectRejection(task)).to.be.instanceOf(CancelledError);
      // Wherever the cancel landed, a protocol that was made is also lost.
      for (const protocol of created) expect(await waitFor(protocol.lost, 2)).to.equal(null);
    });
  });

  it('closes its socket when the loop closes', async () => {
    let socket: dgram.Socket | null = null;
    await runInLoop(async () => {
      const [transport] = await localEndpoint();
      socket = transport.getExtraInfo('socket') as dgram.Socket;
    });
    await new Promise((resolve) => (socket as unknown as dgram.Socket).once('close', resolve));
  });
});

describe('DatagramTransport flow control and closing', () => {
  checkFdLeaks();

  it('counts datagrams in flight in getWriteBufferSize()', async () => {
    await runInLoop(async () => {
      const [server, serverProtocol, port] = await localEndpoint();
      server.sendto(Buffer.alloc(10), ['127.0.0.1', port]);
      expect(server.getWriteBufferSize()).to.equal(18);
      await waitFor(serverProtocol.datagrams.get(), 2);
      expect(server.getWriteBufferSize()).to.equal(0);
      server.close();
      await waitFor(serverProtocol.lost, 2);
    });
  });

  it('calls pauseWriting above the high-water mark and resumeWriting at the low one', async () => {
    await runInLoop(async () => {
      const [server, protocol, port] = await localEndpoint();
      expect(server.getWriteBufferLimits()).to.deep.equal([16384, 65536]);
      expect(() => server.setWriteBufferLimits(1, 2)).to.throw(ValueError, /high \(1\) must be >= low \(2\)/);
      server.setWriteBufferLimits(20);
      expect(server.getWriteBufferLimits()).to.deep.equal([5, 20]);
      for (let i = 0; i < 3; i++) server.sendto(Buffer.alloc(10), ['127.0.0.1', port]);
      expect(protocol.log).to.deep.equal(['made', 'pause']);
      for (let i = 0; i < 3; i++) await waitFor(protocol.datagrams.get(), 2);
      await sleep(0.01);
      expect(protocol.log.filter((event) => event !== 'datagram')).to.deep.equal(['made', 'pause', 'resume']);
      server.close();
      await waitFor(protocol.lost, 2);
    });
  });

  it('close() lets sends in flight finish; abort() drops them', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const [server, serverProtocol, port] = await localEndpoint();
      const [client, clientProtocol] = await loop.createDatagramEndpoint(() => new Recorder(), {
        remoteAddr: ['127.0.0.1', port],
      });
      client.sendto(Buffer.from('last words'));
      client.close();
      expect((await waitFor(serverProtocol.datagrams.get(), 2)).data.toString()).to.equal('last words');
      expect(await waitFor(clientProtocol.lost, 2)).to.equal(null);
      server.abort();
      expect(await waitFor(serverProtocol.lost, 2)).to.equal(null);
    });
  });

  it('delivers nothing after close()', async () => {
    await runInLoop(async () => {
      const [server, protocol, port] = await localEndpoint();
      const sender = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => sender.send('early', port, '127.0.0.1', () => resolve()));
      await waitFor(protocol.datagrams.get(), 2);
      server.close();
      await new Promise<void>((resolve) => sender.send('late', port, '127.0.0.1', () => resolve()));
      await waitFor(protocol.lost, 2);
      await new Promise<void>((resolve) => sender.close(resolve));
      expect(protocol.log).to.deep.equal(['made', 'datagram', 'lost']);
    });
  });
});
