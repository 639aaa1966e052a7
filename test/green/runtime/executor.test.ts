/**
 * The thread-pool executor: `loop.runInExecutor` on pooled worker threads.
 */
import { expect } from 'chai';
import { CancelledError, RuntimeError, ValueError } from '../../../src/loop/errors.js';
import { getRunningLoop } from '../../../src/loop/index.js';
import '../../../src/green/index.js';
import { NotInGreenThreadError, NotModuleLevelError, ThreadPoolExecutor } from '../../../src/bridge/index.js';
import { runInLoop } from '../../helpers.js';
import { useGreenWorkers } from '../../green-workers.js';
import { OrderError } from './fixtures/ops.js';
import { blockFor, failBlocking, greenCallInPool, rendezvous, threadIdentity, timedBlock } from './fixtures/pool-calls.js';

describe('runtime: thread-pool executor', () => {
  useGreenWorkers(3);

  it('is the default executor of runInExecutor once greenloop/green is loaded', async () => {
    const result = await runInLoop(async () => {
      const loop = getRunningLoop();
      const value = await loop.runInExecutor(null, blockFor, 10, 'done');
      await loop.shutdownDefaultExecutor();
      return value;
    });
    expect(result).to.equal('done');
  });

  it('runs the function on another thread', async () => {
    const executor = new ThreadPoolExecutor();
    expect(await executor.submit(threadIdentity)).to.equal(true);
    await executor.shutdown();
  });

  it('keeps the loop running while a call blocks its thread', async () => {
    const ticks = await runInLoop(async () => {
      const loop = getRunningLoop();
      let count = 0;
      const ticker = setInterval(() => count++, 2);
      await loop.runInExecutor(null, blockFor, 60, null);
      clearInterval(ticker);
      await loop.shutdownDefaultExecutor();
      return count;
    });
    expect(ticks).to.be.at.least(5);
  });

  it('runs at most maxWorkers calls at once, queueing the rest', async () => {
    const executor = new ThreadPoolExecutor({ maxWorkers: 1 });
    const [first, second] = await Promise.all([executor.submit(timedBlock, 40), executor.submit(timedBlock, 40)]);
    expect(second[0]).to.be.at.least(first[1]);
    await executor.shutdown();
  });

  it('runs calls side by side up to maxWorkers', async () => {
    const executor = new ThreadPoolExecutor({ maxWorkers: 2 });
    const shared = new SharedArrayBuffer(8);
    const met = await Promise.all([executor.submit(rendezvous, shared, 0, 5000), executor.submit(rendezvous, shared, 1, 5000)]);
    expect(met).to.deep.equal([true, true]);
    await executor.shutdown();
  });

  it('rejects with the error of the call, as its own class', async () => {
    const executor = new ThreadPoolExecutor();
    const error = await executor.submit(failBlocking, 4).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(OrderError);
    expect((error as OrderError).orderId).to.equal(4);
    await executor.shutdown();
  });

  it('refuses a closure', async () => {
    const executor = new ThreadPoolExecutor();
    const captured = 1;
    await executor.submit(() => captured).then(
      () => expect.fail('a closure cannot run on another thread'),
      (err: unknown) => expect(err).to.be.instanceOf(NotModuleLevelError),
    );
    await executor.shutdown();
  });

  it('raises NotInGreenThreadError for a green call in a pool thread', async () => {
    const executor = new ThreadPoolExecutor();
    const error = await executor.submit(greenCallInPool).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(NotInGreenThreadError);
    expect((error as Error).message).to.match(/thread-pool threads are not green threads/);
    await executor.shutdown();
  });

  it('drops queued calls at shutdown and waits for the running one', async () => {
    const executor = new ThreadPoolExecutor({ maxWorkers: 1 });
    const running = executor.submit(blockFor, 40, 'ran');
    const queued = executor.submit(blockFor, 40, 'queued');
    const queuedOutcome = queued.then(
      () => 'ran',
      (err: unknown) => err,
    );
    await executor.shutdown(true);
    expect(await running).to.equal('ran');
    expect(await queuedOutcome).to.be.instanceOf(CancelledError);
    await executor.submit(blockFor, 1, null).then(
      () => expect.fail('no call after shutdown'),
      (err: unknown) => expect(err).to.be.instanceOf(RuntimeError),
    );
  });

  it('rejects a bad maxWorkers', () => {
    expect(() => new ThreadPoolExecutor({ maxWorkers: 0 })).to.throw(ValueError);
  });
});
