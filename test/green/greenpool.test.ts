/**
 * GreenPool and GreenPile, after eventlet's greenpool_test: spawning into a
 * full pool, waitall, resize, counts, imap/starmap order and errors, piles,
 * and pools shared between green threads and async code.
 */
import { expect } from 'chai';
import sinon from 'sinon';
import { createTask, sleep as asyncSleep } from '../../src/loop/index.js';
import { GreenPile, GreenPool, GreenThread, GreenletExit, spawn } from '../../src/green/index.js';
import { BlockingOnHubError } from '../../src/bridge/index.js';
import { runInLoop } from '../helpers.js';
import { useGreenWorkers, waitUntil } from '../green-workers.js';
import { clearRecords, records } from './fixtures/record.js';
import { mostInside, openGate, resetGates } from './fixtures/pool-gate.js';
import {
  badSizesInGreen,
  bunchOfWork,
  countsFromGreen,
  gated,
  identity,
  imapBreakInGreen,
  imapInGreen,
  imapRaisesInGreen,
  imapTwoInGreen,
  makePool,
  passthru,
  passthru2,
  pileInGreen,
  pileOverPool,
  pileWithErrors,
  poolInGreen,
  raiser,
  readPile,
  reenter,
  reenterFailing,
  resizeFromGreen,
  spawnGated,
  spawnIntoPile,
  spawnMany,
  spawnNFailure,
  spawnRecorder,
  starmapInGreen,
  tracked,
  waitallFromMember,
  waitallInGreen,
  waitallWithTimeout,
} from './fixtures/pool-work.js';

/** Waits until the records include `entry`. */
async function recorded(entry: string): Promise<void> {
  expect(await waitUntil(() => records().includes(entry)), `recorded '${entry}'`).to.equal(true);
}

/** Waits until `condition` holds (the hub updates counts as threads report). */
async function until(condition: () => boolean, what: string): Promise<void> {
  expect(await waitUntil(condition), what).to.equal(true);
}

/** The outcome of an awaitable: its value, or the error's class name. */
async function outcome(awaitable: PromiseLike<unknown>): Promise<unknown> {
  return await Promise.resolve(awaitable).then(
    (value) => value,
    (error: unknown) => (error as Error).name,
  );
}

const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

function beforeEachTest(): void {
  beforeEach(() => {
    clearRecords();
    resetGates();
  });
}

describe('green: GreenPool spawn, counts and waitall', () => {
  useGreenWorkers(4);
  beforeEachTest();

  it('spawns from async code, at most size at once, results by thread (test_spawn)', async () => {
    const results = await runInLoop(async () => {
      const pool = new GreenPool(3);
      const threads: GreenThread<number>[] = [];
      for (const i of range(7)) {
        const { thread } = await pool.spawnAsync(tracked, i);
        expect(pool.running()).to.be.at.most(3);
        threads.push(thread);
      }
      await pool.waitallAsync();
      expect(pool.running()).to.equal(0);
      return threads.map((thread) => thread.wait());
    });
    expect(results).to.deep.equal(range(7));
    expect(mostInside()).to.be.within(1, 3);
  });

  it('spawns from green code, blocking while the pool is full', async () => {
    const results = await runInLoop(async () => spawn(spawnMany, new GreenPool(2), 5));
    expect(results).to.deep.equal(range(5));
  });

  it('refuses a blocking spawn on the loop thread when full, naming spawnAsync', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(1);
      const first = pool.spawn(gated, 'g', 'first');
      expect(first).to.be.instanceOf(GreenThread);
      expect(pool.free()).to.equal(0);
      expect(() => pool.spawn(identity, 2)).to.throw(BlockingOnHubError, /spawnAsync/);
      expect(() => pool.spawnN(identity, 2)).to.throw(BlockingOnHubError, /spawnAsync/);
      expect(() => pool.waitall()).to.throw(BlockingOnHubError, /waitallAsync/);
      openGate('g');
      expect(await first).to.equal('first');
      await pool.waitallAsync();
      pool.waitall();
    });
  });

  it('counts the spawns waiting for a slot and starts them in the order they came (test_waiting)', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(1);
      expect([pool.running(), pool.waiting(), pool.free()]).to.deep.equal([0, 0, 1]);
      const holder = pool.spawn(gated, 'hold', 'holder');
      const second = spawn(spawnRecorder, pool, 'second');
      await until(() => pool.waiting() === 1, 'one spawn waits');
      const third = spawn(spawnRecorder, pool, 'third');
      await until(() => pool.waiting() === 2, 'two spawns wait');
      expect([pool.running(), pool.free()]).to.deep.equal([1, 0]);
      expect(await spawn(countsFromGreen, pool)).to.deep.equal([1, 1, 0, 2]);
      openGate('hold');
      expect(await holder).to.equal('holder');
      expect(await second).to.equal('second');
      expect(await third).to.equal('third');
      expect([pool.running(), pool.waiting(), pool.free()]).to.deep.equal([0, 0, 1]);
    });
    expect(records().filter((entry) => entry.startsWith('ran'))).to.deep.equal(['ran second', 'ran third']);
  });

  it('withdraws the spawn of a thread killed while it waits for a slot', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(1);
      const holder = pool.spawn(gated, 'hold', 'holder');
      const blocked = spawn(spawnGated, pool, 'never', 'blocked');
      await recorded('spawning blocked');
      await until(() => pool.waiting() === 1, 'the spawn waits');
      blocked.kill();
      expect(await outcome(blocked)).to.equal('CancelledError');
      expect(() => blocked.wait()).to.throw(GreenletExit);
      expect(pool.waiting()).to.equal(0);
      openGate('hold');
      await holder;
      expect(await outcome(pool.spawn(identity, 'after'))).to.equal('after');
      await pool.waitallAsync();
    });
    expect(records()).to.include('spawning blocked');
    expect(records()).not.to.include('spawned blocked');
    expect(records()).not.to.include('start blocked');
  });

  it('withdraws a spawnAsync whose Future is cancelled', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(1);
      pool.spawn(gated, 'hold', 'holder');
      const waiting = pool.spawnAsync(gated, 'never', 'withdrawn');
      expect(pool.waiting()).to.equal(1);
      waiting.cancel();
      expect(pool.waiting()).to.equal(0);
      openGate('hold');
      await pool.waitallAsync();
      expect(pool.running()).to.equal(0);
    });
    expect(records()).not.to.include('start withdrawn');
  });

  it('reports a spawnN error instead of raising it, and frees its slot (test_exceptions)', async () => {
    const handler = sinon.spy();
    const free = await runInLoop(async () => spawn(spawnNFailure, new GreenPool(2)), (loop) => loop.setExceptionHandler(handler));
    expect(free).to.equal(2);
    expect(await waitUntil(() => handler.called)).to.equal(true);
    expect(handler.firstCall.args[1].exception).to.be.instanceOf(RangeError);
  });

  it('frees the slot of a thread that failed, and of one that was killed', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(2);
      const failing = pool.spawn(raiser, 1);
      expect(await outcome(failing)).to.equal('RangeError');
      const killed = pool.spawn(gated, 'never', 'killed');
      await recorded('start killed');
      killed.kill();
      await pool.waitallAsync();
      expect([pool.running(), pool.free()]).to.deep.equal([0, 2]);
    });
  });

  it('waits for all from green code and from async code (test_waitall_on_nothing)', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(3);
      await pool.waitallAsync();
      expect(await spawn(waitallInGreen, pool, 4)).to.deep.equal([0, 3]);
      expect(await spawn(waitallInGreen, new GreenPool(), 0)).to.deep.equal([0, 1000]);
    });
  });

  it('times out waitall(timeout) in green code', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(1);
      pool.spawn(gated, 'hold', 'holder');
      expect(await spawn(waitallWithTimeout, pool, 0.02)).to.equal('TimeoutError');
      openGate('hold');
      await pool.waitallAsync();
    });
  });

  it("refuses waitall() from one of the pool's own threads (test_recursive_waitall)", async () => {
    const error = await runInLoop(async () => {
      const pool = new GreenPool(2);
      return await outcome(pool.spawn(waitallFromMember, pool));
    });
    expect(error).to.equal('RuntimeError');
  });
});

describe('green: GreenPool resize, reentrance, sharing', () => {
  useGreenWorkers(4);
  beforeEachTest();

  it('shrinks: running threads finish, free() goes negative meanwhile (test_resize)', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(2);
      pool.spawn(gated, 'hold', 'a');
      pool.spawn(gated, 'hold', 'b');
      expect([pool.free(), pool.running()]).to.deep.equal([0, 2]);
      pool.resize(1);
      expect([pool.size, pool.free(), pool.running()]).to.deep.equal([1, -1, 2]);
      openGate('hold');
      await pool.waitallAsync();
      expect([pool.free(), pool.running()]).to.deep.equal([1, 0]);
      pool.resize(2);
      expect(pool.free()).to.equal(2);
    });
  });

  it('grows: spawns waiting for a slot start at once', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(1);
      pool.spawn(gated, 'hold', 'holder');
      const waiter = spawn(spawnRecorder, pool, 'waiter');
      await until(() => pool.waiting() === 1, 'a spawn waits');
      await spawn(resizeFromGreen, pool, 2);
      expect(pool.waiting()).to.equal(0);
      expect(await waiter).to.equal('waiter');
      expect(pool.size).to.equal(2);
      openGate('hold');
      await pool.waitallAsync();
    });
    expect(records()).to.include('ran waiter');
  });

  it('does not start a waiting spawn while a shrunk pool is still over its size', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(2);
      pool.spawn(gated, 'first', 'a');
      pool.spawn(gated, 'second', 'b');
      pool.resize(1);
      const waiting = pool.spawnAsync(identity, 'c');
      openGate('first');
      await until(() => pool.running() === 1, 'one thread finished');
      await asyncSleep(0.02);
      expect(waiting.done()).to.equal(false);
      openGate('second');
      const { thread } = await waiting;
      expect(await thread).to.equal('c');
    });
  });

  it('lets a thread of a full pool spawn into it without deadlock (test_reentrant)', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(1);
      expect(await pool.spawn(reenter, pool)).to.equal('reenter');
      expect(await pool.spawn(reenterFailing, pool)).to.equal('RangeError: intentional error 1');
      await pool.waitallAsync();
      expect([pool.running(), pool.free()]).to.deep.equal([0, 1]);
    });
  });

  it('shares one pool between green threads: the limit holds across them', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(1);
      const a = spawn(spawnGated, pool, 'hold', 'a');
      await recorded('start a');
      const b = spawn(spawnGated, pool, 'hold', 'b');
      await until(() => pool.waiting() === 1, "b's spawn waits");
      expect(records()).not.to.include('start b');
      openGate('hold');
      expect([await a, await b]).to.deep.equal(['a', 'b']);
    });
  });

  it('uses a pool made in green code, from there and from async code', async () => {
    await runInLoop(async () => {
      expect(await spawn(poolInGreen, 2)).to.deep.equal([2, 0, 2, 1, 2]);
      const maker = spawn(makePool, 3);
      await until(() => maker.dead, 'the maker finished');
      const pool = maker.wait();
      expect(pool).to.be.instanceOf(GreenPool);
      expect([pool.size, pool.running()]).to.deep.equal([3, 0]);
      expect(await pool.spawn(passthru, 'from async')).to.equal('from async');
      expect(String(pool)).to.match(/^<GreenPool #\d+ size=3 running=/);
    });
  });

  it('checks sizes: TypeError for a non-number, RangeError for a bad number', async () => {
    expect(() => new GreenPool('foo' as unknown as number)).to.throw(TypeError);
    expect(() => new GreenPool(-1)).to.throw(RangeError);
    expect(() => new GreenPool(1.5)).to.throw(RangeError);
    expect(() => new GreenPool(Number.NaN)).to.throw(RangeError);
    expect(() => new GreenPile('x' as unknown as number)).to.throw(TypeError);
    expect(new GreenPool(0).size).to.equal(0);
    expect(new GreenPool(1e3).size).to.equal(1000);
    expect(new GreenPool().size).to.equal(1000);
    expect(() => new GreenPool(1).resize(-2)).to.throw(RangeError);
    expect(await runInLoop(async () => spawn(badSizesInGreen))).to.deep.equal(['TypeError', 'RangeError', 'RangeError']);
  });
});

describe('green: GreenPool imap and starmap', () => {
  useGreenWorkers(4);
  beforeEachTest();

  it('gives results in order from async code, at most size in flight (test_imap)', async () => {
    const results = await runInLoop(async () => {
      const collected: number[] = [];
      for await (const value of new GreenPool(3).imap(tracked, range(8))) collected.push(value);
      return collected;
    });
    expect(results).to.deep.equal(range(8));
    expect(mostInside()).to.be.within(1, 3);
  });

  it('gives results in order to green code', async () => {
    expect(await runInLoop(async () => spawn(imapInGreen, new GreenPool(3), range(8)))).to.deep.equal(range(8));
  });

  it('raises an error at its item and goes on (test_imap_raises)', async () => {
    const expected = [0, 'r', 2, 3, 4, 5, 6, 'r', 8, 9];
    expect(await runInLoop(async () => spawn(imapRaisesInGreen, new GreenPool(3), 10))).to.deep.equal(expected);
    const fromAsync = await runInLoop(async () => {
      const iterator = new GreenPool(3).imap(raiser, range(10))[Symbol.asyncIterator]();
      const results: (number | string)[] = [];
      for (;;) {
        try {
          const step = await iterator.next();
          if (step.done === true) return results;
          results.push(step.value);
        } catch (error) {
          results.push(error instanceof RangeError ? 'r' : String(error));
        }
      }
    });
    expect(fromAsync).to.deep.equal(expected);
  });

  it('zips several iterables up to the shortest, and ends at once on none (test_imap_multi_args, test_empty_imap)', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(3);
      const zipped = await spawn(imapTwoInGreen, pool, [1, 2, 3, 4], ['a', 'b', 'c']);
      expect(zipped).to.deep.equal([[1, 'a'], [2, 'b'], [3, 'c']]);
      expect(pool.imap(passthru, []).next()).to.deep.equal({ done: true, value: undefined });
      expect((await pool.imap(passthru, [])[Symbol.asyncIterator]().next()).done).to.equal(true);
    });
  });

  it('maps argument lists with starmap, from green code and from async iterables', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(2);
      const rows: [number, string][] = [[1, 'a'], [2, 'b'], [3, 'c']];
      expect(await spawn(starmapInGreen, pool, rows)).to.deep.equal(rows);
      async function* asyncRows(): AsyncGenerator<[number, string]> {
        for (const row of rows) yield row;
      }
      const collected: unknown[] = [];
      for await (const value of pool.starmap(passthru2, asyncRows())) collected.push(value);
      expect(collected).to.deep.equal(rows);
      expect(pool.running()).to.equal(0);
    });
  });

  it('stops reading the input when the loop over results is left early', async () => {
    const [results, read, closed] = await runInLoop(async () => spawn(imapBreakInGreen, new GreenPool(2), 3));
    expect(results).to.deep.equal([0, 1, 2]);
    expect(read).to.be.at.most(5);
    expect(closed).to.equal(true);
  });

  it('raises an error of the input after the results before it', async () => {
    await runInLoop(async () => {
      function* failing(): Generator<number> {
        yield 1;
        yield 2;
        throw new SyntaxError('bad input');
      }
      const iterator = new GreenPool(2).imap(identity, failing())[Symbol.asyncIterator]();
      expect((await iterator.next()).value).to.equal(1);
      expect((await iterator.next()).value).to.equal(2);
      expect(await outcome(iterator.next())).to.equal('SyntaxError');
      expect((await iterator.next()).done).to.equal(true);
    });
  });

  it('refuses to block in a sync iteration on the loop thread, and checks its arguments', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(2);
      const results = pool.imap(passthru, [1]);
      expect(() => results.next()).to.throw(BlockingOnHubError, /for await/);
      results.return();
      expect(() => pool.imap(passthru, 5 as unknown as number[])).to.throw(TypeError, /iterable/);
      expect(() => pool.imap((x: number) => x, [1])).to.throw(/anonymous/);
      await asyncSleep(0.05);
    });
  });
});

describe('green: GreenPile', () => {
  useGreenWorkers(4);
  beforeEachTest();

  it('gives results in spawn order (test_pile)', async () => {
    expect(await runInLoop(async () => spawn(pileInGreen, 3, 8))).to.deep.equal(range(8));
  });

  it('gives results in spawn order to async code', async () => {
    const results = await runInLoop(async () => {
      const pile = new GreenPile<number>(3);
      for (const i of range(6)) await pile.spawnAsync(passthru, i);
      expect(pile.counter).to.equal(6);
      expect(pile.used).to.equal(true);
      const collected: number[] = [];
      for await (const value of pile) collected.push(value);
      expect(pile.counter).to.equal(0);
      return collected;
    });
    expect(results).to.deep.equal(range(6));
  });

  it('ends at once when nothing was spawned (test_empty_pile)', async () => {
    await runInLoop(async () => {
      const pile = new GreenPile(4);
      expect([...pile]).to.deep.equal([]);
      expect(pile.used).to.equal(false);
      expect((await pile.nextAsync()).done).to.equal(true);
    });
  });

  it('raises an error at its place and goes on', async () => {
    expect(await runInLoop(async () => spawn(pileWithErrors, 3, 9))).to.deep.equal([0, 'r', 2, 3, 4, 5, 6, 'r', 8]);
  });

  it('spawns into piles over a shared pool from several green threads (test_constructing_from_pool)', async () => {
    await runInLoop(async () => {
      const pool = new GreenPool(2);
      const pile1 = new GreenPile<number>(pool);
      const pile2 = new GreenPile<number>(pool);
      expect(pile1.pool).to.equal(pool);
      // Read once the spawning is over: a pile read while others still spawn into it may end early (eventlet too).
      await Promise.all([spawn(bunchOfWork, pile1, 0), spawn(bunchOfWork, pile2, 100)]);
      const second: number[] = [];
      for await (const value of pile2) second.push(value);
      const first: number[] = [];
      for await (const value of pile1) first.push(value);
      expect(second).to.deep.equal([100, 101, 102, 103, 104]);
      expect(first).to.deep.equal(range(5));
    });
  });

  it('is read by another green thread, and sees its counts from there', async () => {
    await runInLoop(async () => {
      const pile = new GreenPile<number>(2);
      await pile.spawnAsync(passthru, 1);
      await pile.spawnAsync(passthru, 2);
      expect(await spawn(readPile, pile)).to.deep.equal([[1, 2], 0, true]);
      expect(await spawn(pileOverPool, new GreenPool(2))).to.deep.equal([2, [1, 2]]);
    });
  });

  it('keeps its order when a spawn waiting for a slot is killed (test_pile_spawn_times_out)', async () => {
    await runInLoop(async () => {
      const pile = new GreenPile<string>(1);
      await pile.spawnAsync(gated, 'hold', 'first');
      const blocked = spawn(spawnIntoPile, pile, 'never', 'blocked');
      await until(() => pile.pool.waiting() === 1, 'the spawn waits');
      expect(pile.counter).to.equal(2);
      blocked.kill();
      await outcome(blocked);
      await until(() => pile.counter === 1, 'the killed spawn left the pile');
      openGate('hold');
      await pile.spawnAsync(identity, 'second');
      const results: string[] = [];
      for await (const value of pile) results.push(value);
      expect(results).to.deep.equal(['first', 'second']);
    });
    expect(records()).not.to.include('start blocked');
  });

  it('leaves a result to the next reader when a reader stops waiting', async () => {
    await runInLoop(async () => {
      const pile = new GreenPile<string>(2);
      await pile.spawnAsync(gated, 'hold', 'only');
      const impatient = createTask(async () => pile.nextAsync());
      await asyncSleep(0.01);
      impatient.cancel();
      expect(await outcome(impatient)).to.equal('CancelledError');
      expect(pile.counter).to.equal(1);
      openGate('hold');
      expect(await pile.nextAsync()).to.deep.equal({ done: false, value: 'only' });
      expect(() => pile.next()).not.to.throw();
    });
  });

  it('refuses to block in next() on the loop thread', async () => {
    await runInLoop(async () => {
      const pile = new GreenPile<string>(1);
      pile.spawn(gated, 'hold', 'x');
      expect(() => pile.next()).to.throw(BlockingOnHubError, /nextAsync/);
      expect(() => pile.spawn(identity, 'y')).to.throw(BlockingOnHubError, /spawnAsync/);
      openGate('hold');
      expect((await pile.nextAsync()).value).to.equal('x');
    });
  });
});
