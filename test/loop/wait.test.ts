/**
 * wait() and asCompleted(), in the spirit of the wait/as_completed tests of
 * CPython's test_tasks.
 */
import { expect } from 'chai';
import {
  ALL_COMPLETED,
  CancelledError,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  TimeoutError,
  ValueError,
  asCompleted,
  createTask,
  ensureFuture,
  getRunningLoop,
  sleep,
  wait,
  type CompletedFuture,
  type Future,
  type ReturnWhen,
} from '../../src/loop/index.js';
import { runFaked, rejection } from '../helpers.js';

async function failAfter(delay: number, error: Error): Promise<never> {
  await sleep(delay);
  throw error;
}

describe('wait()', () => {
  it('waits for all by default and returns [done, pending] sets', async () => {
    await runFaked(async () => {
      const a = createTask(() => sleep(0.01, 'a'));
      const b = createTask(() => sleep(0.02, 'b'));
      const [done, pending] = await wait([b, a]);
      expect(done).to.be.instanceOf(Set);
      expect([...done]).to.have.members([a, b]);
      expect(pending.size).to.equal(0);
      expect(a.result() + b.result()).to.equal('ab');
      const [again] = await wait([a, b], { returnWhen: ALL_COMPLETED });
      expect(again.size).to.equal(2);
    });
  });

  it('FIRST_COMPLETED returns after the first one, leaving the others running', async () => {
    await runFaked(async () => {
      const loop = getRunningLoop();
      const a = createTask(() => sleep(0.01, 'a'));
      const b = createTask(() => sleep(10, 'b'));
      const t0 = loop.time();
      const [done, pending] = await wait([b, a], { returnWhen: FIRST_COMPLETED });
      expect(loop.time() - t0).to.be.lessThan(5);
      expect([...done]).to.have.members([a]);
      expect([...pending]).to.have.members([b]);
      expect(b.cancelled()).to.equal(false);
      b.cancel();
    });
  });

  it('FIRST_EXCEPTION returns at the first error', async () => {
    await runFaked(async () => {
      const a = createTask(() => sleep(10));
      const b = createTask(() => failAfter(0.01, new Error('boom')));
      const [done, pending] = await wait([a, b], { returnWhen: FIRST_EXCEPTION });
      expect([...done]).to.have.members([b]);
      expect((b.exception() as Error).message).to.equal('boom');
      expect([...pending]).to.have.members([a]);
      a.cancel();
    });
  });

  it('FIRST_EXCEPTION ignores cancellations and waits for all when nothing fails', async () => {
    await runFaked(async () => {
      const a = createTask(() => sleep(10));
      const b = createTask(() => sleep(0.02, 'b'));
      getRunningLoop().callLater(0.01, () => a.cancel());
      const [done, pending] = await wait([a, b], { returnWhen: FIRST_EXCEPTION });
      expect([...done]).to.have.members([a, b]);
      expect(pending.size).to.equal(0);
      expect(a.cancelled()).to.equal(true);
    });
  });

  it('with a timeout returns what is done, cancels nothing, raises nothing', async () => {
    await runFaked(async () => {
      const a = createTask(() => sleep(0.01, 'a'));
      const b = createTask(() => sleep(10, 'b'));
      const [done, pending] = await wait([a, b], { timeout: 0.03 });
      expect([...done]).to.have.members([a]);
      expect([...pending]).to.have.members([b]);
      expect(b.done()).to.equal(false);
      b.cancel();
    });
  });

  it('an Infinity timeout waits as long as it takes', async () => {
    await runFaked(async () => {
      const a = createTask(() => sleep(0.01, 'a'));
      const [done, pending] = await wait([a], { timeout: Infinity });
      expect([...done]).to.have.members([a]);
      expect(pending.size).to.equal(0);
    });
  });

  it('returns at once for Futures already done', async () => {
    await runFaked(async () => {
      const fut = getRunningLoop().createFuture<number>();
      fut.setResult(1);
      const [done, pending] = await wait([fut, fut]);
      expect([...done]).to.have.members([fut]);
      expect(pending.size).to.equal(0);
    });
  });

  it('cancelling the waiting task does not cancel the Futures', async () => {
    await runFaked(async () => {
      const a = createTask(() => sleep(0.05, 'a'));
      const waiter = createTask(() => wait([a]));
      await sleep(0.01);
      waiter.cancel();
      expect(await rejection(waiter)).to.be.instanceOf(CancelledError);
      expect(await a).to.equal('a');
    });
  });

  it('works from a generator task', async () => {
    await runFaked(async () => {
      const a = createTask(() => sleep(0.01, 'a'));
      const b = createTask(() => sleep(10));
      const task = createTask(function* (): Generator<unknown, number, unknown> {
        const [done] = (yield wait([a, b], { returnWhen: FIRST_COMPLETED })) as [Set<Future<unknown>>, unknown];
        return done.size;
      });
      expect(await task).to.equal(1);
      b.cancel();
    });
  });

  describe('bad input', () => {
    it('TypeError for a non-iterable, a Future or a coroutine as the collection', async () => {
      await runFaked(async () => {
        const fut = getRunningLoop().createFuture();
        const gen = (function* () {
          yield fut;
        })();
        for (const bad of [42, fut, gen, null]) {
          const err = await rejection(wait(bad as unknown as Future<unknown>[]));
          expect(err).to.be.instanceOf(TypeError).with.property('message').that.match(/expects an iterable of Futures/);
        }
      });
    });

    it('TypeError for coroutines and promises in the collection: tasks must be explicit', async () => {
      await runFaked(async () => {
        const gen = (function* () {
          yield sleep(0);
        })();
        const err1 = await rejection(wait([gen] as unknown as Future<unknown>[]));
        expect(err1).to.be.instanceOf(TypeError).with.property('message', 'Passing coroutines is forbidden, use tasks explicitly.');
        const err2 = await rejection(wait([Promise.resolve(1)] as unknown as Future<unknown>[]));
        expect(err2).to.be.instanceOf(TypeError).with.property('message').that.match(/ensureFuture/);
        const err3 = await rejection(wait([42] as unknown as Future<unknown>[]));
        expect(err3).to.be.instanceOf(TypeError);
      });
    });

    it('ValueError for an empty collection or an unknown returnWhen', async () => {
      await runFaked(async () => {
        expect(await rejection(wait([]))).to.be.instanceOf(ValueError).with.property('message', 'Set of Tasks/Futures is empty.');
        const fut = sleep(0);
        const err = await rejection(wait([fut], { returnWhen: 'WHENEVER' as ReturnWhen }));
        expect(err).to.be.instanceOf(ValueError).with.property('message').that.match(/Invalid returnWhen value: "WHENEVER"/);
      });
    });
  });
});

describe('asCompleted()', () => {
  it('sync form: awaitables of the results in finishing order; errors raise at their await', async () => {
    await runFaked(async () => {
      const boom = new Error('boom');
      const seen: unknown[] = [];
      for (const next of asCompleted([sleep(0.03, 'c'), sleep(0.01, 'a'), failAfter(0.02, boom)])) {
        try {
          seen.push(await next);
        } catch (e) {
          seen.push(e);
        }
      }
      expect(seen).to.deep.equal(['a', boom, 'c']);
    });
  });

  it('async form: the Futures themselves in finishing order', async () => {
    await runFaked(async () => {
      const slow = createTask(() => sleep(0.02, 'slow'));
      const fast = createTask(() => sleep(0.01, 'fast'));
      const order: CompletedFuture<string>[] = [];
      for await (const fut of asCompleted([slow, fast])) order.push(fut);
      expect(order).to.have.length(2);
      expect(order[0]).to.equal(fast);
      expect(order[1]).to.equal(slow);
      expect(order[0].result()).to.equal('fast');
    });
  });

  it('async form: a promise or generator is represented by the Task made for it', async () => {
    await runFaked(async () => {
      const gen = (function* (): Generator<unknown, string, unknown> {
        yield sleep(0.01);
        return 'gen';
      })();
      const results: string[] = [];
      for await (const fut of asCompleted([gen, (async () => 'promise')()])) results.push(fut.result());
      expect(results).to.deep.equal(['promise', 'gen']);
    });
  });

  it('a cancelled Future: CancelledError at its await (sync form)', async () => {
    await runFaked(async () => {
      const task = createTask(() => sleep(10));
      getRunningLoop().callLater(0.01, () => task.cancel());
      const [only] = [...asCompleted([task])];
      expect(await rejection(only)).to.be.instanceOf(CancelledError);
    });
  });

  it('raises TimeoutError for what is not done in time, and cancels nothing', async () => {
    await runFaked(async () => {
      const slow = createTask(() => sleep(10, 'slow'));
      const results: unknown[] = [];
      for (const next of asCompleted([sleep(0.01, 'fast'), slow], { timeout: 0.03 })) {
        try {
          results.push(await next);
        } catch (e) {
          results.push(e);
        }
      }
      expect(results[0]).to.equal('fast');
      expect(results[1]).to.be.instanceOf(TimeoutError);
      expect(slow.done()).to.equal(false);
      slow.cancel();

      const slow2 = createTask(() => sleep(10));
      const err = await rejection(
        (async () => {
          for await (const fut of asCompleted([slow2], { timeout: 0.01 })) void fut;
        })(),
      );
      expect(err).to.be.instanceOf(TimeoutError).with.property('message').that.match(/timed out after 0.01 s/);
      expect(slow2.cancelled()).to.equal(false);
      slow2.cancel();
    });
  });

  it('yields each distinct awaitable once; nothing for an empty iterable', async () => {
    await runFaked(async () => {
      const fut = sleep(0.001, 'x');
      const items = [...asCompleted([fut, fut])];
      expect(items).to.have.length(1);
      expect(await items[0]).to.equal('x');
      expect([...asCompleted([])]).to.deep.equal([]);
      let count = 0;
      for await (const _ of asCompleted([])) count++;
      expect(count).to.equal(0);
    });
  });

  it('an abandoned await (task cancelled) does not take a completion from the next one', async () => {
    await runFaked(async () => {
      const a = createTask(() => sleep(0.02, 'a'));
      const b = createTask(() => sleep(0.03, 'b'));
      const iterator = asCompleted([a, b])[Symbol.asyncIterator]();
      const first = createTask(() => iterator.next());
      await sleep(0.01);
      first.cancel();
      expect(await rejection(first)).to.be.instanceOf(CancelledError);
      expect((await iterator.next()).value).to.equal(a);
    });
  });

  it('sync form in a generator task', async () => {
    await runFaked(async () => {
      const task = createTask(function* (): Generator<unknown, unknown[], unknown> {
        const results: unknown[] = [];
        for (const next of asCompleted([sleep(0.02, 2), sleep(0.01, 1)])) results.push(yield next);
        return results;
      });
      expect(await task).to.deep.equal([1, 2]);
    });
  });

  it('TypeError for a Future, a coroutine or a non-iterable, and for non-awaitable items', async () => {
    await runFaked(async () => {
      const fut = ensureFuture(sleep(0));
      const gen = (function* () {
        yield fut;
      })();
      for (const bad of [fut, gen, 42]) {
        expect(() => asCompleted(bad as unknown as Future<unknown>[])).to.throw(TypeError, /iterable of awaitables/);
      }
      expect(() => asCompleted([fut, 42 as unknown as Future<unknown>])).to.throw(TypeError, /expects an awaitable/);
      expect(() => asCompleted([fut], { timeout: Number.NaN })).to.throw(ValueError);
    });
  });
});
