/**
 * Barrier, in the spirit of CPython's test_locks.py (BarrierTests): arrival
 * indices, reuse across rounds, abort/reset, cancellation.
 */
import { expect } from 'chai';
import {
  Barrier,
  BrokenBarrierError,
  CancelledError,
  ValueError,
  createTask,
  sleep,
  type Task,
} from '../../src/loop/index.js';
import { runInLoop, rejection } from '../helpers.js';

function spawnWaiters(barrier: Barrier, count: number): Task<number>[] {
  return Array.from({ length: count }, () => createTask(async () => barrier.wait()));
}

/** Cancels `task` after `seconds`: a timeout, the way asyncio's are built. */
function cancelAfter<T>(task: Task<T>, seconds: number): void {
  task.getLoop().callLater(seconds, () => task.cancel());
}

describe('Barrier', () => {
  it('checks parties', () => {
    expect(() => new Barrier(0)).to.throw(ValueError, 'parties must be >= 1');
    expect(() => new Barrier(2.5)).to.throw(TypeError, /must be an integer/);
    const barrier = new Barrier(3);
    expect(barrier.parties).to.equal(3);
    expect(barrier.nWaiting).to.equal(0);
    expect(barrier.broken).to.equal(false);
    expect(String(barrier)).to.equal('<Barrier [filling, waiters:0/3]>');
  });

  it('releases all parties together; wait() resolves to the arrival index', async () => {
    await runInLoop(async () => {
      const barrier = new Barrier(3);
      const first = spawnWaiters(barrier, 2);
      await sleep(0.01);
      expect(barrier.nWaiting).to.equal(2);
      expect(first.some((task) => task.done())).to.equal(false);
      const last = await barrier.wait();
      expect(last).to.equal(2);
      expect(await Promise.all(first)).to.deep.equal([0, 1]);
      expect(barrier.nWaiting).to.equal(0);
    });
  });

  it('a barrier of one party never waits', async () => {
    await runInLoop(async () => {
      const barrier = new Barrier(1);
      expect(await barrier.wait()).to.equal(0);
      expect(await barrier.wait()).to.equal(0);
    });
  });

  it('is reusable: arrivals during the drain fill the next round', async () => {
    await runInLoop(async () => {
      const barrier = new Barrier(2);
      const rounds: number[][] = [];
      const worker = async (): Promise<void> => {
        for (let round = 0; round < 3; round++) {
          const index = await barrier.wait();
          (rounds[round] ??= []).push(index);
        }
      };
      await Promise.all([createTask(worker), createTask(worker)]);
      expect(rounds.map((indices) => [...indices].sort())).to.deep.equal([
        [0, 1],
        [0, 1],
        [0, 1],
      ]);
      expect(barrier.nWaiting).to.equal(0);
    });
  });

  it('tasks arriving while a round drains wait for the next round', async () => {
    await runInLoop(async () => {
      const barrier = new Barrier(2);
      const round1 = spawnWaiters(barrier, 2);
      const round2 = spawnWaiters(barrier, 1); // created together: 2 trip, 1 waits
      await Promise.all(round1);
      await sleep(0.01);
      expect(round2[0].done()).to.equal(false);
      expect(barrier.nWaiting).to.equal(1);
      expect(await barrier.wait()).to.equal(1);
      expect(await round2[0]).to.equal(0);
    });
  });

  it('abort() breaks the barrier for waiters and later callers, until reset()', async () => {
    await runInLoop(async () => {
      const barrier = new Barrier(3);
      const waiters = spawnWaiters(barrier, 2);
      await sleep(0.01);
      barrier.abort();
      expect(barrier.broken).to.equal(true);
      for (const task of waiters) {
        const err = await rejection(task);
        expect(err).to.be.instanceOf(BrokenBarrierError);
        expect((err as Error).message).to.equal('Abort or reset of barrier');
      }
      const late = await rejection(barrier.wait());
      expect(late).to.be.instanceOf(BrokenBarrierError).with.property('message', 'Barrier aborted');
      expect(String(barrier)).to.equal('<Barrier [broken]>');
      barrier.reset();
      expect(barrier.broken).to.equal(false);
      const again = spawnWaiters(barrier, 2);
      await sleep(0.01);
      expect(await barrier.wait()).to.equal(2);
      expect(await Promise.all(again)).to.deep.equal([0, 1]);
    });
  });

  it('reset() breaks the current round, then the barrier fills again', async () => {
    await runInLoop(async () => {
      const barrier = new Barrier(3);
      const waiters = spawnWaiters(barrier, 2);
      await sleep(0.01);
      barrier.reset();
      const next = spawnWaiters(barrier, 2); // wait for the reset round to empty
      for (const task of waiters) expect(await rejection(task)).to.be.instanceOf(BrokenBarrierError);
      await sleep(0.01);
      expect(barrier.broken).to.equal(false);
      expect(barrier.nWaiting).to.equal(2);
      expect(await barrier.wait()).to.equal(2);
      expect(await Promise.all(next)).to.deep.equal([0, 1]);
    });
  });

  it('a cancelled waiter leaves the round', async () => {
    await runInLoop(async () => {
      const barrier = new Barrier(2);
      const [cancelled] = spawnWaiters(barrier, 1);
      await sleep(0.01);
      expect(barrier.nWaiting).to.equal(1);
      cancelled.cancel();
      expect(await rejection(cancelled)).to.be.instanceOf(CancelledError);
      expect(barrier.nWaiting).to.equal(0);
      const [other] = spawnWaiters(barrier, 1);
      await sleep(0.01);
      expect(other.done()).to.equal(false); // the cancelled task did not count
      expect(await barrier.wait()).to.equal(1);
      expect(await other).to.equal(0);
    });
  });

  it('works from generator coroutines, and cancel() interrupts their wait', async () => {
    await runInLoop(async () => {
      const barrier = new Barrier(3);
      const gen = (): Task<number> =>
        createTask(function* () {
          return (yield barrier.wait()) as number;
        });
      const a = gen();
      const b = gen();
      await sleep(0.01);
      b.cancel();
      expect(await rejection(b)).to.be.instanceOf(CancelledError);
      const c = gen();
      await sleep(0.01);
      expect(barrier.nWaiting).to.equal(2);
      expect(await barrier.wait()).to.equal(2);
      expect([await a, await c]).to.deep.equal([0, 1]);
    });
  });

  it('times out through cancellation', async () => {
    await runInLoop(async () => {
      const barrier = new Barrier(2);
      const [task] = spawnWaiters(barrier, 1);
      cancelAfter(task, 0.01);
      expect(await rejection(task)).to.be.instanceOf(CancelledError);
      expect(barrier.nWaiting).to.equal(0);
      expect(barrier.broken).to.equal(false);
    });
  });
});
