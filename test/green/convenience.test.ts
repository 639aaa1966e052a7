/**
 * eventlet's convenience functions, after its convenience_test: listen,
 * connect, serve (one green thread per connection, a concurrency limit,
 * errors and StopServe) over real sockets.
 */
import { expect } from 'chai';
import { spawn } from '../../src/green/index.js';
import { checkFdLeaks, runInLoop } from '../helpers.js';
import { warmWorkers } from './fixtures/net-warm.js';
import { TEST_POOL_SIZE, useGreenWorkers } from '../green-workers.js';
import { clearRecords, records } from './fixtures/record.js';
import { echoServer, limitedServer, listenOptions, serveUntil } from './fixtures/net-serve.js';

function green<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
  return runInLoop(async (): Promise<Awaited<R>> => (await spawn(fn, ...args)) as Awaited<R>);
}

/** The most handlers that were running at once, from the start/end records. */
function peakConcurrency(entries: string[]): number {
  let running = 0;
  let peak = 0;
  for (const entry of entries) {
    running += entry.startsWith('start') ? 1 : entry.startsWith('end') ? -1 : 0;
    peak = Math.max(peak, running);
  }
  return peak;
}

describe('green convenience: listen, connect, serve', function () {
  this.timeout(20000);
  useGreenWorkers(TEST_POOL_SIZE);
  warmWorkers();
  checkFdLeaks(3000);
  beforeEach(clearRecords);

  it('listen sets SO_REUSEADDR and picks a free port for port 0', async () => {
    const [reuse, port] = await green(listenOptions);
    expect(reuse).to.equal(1);
    expect(port).to.be.above(0);
  });

  it('serve runs a handler per connection and closes each client when it returns', async () => {
    expect(await green(echoServer, 3)).to.deep.equal(['message 0', 'message 1', 'message 2', true]);
  });

  it('a handler error ends serve with that error', async () => {
    expect(await green(serveUntil, 'fail')).to.deep.equal(['ok fail', 'TypeError: handler failed']);
  });

  it('StopServe raised in a handler makes serve return', async () => {
    expect(await green(serveUntil, 'stop')).to.deep.equal(['ok stop', 'returned']);
  });

  it('runs at most `concurrency` handlers at once; the others wait their turn', async () => {
    const replies = await green(limitedServer, 3, 1);
    expect(replies).to.deep.equal(['done', 'done', 'done']);
    expect(records().filter((entry) => entry.startsWith('start'))).to.have.length(3);
    expect(peakConcurrency(records())).to.equal(1);
  });
});
