/**
 * The operation channel between green threads and the hub: replies, errors
 * crossing with their class, pushed data, timeouts, interruption.
 */
import { expect } from 'chai';
import { TimeoutError, RuntimeError } from '../../../src/loop/errors.js';
import { getRunningLoop } from '../../../src/loop/running.js';
import { spawn } from '../../../src/green/index.js';
import { runInLoop } from '../../helpers.js';
import { useGreenWorkers } from '../../green-workers.js';
import {
  OrderError,
  callReturnsClosure,
  callUnknown,
  collectPushes,
  echo,
  counted,
  echoBuffer,
  failOrder,
  flood,
  hubLog,
  inspectOrderError,
  returnClosure,
  sendThenCall,
  sendUncloneable,
  slow,
  tripleViaPromise,
} from './fixtures/ops.js';
import { useLazy } from './fixtures/uses-lazy.js';

describe('runtime: the operation channel', () => {
  useGreenWorkers();

  beforeEach(() => {
    hubLog.length = 0;
  });

  it('returns the handler result to the green thread', async () => {
    const result = await runInLoop(async () => spawn(echo, 1, 'two', { three: [3] }));
    expect(result).to.deep.equal([1, 'two', { three: [3] }]);
  });

  it('follows a handler that returns a promise', async () => {
    expect(await runInLoop(async () => spawn(tripleViaPromise, 5))).to.equal(15);
  });

  it('raises a handler error in the green thread as its own class, with its fields', async () => {
    const seen = await runInLoop(async () => spawn(inspectOrderError, 7));
    expect(seen).to.deep.equal({
      isOrderError: true,
      isError: true,
      name: 'OrderError',
      message: 'order 7 failed',
      code: 'EORDER',
      orderId: 7,
      stackHasHubFrame: true,
    });
  });

  it('rebuilds a green error on the hub as its own class, with code and stack', async () => {
    const error = await runInLoop(async () => {
      try {
        await spawn(failOrder, 9);
      } catch (err) {
        return err as OrderError;
      }
      return null;
    });
    expect(error).to.be.instanceOf(OrderError);
    expect(error?.code).to.equal('EORDER');
    expect(error?.orderId).to.equal(9);
    expect(error?.stack).to.match(/OrderError: order 9 failed/);
  });

  it('delivers pushed data to the push handler, in order, before the reply', async () => {
    const result = await runInLoop(async () => spawn(collectPushes, ['a', 'b', 'c']));
    expect(result).to.deep.equal({ reply: 3, received: ['a', 'b', 'c'], areBuffers: true });
  });

  it('keeps Buffers as Buffers both ways', async () => {
    const result = await runInLoop(async () => spawn(echoBuffer, Buffer.from('bytes')));
    expect(result).to.deep.equal({ isBuffer: true, text: 'bytes' });
    expect(hubLog).to.deep.equal(['hub got a Buffer: true']);
  });

  it('serves operations sent without waiting before a later call, in order', async () => {
    await runInLoop(async () => spawn(sendThenCall, ['x', 'y']));
    expect(hubLog.map((entry) => entry.split(':')[1])).to.deep.equal(['x', 'y']);
  });

  it('keeps serving the loop while a green thread sends without pause, and loses none of its messages', async () => {
    counted.messages = 0;
    const ticks: number[] = [];
    const outcome = await runInLoop(async () => {
      const loop = getRunningLoop();
      let flooding = true;
      // A task of the loop ticks along while the green thread floods the hub.
      const ticker = loop.createTask(async () => {
        while (flooding) {
          ticks.push(performance.timeOrigin + performance.now());
          await new Promise<void>((resolve) => loop.callLater(0.005, resolve));
        }
      });
      const result = await spawn(flood, 0.4);
      flooding = false;
      await ticker;
      return result;
    });
    expect(counted.messages).to.equal(outcome.sent);
    const ticksDuringFlood = ticks.filter((at) => at < outcome.stoppedAt).length;
    expect(ticksDuringFlood, 'the loop ran while the flood went on').to.be.greaterThan(5);
  });

  it('times a call out with TimeoutError and cancels its operation', async () => {
    const error = await runInLoop(async () => {
      try {
        await spawn(slow, 10, 'late', 0.02);
      } catch (err) {
        return err;
      }
      return null;
    });
    expect(error).to.be.instanceOf(TimeoutError);
    expect(hubLog).to.deep.equal(['started late', 'cancelled late']);
  });

  it('answers a call within its timeout normally', async () => {
    expect(await runInLoop(async () => spawn(slow, 0.01, 'soon', 5))).to.equal('soon');
  });

  it('raises RuntimeError for an operation the hub does not know', async () => {
    const error = await runInLoop(async () => spawn(callUnknown).then(() => null, (err: unknown) => err));
    expect(error).to.be.instanceOf(RuntimeError);
    expect((error as Error).message).to.match(/unknown green operation 'test.noSuchOperation'/);
  });

  it("loads an operation's module on the hub from the URL the call carries", async () => {
    expect(await runInLoop(async () => spawn(useLazy))).to.equal(42);
  });

  it('raises a TypeError when a result cannot cross threads, in either direction', async () => {
    for (const fn of [callReturnsClosure, returnClosure]) {
      const error = await runInLoop(async () => spawn(fn).then(() => null, (err: unknown) => err));
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.match(/result cannot cross threads/);
    }
  });

  it('refuses arguments structured clone cannot copy, with a TypeError naming the call', async () => {
    const error = await runInLoop(async () => spawn(sendUncloneable).then(() => null, (err: unknown) => err));
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.match(/arguments of test\.echo\(\) cannot cross threads/);
  });
});
