/**
 * Shared containers (SharedMap, SharedSet, SharedCounter): green threads in
 * several workers updating them at once lose no update, async code on the
 * loop reads and writes the same containers, values are copies on every
 * side, bad input is refused with a documented error, and a container is
 * released once nothing holds it.
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  NotShareableError,
  Queue,
  SharedCounter,
  SharedMap,
  SharedSet,
  spawn,
  type socket,
  type SharedKey,
} from '../../src/green/index.js';
import { NotModuleLevelError } from '../../src/bridge/index.js';
import { ValueError } from '../../src/loop/errors.js';
import { runInLoop, runScript } from '../helpers.js';
import { TEST_POOL_SIZE, useGreenWorkers } from '../green-workers.js';
import {
  appendItem,
  badCalls,
  bump,
  bumpByCas,
  claim,
  failingUpdate,
  makeMap,
  readAndMutate,
  readAroundTheMap,
  removeValue,
  unshareableUpdate,
  useStoredQueue,
  writeValues,
} from './fixtures/shared-state.js';

describe('green: shared containers', () => {
  useGreenWorkers(TEST_POOL_SIZE);

  it('loses no update when green threads in several workers and async code bump the same containers', async () => {
    const threads = TEST_POOL_SIZE;
    const n = 150;
    const [count, hits, log] = await runInLoop(async () => {
      const counter = new SharedCounter();
      const map = new SharedMap<string, unknown>();
      const running = Array.from({ length: threads }, (_, i) => spawn(bump, counter, map, n, `t${i}`));
      // Async code updates the same containers meanwhile.
      for (let i = 0; i < n; i++) {
        counter.increment();
        map.increment('hits');
        map.update('log', appendItem, `async:${i}`);
        if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(running);
      return [counter.value, map.get('hits'), map.get('log') as string[]];
    });
    const total = (threads + 1) * n;
    expect(count).to.equal(total);
    expect(hits).to.equal(total);
    expect(log).to.have.length(total);
    // Each writer's entries in its own order.
    for (const label of ['async', 't0', `t${threads - 1}`]) {
      const mine = log.filter((entry) => entry.startsWith(`${label}:`));
      expect(mine).to.deep.equal(Array.from({ length: n }, (_, i) => `${label}:${i}`));
    }
  });

  it('makes compareAndSet a correct retry loop across threads', async () => {
    const n = 100;
    const value = await runInLoop(async () => {
      const counter = new SharedCounter(10);
      await Promise.all([spawn(bumpByCas, counter, n), spawn(bumpByCas, counter, n), spawn(bumpByCas, counter, n)]);
      expect(counter.getAndSet(0)).to.equal(10 + 3 * n);
      expect(counter.compareAndSet(1, 5)).to.equal(false);
      expect(counter.compareAndSet(0, 5)).to.equal(true);
      expect(counter.decrement(2)).to.equal(3);
      return counter.value;
    });
    expect(value).to.equal(3);
  });

  it('lets exactly one thread claim each member of a SharedSet', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => i);
    const [won, members] = await runInLoop(async () => {
      const set = new SharedSet<number>([1000]);
      const winners = await Promise.all([spawn(claim, set, ids), spawn(claim, set, ids), spawn(claim, set, ids)]);
      expect(set.delete(1000)).to.equal(true);
      expect(set.add(1000)).to.equal(true);
      expect(set.add(1000)).to.equal(false);
      expect(set.pop()).to.equal(0);
      return [winners.flat().sort((a, b) => a - b), [...set]];
    });
    expect(won).to.deep.equal(ids);
    expect(members).to.have.length(ids.length).and.include(1000).and.not.include(0);
  });

  it('copies values in and out, on the hub and in green threads', async () => {
    await runInLoop(async () => {
      const stored = { n: [1, 2] };
      const map = new SharedMap<string, { n: number[] }>([['obj', stored]]);
      stored.n.push(3);
      expect(map.get('obj')).to.deep.equal({ n: [1, 2] });
      map.get('obj')?.n.push(4);
      expect(map.get('obj')).to.deep.equal({ n: [1, 2] });
      // A green thread mutating what it read changes nothing either.
      expect(await spawn(readAndMutate, map)).to.deep.equal([[1, 2], 1, ['obj']]);
      expect(map.setDefault('obj', { n: [] })).to.deep.equal({ n: [1, 2] });
      expect(map.pop('missing', 'none')).to.equal('none');
      expect(map.getAndSet('obj', { n: [7] })).to.deep.equal({ n: [1, 2] });
      expect(map.compareAndSet('obj', { n: [7] }, { n: [8] })).to.equal(true);
      expect(map.compareAndSet('obj', { n: [7] }, { n: [9] })).to.equal(false);
      expect(map.compareAndSet('fresh', undefined, { n: [] })).to.equal(true);
      expect(map.entries()).to.deep.equal([
        ['obj', { n: [8] }],
        ['fresh', { n: [] }],
      ]);
    });
  });

  it('carries data classes, errors and green objects through a map written by a green thread', async () => {
    await runInLoop(async () => {
      const map = new SharedMap<string, unknown>();
      const queue = new Queue<string>();
      await spawn(writeValues, map, queue);
      expect(map.get('date')).to.be.instanceOf(Date);
      expect(Buffer.isBuffer(map.get('buffer'))).to.equal(true);
      expect((map.get('nested') as { a: [number, { b: Map<string, Set<number>> }] }).a[1].b.get('k')?.has(1)).to.equal(true);
      expect(map.get('error')).to.be.instanceOf(RangeError).with.property('message', 'kept');
      // The queue is the same queue on the hub, and a green thread that reads it from the map gets a handle.
      expect(map.get('queue')).to.equal(queue);
      expect(await spawn(useStoredQueue, map, 'through the map')).to.equal(5);
      expect(queue.getNowait()).to.equal('through the map');
      expect(map.values()[4]).to.equal(queue);
    });
  });

  it('runs update() functions on the hub: removal on undefined, errors raised, the map unchanged', async () => {
    await runInLoop(async () => {
      const map = new SharedMap<string, unknown>([['k', [1]]]);
      expect(map.update('k', appendItem, 2)).to.deep.equal([1, 2]);
      expect(() => map.update('k', failingUpdate)).to.throw(RangeError, 'update refused');
      expect(() => map.update('k', unshareableUpdate)).to.throw(NotShareableError, /result of unshareableUpdate\(\).*function/);
      expect(map.get('k')).to.deep.equal([1, 2]);
      expect(() => map.update('k', () => undefined)).to.throw(NotModuleLevelError);
      expect(map.update('k', removeValue)).to.equal(undefined);
      expect(map.has('k')).to.equal(false);
    });
  });

  it('refuses what it cannot share with NotShareableError and ValueError naming the problem, on both sides', async () => {
    const messages = await runInLoop(async () => {
      const map = new SharedMap<SharedKey, unknown>();
      const set = new SharedSet();
      const counter = new SharedCounter();
      const green = await spawn(badCalls, map, set, counter);
      const local = badCalls(map, set, counter);
      expect(map.size).to.equal(0);
      expect(set.size).to.equal(0);
      expect(counter.value).to.equal(0);
      return [green, local];
    });
    for (const side of messages) {
      expect(side[0]).to.match(/^NotShareableError: SharedMap\.set\(\): the value\.?.* is a function/);
      expect(side[1]).to.match(/^NotShareableError: .*instance of Point.*plain object/);
      expect(side[2]).to.match(/^NotShareableError: .*the value\.q is a green object.*top level/);
      expect(side[3]).to.match(/^NotShareableError: SharedMap\.set\(\): keys .* must be strings/);
      expect(side[4]).to.match(/^NotShareableError: SharedSet\.add\(\)/);
      expect(side[5]).to.match(/^ValueError: SharedCounter\.increment\(\): delta must be a finite number, got string/);
      expect(side[6]).to.match(/^NotModuleLevelError: /);
    }
    expect(() => new SharedCounter(Number.NaN)).to.throw(ValueError, /initial value/);
  });

  it('crosses as a handle: a map made by a green thread is the same map for async code', async () => {
    await runInLoop(async () => {
      const map = await spawn(makeMap);
      expect(map).to.be.instanceOf(SharedMap);
      expect(map.entries()).to.deep.equal([
        ['made', 1],
        ['by', 2],
      ]);
    });
  });

  it('stores a socket as a handle: reading it back in its reader thread does not rewind its stream', async () => {
    const server = net.createServer((peer) => {
      peer.write('first\n');
      peer.once('data', () => peer.end('second\n'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const lines = await runInLoop(async () => spawn(readAroundTheMap, port, new SharedMap<string, socket.Socket>()));
      expect(lines).to.deep.equal(['first\n', 'second\n']);
    } finally {
      server.close();
    }
  });

  it('is kept while a green thread holds a handle, and released once none does', async function () {
    this.timeout(60000);
    const script = fileURLToPath(new URL('./fixtures/shared-release.ts', import.meta.url));
    const outcome = await runScript(script, { env: { NODE_OPTIONS: '--expose-gc' }, hangLimit: 50 });
    expect(outcome.stderr).to.equal('');
    expect(JSON.parse(outcome.stdout.trim())).to.deep.equal({ keptWhileHeld: true, valueSeenByHolder: 1, released: true });
  });
});
