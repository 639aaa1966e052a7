/**
 * gather(), in the spirit of the gather tests of CPython's test_tasks:
 * result order, error propagation without cancelling siblings, cancellation.
 */
import { expect } from 'chai';
import {
  CancelledError,
  Future,
  ValueError,
  allTasks,
  createTask,
  gather,
  getRunningLoop,
  isFuture,
  newEventLoop,
  sleep,
} from '../../src/loop/index.js';
import { runFaked, rejection } from '../helpers.js';

async function failAfter(delay: number, error: Error): Promise<never> {
  await sleep(delay);
  throw error;
}

describe('gather()', () => {
  it('gives the results in argument order, whatever order they finish in', async () => {
    await runFaked(async () => {
      const loop = getRunningLoop();
      const fut = loop.createFuture<string>();
      loop.callLater(0.02, () => fut.setResult('future'));
      const gen = function* (): Generator<unknown, string, unknown> {
        yield sleep(0.01);
        return 'generator';
      };
      const results = await gather(sleep(0.03, 'slow'), fut, gen(), (async () => 'async')());
      expect(results).to.deep.equal(['slow', 'future', 'generator', 'async']);
    });
  });

  it('returns a Future; gather() of nothing is already resolved to []', async () => {
    await runFaked(async () => {
      const empty = gather();
      expect(isFuture(empty)).to.equal(true);
      expect(empty.done()).to.equal(true);
      expect(empty.result()).to.deep.equal([]);
      const some = gather(sleep(0, 1));
      expect(some).to.be.instanceOf(Future);
      expect(await some).to.deep.equal([1]);
    });
  });

  it('raises the first error at once and leaves the other children running', async () => {
    await runFaked(async () => {
      const boom = new Error('boom');
      const slow = createTask(() => sleep(0.05, 'slow'));
      const outer = gather(slow, failAfter(0.01, boom));
      expect(await rejection(outer)).to.equal(boom);
      expect(slow.done()).to.equal(false);
      expect(await slow).to.equal('slow');
      // Cancelling a finished gather reaches nothing.
      expect(outer.cancel()).to.equal(false);
    });
  });

  it('with returnExceptions puts errors and cancellations in the results', async () => {
    await runFaked(async () => {
      const boom = new RangeError('boom');
      const cancelled = createTask(() => sleep(10));
      getRunningLoop().callLater(0.01, () => cancelled.cancel('stop it'));
      const results = await gather(sleep(0.02, 'ok'), failAfter(0.01, boom), cancelled, { returnExceptions: true });
      expect(results[0]).to.equal('ok');
      expect(results[1]).to.equal(boom);
      expect(results[2]).to.be.instanceOf(CancelledError);
      expect((results[2] as Error).message).to.equal('stop it');
    });
  });

  it('a cancelled child without returnExceptions raises CancelledError (the gather is not cancelled)', async () => {
    await runFaked(async () => {
      const child = createTask(() => sleep(10));
      const sibling = createTask(() => sleep(0.02, 'sibling'));
      const outer = gather(child, sibling);
      getRunningLoop().callLater(0.01, () => child.cancel());
      expect(await rejection(outer)).to.be.instanceOf(CancelledError);
      expect(outer.cancelled()).to.equal(false);
      expect(await sibling).to.equal('sibling');
    });
  });

  it('cancelling the gather cancels every child, also with returnExceptions', async () => {
    await runFaked(async () => {
      for (const returnExceptions of [false, true]) {
        const a = createTask(() => sleep(10));
        const b = createTask(() => sleep(10));
        const done = createTask(() => sleep(0, 'done'));
        await done;
        const outer = gather(a, b, done, { returnExceptions });
        expect(outer.cancel('enough')).to.equal(true);
        expect(outer.done()).to.equal(false); // it ends once the children have
        const err = await rejection(outer);
        expect(err).to.be.instanceOf(CancelledError);
        expect(a.cancelled()).to.equal(true);
        expect(b.cancelled()).to.equal(true);
        expect(done.result()).to.equal('done');
      }
    });
  });

  it('cancelling the task that awaits it cancels the children', async () => {
    await runFaked(async () => {
      const children: Future<unknown>[] = [];
      const waiter = createTask(async () => {
        children.push(createTask(() => sleep(10)), createTask(() => sleep(10)));
        await gather(...children);
      });
      await sleep(0.01);
      waiter.cancel();
      expect(await rejection(waiter)).to.be.instanceOf(CancelledError);
      expect(waiter.cancelled()).to.equal(true);
      expect(children.every((child) => child.cancelled())).to.equal(true);
    });
  });

  it('gather.cancel() returns false when no child could be cancelled', async () => {
    await runFaked(async () => {
      const done = getRunningLoop().createFuture<number>();
      done.setResult(1);
      const outer = gather(done);
      expect(outer.cancel()).to.equal(false);
      expect(await outer).to.deep.equal([1]);
    });
  });

  it('awaits a repeated argument once and repeats its result', async () => {
    await runFaked(async () => {
      let runs = 0;
      const gen = (function* (): Generator<unknown, string, unknown> {
        runs++;
        yield sleep(0.001);
        return 'once';
      })();
      const fut = sleep(0.001, 'f');
      expect(await gather(gen, fut, gen, fut)).to.deep.equal(['once', 'f', 'once', 'f']);
      expect(runs).to.equal(1);
    });
  });

  it('works from a generator task, over generator coroutines', async () => {
    await runFaked(async () => {
      const child = function* (value: number): Generator<unknown, number, unknown> {
        yield sleep(0.001 * value);
        return value * 10;
      };
      const task = createTask(function* (): Generator<unknown, unknown, unknown> {
        return yield gather(child(3), child(1), child(2));
      });
      expect(await task).to.deep.equal([30, 10, 20]);
    });
  });

  it('a generator task awaiting a gather is cancelled with its children', async () => {
    await runFaked(async () => {
      const child = createTask(() => sleep(10));
      const task = createTask(function* (): Generator<unknown, void, unknown> {
        yield gather(child);
      });
      await sleep(0.01);
      task.cancel();
      expect(await rejection(task)).to.be.instanceOf(CancelledError);
      expect(child.cancelled()).to.equal(true);
    });
  });

  describe('the options argument', () => {
    it('is a trailing plain object, also one without a prototype', async () => {
      await runFaked(async () => {
        const boom = new Error('boom');
        const options = Object.assign(Object.create(null) as object, { returnExceptions: true });
        expect(await gather(failAfter(0, boom), options)).to.deep.equal([boom]);
        expect(await gather(sleep(0, 1), {})).to.deep.equal([1]);
      });
    });

    it('a trailing thenable object is an awaitable, not the options', async () => {
      await runFaked(async () => {
        const thenable = { then: (resolve: (value: string) => void) => resolve('thenable') } as unknown as PromiseLike<string>;
        expect(await gather(sleep(0, 1), thenable)).to.deep.equal([1, 'thenable']);
      });
    });

    it('an unknown option is a TypeError', async () => {
      await runFaked(async () => {
        const bad = { returnException: true } as unknown as { returnExceptions: boolean };
        expect(() => gather(sleep(0), bad)).to.throw(TypeError, /unknown option "returnException"/);
      });
    });
  });

  describe('bad input', () => {
    it('a non-awaitable argument is a TypeError before any task is started', async () => {
      await runFaked(async () => {
        const before = allTasks().size;
        const gen = (function* () {
          yield sleep(0);
        })();
        expect(() => gather(gen, 42 as unknown as Promise<number>)).to.throw(TypeError, /argument 2 is not awaitable: 42/);
        expect(allTasks().size).to.equal(before);
      });
    });

    it('Futures of different loops are a ValueError', async () => {
      const other = newEventLoop();
      try {
        await runFaked(async () => {
          const mine = getRunningLoop().createFuture();
          const theirs = other.createFuture();
          expect(() => gather(mine, theirs)).to.throw(ValueError, /different event loops/);
        });
      } finally {
        other.close();
      }
    });
  });
});
