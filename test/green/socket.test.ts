/**
 * Green sockets, after eventlet's greenio_test: real TCP and UDP sockets on
 * 127.0.0.1, used from real green threads (worker threads), with the hub
 * doing the I/O.
 */
import { expect } from 'chai';
import { spawn } from '../../src/green/index.js';
import * as socket from '../../src/green/socket.js';
import { BlockingOnHubError } from '../../src/bridge/index.js';
import { checkFdLeaks, runInLoop } from '../helpers.js';
import { warmWorkers } from './fixtures/net-warm.js';
// Every worker the pool may keep is started before the fd count is taken: a worker has fds of its own.
import { TEST_POOL_SIZE, useGreenWorkers } from '../green-workers.js';
import { clearRecords, records } from './fixtures/record.js';
import {
  bigSendall,
  closeWhileReading,
  connectExCodes,
  connectRefused,
  fullDuplex,
  handOff,
  killDuringRecv,
  leakOnPurpose,
  makefileLines,
  namesAndOptions,
  nonBlocking,
  notConnectedErrors,
  pingPong,
  readAll,
  recvAfterPeerClosed,
  resolve,
  secondReader,
  sendallTimeout,
  sendFromOtherThread,
  startEcho,
  stringsRecvIntoShutdown,
  timeouts,
  udpExchange,
} from './fixtures/net-socket.js';

/** Runs `fn(...args)` in a green thread on a fresh loop; its result. */
function green<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
  return runInLoop(async (): Promise<Awaited<R>> => (await spawn(fn, ...args)) as Awaited<R>);
}

describe('green socket: TCP', function () {
  this.timeout(20000);
  useGreenWorkers(TEST_POOL_SIZE);
  warmWorkers();
  checkFdLeaks(3000);
  beforeEach(clearRecords);

  it('echoes messages between two green threads', async () => {
    const replies = await runInLoop(async () => {
      const address = await spawn(startEcho);
      return spawn(pingPong, address, ['hello', 'wörld', 'x'.repeat(3000)]);
    });
    expect(replies).to.deep.equal(['hello', 'wörld', 'x'.repeat(3000)]);
  });

  it('raises ENOTCONN for reads and writes on a stream socket that was never connected', async () => {
    const results = await green(notConnectedErrors);
    const enotconn = ['SocketError', 'ENOTCONN', 107, '[Errno 107] Transport endpoint is not connected'];
    for (const call of ['recv', 'recvInto', 'recvfrom', 'send', 'sendAgain', 'sendall', 'makefileRead', 'makefileReadline']) {
      expect(results[call], call).to.deep.equal(enotconn);
    }
    for (const call of ['boundRecv', 'boundSend', 'listeningRecv', 'listeningSend']) {
      expect(results[call], call).to.deep.equal(enotconn);
    }
    expect(results.closedRecv.slice(0, 3), 'closedRecv').to.deep.equal(['SocketError', 'EBADF', 9]);
    expect(results.closedSend.slice(0, 3), 'closedSend').to.deep.equal(['SocketError', 'EBADF', 9]);
    expect(results.connectedSend).to.deep.equal(['ok', 2]);
    expect(results.peerRecv).to.deep.equal(['ok', 'ok']);
    expect(results.shutRecv).to.deep.equal(['ok', '']);
    expect(results.shutSend[0]).to.equal('BrokenPipeError');
  });

  it('sends at once on a connected socket handed to another green thread', async () => {
    expect(await green(sendFromOtherThread)).to.equal('hello');
  });

  it('recv returns an empty Buffer once the peer has closed', async () => {
    expect(await green(recvAfterPeerClosed)).to.deep.equal([0, 0]);
  });

  it('raises ECONNREFUSED (ConnectionRefusedError) on a port nothing listens on', async () => {
    const [name, code, message] = (await green(connectRefused)) as [string, string, string];
    expect(name).to.equal('ConnectionRefusedError');
    expect(code).to.equal('ECONNREFUSED');
    expect(message).to.match(/ECONNREFUSED/);
  });

  it('connectEx returns 0 on success and errno 111 when refused', async () => {
    expect(await green(connectExCodes)).to.deep.equal([0, 111]);
  });

  it('accept and recv raise SocketTimeout after the socket timeout', async () => {
    const results = await green(timeouts, 0.05);
    for (const [name, message, waited] of results) {
      expect(name).to.equal('SocketTimeout');
      expect(message).to.equal('timed out');
      expect(waited).to.be.within(0.045, 1);
    }
  });

  it('sendall raises SocketTimeout when the peer does not read', async () => {
    expect(await green(sendallTimeout)).to.deep.equal(['SocketTimeout', 'timed out']);
  });

  it('non-blocking sockets raise EAGAIN (and EINPROGRESS for connect) instead of blocking', async () => {
    expect(await green(nonBlocking)).to.deep.equal([
      ['BlockingIOError', 'EAGAIN'],
      ['BlockingIOError', 'EAGAIN'],
      ['BlockingIOError', 'EINPROGRESS'],
    ]);
  });

  it('a second simultaneous recv on one socket is a RuntimeError; the first still gets the data', async () => {
    const error = (await green(secondReader)) as [string, unknown, string];
    expect(error[0]).to.equal('RuntimeError');
    expect(error[2]).to.match(/^Second simultaneous read on fileno \d+/);
    expect(records()).to.include('first read late');
  });

  it('closing a socket another thread is reading fails that recv with EBADF', async () => {
    expect(await green(closeWhileReading)).to.match(/^error SocketError: \[Errno 9\] Bad file descriptor/);
  });

  it('sendall of 8 MiB arrives whole', async () => {
    expect(await green(bigSendall, 8 * 1024 * 1024)).to.deep.equal([8 * 1024 * 1024, true]);
  });

  it('sends and receives on one socket at once from two threads (full duplex)', async () => {
    const [sent, echoed] = await runInLoop(async () => {
      const address = await spawn(startEcho);
      return spawn(fullDuplex, address, 4 * 1024 * 1024);
    });
    expect(echoed).to.equal(sent);
  });

  it('hands a socket to another thread without losing or repeating data pushed ahead', async () => {
    const [sent, received] = await green(handOff, 1000, 200_000);
    expect(received).to.equal(sent);
  });

  it('a kill interrupts a blocked recv, and no data is lost', async () => {
    expect(await green(killDuringRecv)).to.equal('after');
  });

  it('reports names, a stable fileno, and options (TCP_NODELAY on by default)', async () => {
    const result = await green(namesAndOptions);
    const [, port] = result.listening as [string, number];
    expect(port).to.be.above(0);
    expect(result.peername).to.deep.equal(result.listening);
    expect(result.acceptedFrom).to.deep.equal(result.sockname);
    expect(result.peerOfAccepted).to.deep.equal(result.sockname);
    expect(result.filenoStable).to.equal(true);
    expect(result).to.include({ nodelay: 1, reuseaddr: 1, keepalive: 1, nodelayOff: 0, type: socket.SOCK_STREAM, timeout: null });
    expect(result.unknown).to.deep.include.members(['SocketError', 'ENOPROTOOPT']);
    const [filenoAfterClose, recvAfterClose] = result.afterClose as [number, string[]];
    expect(filenoAfterClose).to.equal(-1);
    expect(recvAfterClose.slice(0, 2)).to.deep.equal(['SocketError', 'EBADF']);
  });

  it('encodes strings as UTF-8, fills buffers with recvInto, half-closes with shutdown(SHUT_WR)', async () => {
    expect(await green(stringsRecvIntoShutdown)).to.deep.equal({ count: 6, text: 'héllo', eof: 0, reply: 'still open' });
  });

  it('makefile reads lines and sized chunks, and writes through a buffer', async () => {
    expect(await green(makefileLines)).to.deep.equal({
      lines: ['first line\n', 'second line\n'],
      some: 'the ',
      rest: 'rest',
      end: 0,
    });
  });

  it('closes the sockets of threads that die without closing them', async () => {
    const text = await runInLoop(async () => {
      const address = await spawn(leakOnPurpose);
      return spawn(readAll, address);
    });
    expect(text).to.equal('bye');
    // checkFdLeaks (after the group) checks that the listener and both ends are gone.
  });

  it('refuses blocking calls on the event loop thread', () => {
    expect(() => socket.getaddrinfo('localhost', 80)).to.throw(BlockingOnHubError);
  });
});

describe('green socket: UDP and name resolution', function () {
  this.timeout(20000);
  useGreenWorkers(TEST_POOL_SIZE);
  warmWorkers();
  checkFdLeaks(3000);

  it('exchanges datagrams with sendto/recvfrom, and send/recv once connected', async () => {
    const result = await green(udpExchange);
    expect(result).to.deep.include({ first: 'one', second: 'tw', third: 'three' });
    expect(result.fromB).to.deep.equal(result.addressB);
    expect(result.thirdFrom).to.deep.equal(result.addressA);
    expect((result.timeout as unknown[])[0]).to.equal('SocketTimeout');
  });

  it('resolves names with the system resolver (/etc/hosts)', async () => {
    const result = await green(resolve);
    expect(result.host).to.equal('127.0.0.1');
    expect(result.first).to.deep.equal([socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, '', ['127.0.0.1', 80]]);
    expect(result.unknown).to.equal('GaiError');
  });
});
