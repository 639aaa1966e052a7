/**
 * shield(), in the spirit of the shield tests of CPython's test_tasks: the
 * inner work survives the cancellation of whoever waits for it.
 */
import { expect } from 'chai';
import { CancelledError, createTask, ensureFuture, gather, getRunningLoop, shield, sleep } from '../../src/loop/index.js';
import { runFaked, rejection } from '../helpers.js';

describe('shield()', () => {
  it('passes the result and the error of the inner work through', async () => {
    await runFaked(async () => {
      expect(await shield(sleep(0.01, 'value'))).to.equal('value');
      const boom = new Error('boom');
      const failing = (async () => {
        await sleep(0.01);
        throw boom;
      })();
      expect(await rejection(shield(failing))).to.equal(boom);
    });
  });

  it('cancelling the awaiting task leaves the inner task running to its end', async () => {
    await runFaked(async () => {
      const inner = createTask(async () => {
        await sleep(0.03);
        return 'inner done';
      });
      const outer = createTask(() => shield(inner));
      await sleep(0.01);
      outer.cancel();
      expect(await rejection(outer)).to.be.instanceOf(CancelledError);
      expect(outer.cancelled()).to.equal(true);
      expect(inner.done()).to.equal(false);
      expect(await inner).to.equal('inner done');
    });
  });

  it('cancelling the returned Future does not reach the inner one', async () => {
    await runFaked(async () => {
      const inner = getRunningLoop().createFuture<string>();
      const outer = shield(inner);
      expect(outer.cancel()).to.equal(true);
      expect(inner.cancelled()).to.equal(false);
      inner.setResult('still here');
      await sleep(0);
      expect(inner.result()).to.equal('still here');
    });
  });

  it('the inner being cancelled cancels the shield', async () => {
    await runFaked(async () => {
      const inner = createTask(() => sleep(10));
      const outer = shield(inner);
      inner.cancel();
      expect(await rejection(outer)).to.be.instanceOf(CancelledError);
      expect(outer.cancelled()).to.equal(true);
    });
  });

  it('returns a Future already done as it is', async () => {
    await runFaked(async () => {
      const done = getRunningLoop().createFuture<number>();
      done.setResult(1);
      expect(shield(done)).to.equal(done);
    });
  });

  it('cancelling a gather of shields leaves the shielded tasks running', async () => {
    await runFaked(async () => {
      const a = createTask(() => sleep(0.02, 'a'));
      const b = createTask(() => sleep(0.02, 'b'));
      const outer = gather(shield(a), shield(b));
      await sleep(0.001);
      outer.cancel();
      expect(await rejection(outer)).to.be.instanceOf(CancelledError);
      expect(await gather(a, b)).to.deep.equal(['a', 'b']);
    });
  });

  it('shields a generator coroutine, also when awaited from a generator task', async () => {
    await runFaked(async () => {
      let finished = false;
      const work = ensureFuture(
        (function* (): Generator<unknown, string, unknown> {
          yield sleep(0.03);
          finished = true;
          return 'gen';
        })(),
      );
      const waiter = createTask(function* (): Generator<unknown, unknown, unknown> {
        return yield shield(work);
      });
      await sleep(0.01);
      waiter.cancel();
      expect(await rejection(waiter)).to.be.instanceOf(CancelledError);
      expect(await work).to.equal('gen');
      expect(finished).to.equal(true);
    });
  });

  it('refuses what is not awaitable', async () => {
    await runFaked(async () => {
      expect(() => shield(42 as unknown as Promise<number>)).to.throw(TypeError);
    });
  });
});
