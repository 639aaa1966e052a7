/**
 * Server: listening, serving, closing (in the spirit of CPython's test_server).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { expect } from 'chai';
import {
  CancelledError,
  ConnectionRefusedError,
  getRunningLoop,
  Protocol,
  RuntimeError,
  sleep,
  ValueError,
  type EventLoop,
  type ExceptionContext,
  type Future,
  type Transport,
} from '../../src/loop/index.js';
import { checkFdLeaks, runInLoop, until, rejection, portOf } from '../helpers.js';

/** Echoes what it receives; remembers its transport and when it is lost. */
class Echo extends Protocol {
  transport: Transport | null = null;
  readonly lost: Future<void>;

  constructor(loop: EventLoop) {
    super();
    this.lost = loop.createFuture<void>();
  }

  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }

  override dataReceived(data: Buffer): void {
    this.transport?.write(data);
  }

  override connectionLost(): void {
    this.lost.setResult(undefined);
  }
}

/** A plain Node client that collects what it receives. */
async function rawClient(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = netConnect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (data) => (text += data.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => text, closed };
}

/** Whether waitClosed() has resolved, looked at after a few loop iterations. */
async function hasResolved(future: PromiseLike<unknown>): Promise<boolean> {
  let settled = false;
  void Promise.resolve(future).then(() => (settled = true));
  await sleep(0.02);
  return settled;
}

describe('Server', () => {
  checkFdLeaks();

  it('reports its sockets, address, loop and serving state', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const server = await loop.createServer(() => new Echo(loop), '127.0.0.1', 0);
      expect(server.getLoop()).to.equal(loop);
      expect(server.isServing()).to.equal(true);
      expect(server.sockets).to.have.length(1);
      const [host, port] = server.sockets[0].getsockname() as [string, number];
      expect(host).to.equal('127.0.0.1');
      expect(port).to.equal(portOf(server));
      expect(server.sockets[0].family).to.equal('IPv4');
      expect(String(server)).to.contain(`127.0.0.1`);
      server.close();
      expect(server.isServing()).to.equal(false);
      expect(server.sockets).to.deep.equal([]);
      expect(server.address()).to.equal(null);
      server.close(); // idempotent
      await server.waitClosed();
    });
  });

  it('listens on every address of a host name, and on all interfaces for a null host', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const named = await loop.createServer(() => new Echo(loop), 'localhost', 0);
      expect(named.sockets.length).to.be.at.least(1);
      const everywhere = await loop.createServer(() => new Echo(loop), null, 0);
      const client = await rawClient(portOf(everywhere));
      client.socket.write('hi');
      await until(() => client.received() === 'hi');
      client.socket.end();
      await client.closed;
      named.close();
      everywhere.close();
      await named.waitClosed();
      await everywhere.waitClosed();
    });
  });

  it('with startServing: false, holds connections until startServing()', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const server = await loop.createServer(() => new Echo(loop), '127.0.0.1', 0, { startServing: false });
      expect(server.isServing()).to.equal(false);
      const client = await rawClient(portOf(server));
      client.socket.write('early');
      await sleep(0.05);
      expect(client.received()).to.equal('');
      await server.startServing();
      expect(server.isServing()).to.equal(true);
      await until(() => client.received() === 'early');
      await server.startServing(); // idempotent
      client.socket.end();
      await client.closed;
      server.close();
      await server.waitClosed();
      expect(await rejection(server.startServing())).to.be.instanceOf(RuntimeError);
    });
  });

  it('close() stops listening but leaves accepted connections up; waitClosed() waits for them', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const server = await loop.createServer(() => new Echo(loop), '127.0.0.1', 0);
      const port = portOf(server);
      const client = await rawClient(port);
      server.close();
      expect(await rejection(loop.createConnection(() => new Protocol(), '127.0.0.1', port))).to.be.instanceOf(
        ConnectionRefusedError,
      );
      client.socket.write('still served');
      await until(() => client.received() === 'still served');
      const closed = server.waitClosed();
      expect(await hasResolved(closed)).to.equal(false);
      client.socket.end();
      await closed;
      await client.closed;
    });
  });

  it('waitClosed() does not resolve before close()', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const server = await loop.createServer(() => new Echo(loop), '127.0.0.1', 0);
      const closed = server.waitClosed();
      expect(await hasResolved(closed)).to.equal(false);
      server.close();
      await closed;
      await server.waitClosed(); // at once, once closed
    });
  });

  it('closeClients() closes after flushing; abortClients() at once', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const protocols: Echo[] = [];
      const server = await loop.createServer(
        () => {
          const protocol = new Echo(loop);
          protocols.push(protocol);
          return protocol;
        },
        '127.0.0.1',
        0,
      );
      const first = await rawClient(portOf(server));
      const second = await rawClient(portOf(server));
      await until(() => protocols.length === 2);
      server.close();
      protocols[0].transport?.write('bye');
      server.closeClients();
      await first.closed;
      await second.closed;
      expect(first.received()).to.equal('bye');
      await server.waitClosed();

      const again = await loop.createServer(() => new Echo(loop), '127.0.0.1', 0);
      const third = await rawClient(portOf(again));
      await sleep(0.01);
      again.close();
      again.abortClients();
      await again.waitClosed();
      await third.closed;
    });
  });

  it('serveForever() serves until cancelled, then closes the server', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const server = await loop.createServer(() => new Echo(loop), '127.0.0.1', 0, { startServing: false });
      const serving = loop.createTask(() => server.serveForever());
      await sleep(0.01);
      expect(server.isServing()).to.equal(true);
      expect(await rejection(server.serveForever())).to.be.instanceOf(RuntimeError);
      const client = await rawClient(portOf(server));
      client.socket.write('x');
      await until(() => client.received() === 'x');
      client.socket.end();
      await client.closed;
      serving.cancel();
      expect(await rejection(serving)).to.be.instanceOf(CancelledError);
      expect(server.isServing()).to.equal(false);
      expect(server.sockets).to.deep.equal([]);
      const err = await rejection(server.serveForever());
      expect(err).to.be.instanceOf(RuntimeError);
      expect((err as Error).message).to.contain('is closed');
    });
  });

  it('close() ends a running serveForever() with CancelledError', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const server = await loop.createServer(() => new Echo(loop), '127.0.0.1', 0);
      const serving = loop.createTask(() => server.serveForever());
      await sleep(0.01);
      server.close();
      expect(await rejection(serving)).to.be.instanceOf(CancelledError);
    });
  });

  it('works with await using', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      let port: number;
      {
        await using server = await loop.createServer(() => new Echo(loop), '127.0.0.1', 0);
        port = portOf(server);
      }
      expect(await rejection(loop.createConnection(() => new Protocol(), '127.0.0.1', port))).to.be.instanceOf(
        ConnectionRefusedError,
      );
    });
  });

  it('fails with EADDRINUSE when the port is taken, leaving nothing open', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const server = await loop.createServer(() => new Echo(loop), '127.0.0.1', 0);
      const err = await rejection(loop.createServer(() => new Echo(loop), '127.0.0.1', portOf(server)));
      expect((err as NodeJS.ErrnoException).code).to.equal('EADDRINUSE');
      server.close();
      await server.waitClosed();
    });
  });

  it('reports a failing protocol factory and keeps serving', async () => {
    const contexts: ExceptionContext[] = [];
    await runInLoop(
      async () => {
        const loop = getRunningLoop();
        let calls = 0;
        const server = await loop.createServer(
          () => {
            if (++calls === 1) throw new Error('factory failed');
            return new Echo(loop);
          },
          '127.0.0.1',
          0,
        );
        const refused = await rawClient(portOf(server));
        await refused.closed;
        expect(contexts.map((context) => context.message)).to.deep.equal([
          'Error on transport creation for incoming connection',
        ]);
        const served = await rawClient(portOf(server));
        served.socket.write('ok');
        await until(() => served.received() === 'ok');
        served.socket.end();
        await served.closed;
        server.close();
        await server.waitClosed();
      },
      (loop) => loop.setExceptionHandler((_loop, context) => contexts.push(context)),
    );
  });

  it('rejects reusePort where Node lacks it, and options that make no sense', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const [major, minor] = process.versions.node.split('.').map(Number);
      if (major < 22 || (major === 22 && minor < 12) || (major === 23 && minor < 1)) {
        const err = await rejection(loop.createServer(() => new Echo(loop), '127.0.0.1', 0, { reusePort: true }));
        expect(err).to.be.instanceOf(ValueError);
        expect((err as Error).message).to.contain('reusePort');
      }
      const err = await rejection(loop.createServer(() => new Echo(loop), '127.0.0.1', 0, { sslHandshakeTimeout: 1 }));
      expect(err).to.be.instanceOf(ValueError);
      expect(await rejection(loop.createServer(() => new Echo(loop), [42 as unknown as string], 0))).to.be.instanceOf(
        TypeError,
      );
    });
  });

  it('closes when the loop closes, with its connections', async () => {
    let port = 0;
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const server = await loop.createServer(() => new Echo(loop), '127.0.0.1', 0);
      port = portOf(server);
      await rawClient(port).then((client) => client.socket.unref());
      await sleep(0.01);
    });
    await runInLoop(async () => {
      const loop = getRunningLoop();
      expect(await rejection(loop.createConnection(() => new Protocol(), '127.0.0.1', port))).to.be.instanceOf(
        ConnectionRefusedError,
      );
    });
  });
});
