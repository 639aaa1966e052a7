/**
 * The event loop's scheduler: ordering, timers, running/stopping/closing,
 * the exception handler and debug mode (in the spirit of test_base_events).
 */
import { expect } from 'chai';
import sinon from 'sinon';
import { threadId, Worker } from 'node:worker_threads';
import {
  EventLoop,
  RuntimeError,
  coroutine,
  getRunningLoop,
  logger,
  newEventLoop,
  sleep,
  type ExceptionContext,
} from '../../src/loop/index.js';
import { FAKED } from '../helpers.js';

describe('EventLoop', () => {
  let loop: EventLoop;

  beforeEach(() => {
    loop = newEventLoop();
  });

  afterEach(() => {
    if (loop.isRunning()) loop.stop();
    else loop.close();
    sinon.restore();
  });

  describe('callSoon', () => {
    it('runs callbacks in FIFO order with their arguments', async () => {
      const seen: string[] = [];
      loop.callSoon((a: string) => seen.push(a), 'a');
      loop.callSoon((b: string, c: string) => seen.push(b + c), 'b', 'c');
      loop.callSoon(() => loop.stop());
      await loop.runForever();
      expect(seen).to.deep.equal(['a', 'bc']);
    });

    it('runs callbacks scheduled during an iteration in the next one', async () => {
      const seen: string[] = [];
      loop.callSoon(() => {
        seen.push('first');
        loop.callSoon(() => seen.push('scheduled by first'));
      });
      loop.callSoon(() => seen.push('second'));
      loop.stop(); // stop after exactly one iteration
      await loop.runForever();
      expect(seen).to.deep.equal(['first', 'second']);
      loop.stop();
      await loop.runForever();
      expect(seen).to.deep.equal(['first', 'second', 'scheduled by first']);
    });

    it('skips a cancelled handle', async () => {
      const spy = sinon.spy();
      const handle = loop.callSoon(spy);
      handle.cancel();
      expect(handle.cancelled()).to.equal(true);
      loop.callSoon(() => loop.stop());
      await loop.runForever();
      expect(spy.called).to.equal(false);
    });

    it('refuses a non-function with a TypeError', () => {
      expect(() => loop.callSoon(42 as unknown as () => void)).to.throw(TypeError, /callable/);
    });

    it('wakes a loop idling with nothing scheduled', async () => {
      const run = loop.runForever();
      await new Promise((resolve) => setTimeout(resolve, 5));
      loop.callSoonThreadsafe(() => loop.stop());
      await run;
      expect(loop.isRunning()).to.equal(false);
    });
  });

  describe('timers', () => {
    let clock: sinon.SinonFakeTimers;

    beforeEach(() => {
      clock = sinon.useFakeTimers({ toFake: [...FAKED] });
    });

    it('fire in deadline order, equal deadlines in scheduling order', async () => {
      const seen: string[] = [];
      loop.callLater(0.3, () => seen.push('c'));
      loop.callLater(0.1, () => seen.push('a'));
      loop.callLater(0.2, () => seen.push('b1'));
      loop.callLater(0.2, () => seen.push('b2'));
      loop.callLater(0.4, () => loop.stop());
      const run = loop.runForever();
      await clock.tickAsync(500);
      await run;
      expect(seen).to.deep.equal(['a', 'b1', 'b2', 'c']);
    });

    it('never fire early', async () => {
      const start = loop.time();
      let firedAt = -1;
      loop.callLater(0.25, () => {
        firedAt = loop.time();
        loop.stop();
      });
      const run = loop.runForever();
      await clock.tickAsync(249);
      expect(firedAt).to.equal(-1);
      await clock.tickAsync(10);
      await run;
      expect(firedAt - start).to.be.at.least(0.25);
    });

    it('callAt takes an absolute loop time and when() reports it', async () => {
      const when = loop.time() + 0.05;
      const timer = loop.callAt(when, () => loop.stop());
      expect(timer.when()).to.equal(when);
      const run = loop.runForever();
      await clock.tickAsync(60);
      await run;
    });

    it('cancelled timers never run, also past the lazy purge threshold', async () => {
      const spy = sinon.spy();
      const timers = Array.from({ length: 300 }, () => loop.callLater(10, spy));
      for (const timer of timers) timer.cancel();
      loop.callLater(0.01, () => loop.stop());
      const run = loop.runForever();
      await clock.tickAsync(20);
      await run;
      loop.callLater(20, () => loop.stop());
      const second = loop.runForever();
      await clock.tickAsync(20_100);
      await second;
      expect(spy.called).to.equal(false);
    });

    it('refuses a NaN delay', () => {
      expect(() => loop.callLater(Number.NaN, () => undefined)).to.throw(TypeError, /delay/);
    });

    it('time() is monotonic seconds', async () => {
      const t0 = loop.time();
      await clock.tickAsync(1500);
      expect(loop.time() - t0).to.be.closeTo(1.5, 1e-6);
    });
  });

  describe('running and stopping', () => {
    it('runUntilComplete returns the result and the loop stops', async () => {
      const result = await loop.runUntilComplete(async () => {
        await sleep(0);
        return 7;
      });
      expect(result).to.equal(7);
      expect(loop.isRunning()).to.equal(false);
    });

    it('runUntilComplete rethrows the error of the awaitable', async () => {
      const failing = loop.runUntilComplete(async () => {
        throw new RangeError('boom');
      });
      let caught: unknown;
      try {
        await failing;
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(RangeError);
    });

    it('stopping before the future completes raises and leaves the task resumable', async () => {
      const future = loop.createFuture<string>();
      const task = loop.createTask(async () => `got ${await future}`);
      loop.callSoon(() => loop.stop());
      let caught: unknown;
      try {
        await loop.runUntilComplete(task);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(RuntimeError);
      expect((caught as Error).message).to.equal('Event loop stopped before Future completed.');
      expect(task.done()).to.equal(false);
      loop.callSoon(() => future.setResult('x'));
      expect(await loop.runUntilComplete(task)).to.equal('got x');
    });

    it('refuses to run while running, and another loop while one runs', async () => {
      const other = newEventLoop();
      const errors: unknown[] = [];
      await loop.runUntilComplete(async () => {
        await loop.runForever().catch((err: unknown) => errors.push(err));
        await other.runUntilComplete(Promise.resolve(1)).catch((err: unknown) => errors.push(err));
      });
      other.close();
      expect(errors).to.have.length(2);
      expect((errors[0] as Error).message).to.equal('This event loop is already running');
      expect((errors[1] as Error).message).to.equal('Cannot run the event loop while another loop is running');
      expect(errors[1]).to.be.instanceOf(RuntimeError);
    });

    it('getRunningLoop is the loop while it runs, an error otherwise', async () => {
      const seen = await loop.runUntilComplete(async () => getRunningLoop());
      expect(seen).to.equal(loop);
      expect(() => getRunningLoop()).to.throw(RuntimeError, 'no running event loop');
    });

    it('a task woken in the last iteration before stop goes on in the next run', async () => {
      let ticks = 0;
      const ticker = loop.createTask(async () => {
        for (;;) {
          await sleep(0);
          ticks++;
        }
      });
      await loop.runUntilComplete(async () => {
        await sleep(0);
        await sleep(0);
      });
      const afterFirstRun = ticks;
      expect(ticker.done()).to.equal(false);
      await loop.runUntilComplete(async () => {
        await sleep(0);
        await sleep(0);
      });
      expect(ticks).to.be.above(afterFirstRun);
      expect(ticker.done()).to.equal(false);
      ticker.cancel();
      await loop.runUntilComplete(async () => sleep(0.001));
      expect(ticker.cancelled()).to.equal(true);
    });

    it('stop() before runForever runs exactly one iteration', async () => {
      const seen: number[] = [];
      loop.callSoon(() => {
        seen.push(1);
        loop.callSoon(() => seen.push(2));
      });
      loop.stop();
      await loop.runForever();
      expect(seen).to.deep.equal([1]);
    });

    it('keeps the process alive while it runs, lets it exit after stop', async function () {
      this.timeout(20000);
      const { spawnSync } = await import('node:child_process');
      const script = [
        "import { newEventLoop } from './src/loop/index.ts';",
        'const loop = newEventLoop();',
        "loop.callLater(0.2, () => { console.log('stopping'); loop.stop(); });",
        "loop.runForever().then(() => { console.log('stopped'); loop.close(); });",
      ].join('\n');
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 15000,
      });
      expect(child.stdout.trim().split('\n')).to.deep.equal(['stopping', 'stopped']);
      expect(child.status).to.equal(0);
    });
  });

  describe('closing', () => {
    it('is idempotent and refuses a running loop', async () => {
      let caught: unknown;
      await loop.runUntilComplete(async () => {
        try {
          loop.close();
        } catch (err) {
          caught = err;
        }
      });
      expect(caught).to.be.instanceOf(RuntimeError);
      expect((caught as Error).message).to.equal('Cannot close a running event loop');
      loop.close();
      loop.close();
      expect(loop.isClosed()).to.equal(true);
    });

    it('refuses every use after close with a clear RuntimeError', async () => {
      loop.close();
      const closed = /Event loop is closed/;
      expect(() => loop.callSoon(() => undefined)).to.throw(RuntimeError, closed);
      expect(() => loop.callLater(1, () => undefined)).to.throw(RuntimeError, closed);
      expect(() => loop.createTask(async () => undefined)).to.throw(RuntimeError, closed);
      let caught: unknown;
      await loop.runForever().catch((err: unknown) => (caught = err));
      expect((caught as Error).message).to.match(closed);
      caught = undefined;
      await loop.runUntilComplete(Promise.resolve(1)).catch((err: unknown) => (caught = err));
      expect((caught as Error).message).to.match(closed);
    });
  });

  describe('exception handler', () => {
    it('gets the context of a failing callback and the loop goes on', async () => {
      const contexts: ExceptionContext[] = [];
      loop.setExceptionHandler((_loop, context) => contexts.push(context));
      const error = new Error('in callback');
      function failing(): void {
        throw error;
      }
      const handle = loop.callSoon(failing);
      const after = sinon.spy();
      loop.callSoon(after);
      loop.callSoon(() => loop.stop());
      await loop.runForever();
      expect(after.calledOnce).to.equal(true);
      expect(contexts).to.have.length(1);
      expect(contexts[0].message).to.equal('Exception in callback failing()');
      expect(contexts[0].exception).to.equal(error);
      expect(contexts[0].handle).to.equal(handle);
    });

    it('reports a handler that throws through the default handler', async () => {
      const logged = sinon.stub(logger, 'error');
      loop.setExceptionHandler(() => {
        throw new Error('handler broke');
      });
      loop.callSoon(() => {
        throw new Error('original');
      });
      loop.callSoon(() => loop.stop());
      await loop.runForever();
      expect(logged.calledOnce).to.equal(true);
      expect(logged.firstCall.args[0]).to.match(/Unhandled error in exception handler/);
      expect(logged.firstCall.args[0]).to.match(/handler broke/);
    });

    it('the default handler logs message, error and context keys', () => {
      const logged = sinon.stub(logger, 'error');
      loop.defaultExceptionHandler({ message: 'Something failed', exception: new Error('why'), extra: 'data' });
      const text = logged.firstCall.args[0];
      expect(text).to.match(/^Something failed/);
      expect(text).to.include('extra: data');
      expect(text).to.include('Error: why');
    });

    it('getExceptionHandler returns the handler; setting a non-function is a TypeError', () => {
      const handler = (): void => undefined;
      loop.setExceptionHandler(handler);
      expect(loop.getExceptionHandler()).to.equal(handler);
      loop.setExceptionHandler(null);
      expect(loop.getExceptionHandler()).to.equal(null);
      expect(() => loop.setExceptionHandler(3 as unknown as null)).to.throw(TypeError);
    });
  });

  describe('idle hooks (what lets the green hub wait briefly for its threads)', () => {
    it('run once per idle spell, after the work, and again once new work ran', async () => {
      const seen: string[] = [];
      loop._onIdle(() => seen.push('idle'));
      await loop.runUntilComplete(async () => {
        loop.callSoon(() => seen.push('a'));
        loop.callSoon(() => loop.callSoon(() => seen.push('b')));
        await sleep(0.02);
        expect(seen).to.deep.equal(['a', 'b', 'idle']);
        loop.callSoon(() => seen.push('c'));
        await sleep(0.02);
      });
      expect(seen.slice(0, 5)).to.deep.equal(['a', 'b', 'idle', 'c', 'idle']);
    });

    it('never run while callbacks are ready', async () => {
      let hookCalls = 0;
      let busy = true;
      loop._onIdle(() => {
        hookCalls++;
        expect(busy, 'an idle hook ran while the loop was busy').to.equal(false);
      });
      await loop.runUntilComplete(async () => {
        let rounds = 0;
        const again = (): void => {
          if (++rounds < 200) loop.callSoon(again);
          else busy = false;
        };
        loop.callSoon(again);
        await sleep(0.05);
      });
      expect(hookCalls).to.be.greaterThan(0);
    });

    it('run at once what they schedule, before the loop sleeps', async () => {
      const order: string[] = [];
      let scheduled = false;
      loop._onIdle(() => {
        if (scheduled) return;
        scheduled = true;
        loop.callSoon(() => order.push('from hook'));
      });
      await loop.runUntilComplete(async () => {
        loop.callLater(0.03, () => order.push('timer'));
        await sleep(0.05);
      });
      expect(order).to.deep.equal(['from hook', 'timer']);
    });

    it('report a failing hook to the exception handler; the loop goes on', async () => {
      const contexts: ExceptionContext[] = [];
      loop.setExceptionHandler((_, context) => contexts.push(context));
      const remove = loop._onIdle(() => {
        throw new Error('hook failed');
      });
      const result = await loop.runUntilComplete(async () => {
        await sleep(0.01);
        remove();
        return 'went on';
      });
      expect(result).to.equal('went on');
      expect(contexts.length).to.be.greaterThan(0);
      expect((contexts[0].exception as Error).message).to.equal('hook failed');
    });
  });

  describe('debug mode', () => {
    it('logs slow callbacks with what ran', async () => {
      const warned = sinon.stub(logger, 'warning');
      loop.setDebug(true);
      loop.slowCallbackDuration = 0.01;
      function slowCallback(): void {
        const until = Date.now() + 20;
        while (Date.now() < until);
      }
      loop.callSoon(slowCallback);
      loop.callSoon(() => loop.stop());
      await loop.runForever();
      expect(warned.calledOnce).to.equal(true);
      expect(warned.firstCall.args[0]).to.match(/Executing <Handle slowCallback\(\)> took 0\.0\d\d seconds/);
    });

    it('records where handles and futures were created', () => {
      loop.setDebug(true);
      const future = loop.createFuture();
      const handle = loop.callSoon(() => undefined);
      expect(future._sourceTraceback?.join('\n')).to.include('event-loop.test.ts');
      expect(handle._sourceTraceback?.join('\n')).to.include('event-loop.test.ts');
      expect(loop.getDebug()).to.equal(true);
    });

    it('GREENLOOP_DEBUG=1 turns debug on for new loops', () => {
      const saved = process.env.GREENLOOP_DEBUG;
      process.env.GREENLOOP_DEBUG = '1';
      try {
        const debugLoop = newEventLoop();
        expect(debugLoop.getDebug()).to.equal(true);
        debugLoop.close();
      } finally {
        if (saved === undefined) delete process.env.GREENLOOP_DEBUG;
        else process.env.GREENLOOP_DEBUG = saved;
      }
    });
  });

  describe('debug mode refuses coroutines as callbacks (asyncio _check_callback)', () => {
    async function asyncFn(): Promise<void> {}
    function* generatorFn(): Generator<unknown, void, unknown> {}
    const wrapped = coroutine(generatorFn);

    it('refuses coroutine functions and coroutines in every scheduling call', () => {
      loop.setDebug(true);
      const promise = asyncFn();
      const cases: [string, () => unknown][] = [
        ['callSoon', () => loop.callSoon(asyncFn)],
        ['callSoon', () => loop.callSoon(generatorFn)],
        ['callSoon', () => loop.callSoon(wrapped)],
        ['callSoon', () => loop.callSoon(promise as never)],
        ['callSoon', () => loop.callSoon(generatorFn() as never)],
        ['callLater', () => loop.callLater(1, asyncFn)],
        ['callAt', () => loop.callAt(loop.time() + 1, generatorFn)],
        ['callSoonThreadsafe', () => loop.callSoonThreadsafe(wrapped)],
        ['callSoonThreadsafe', () => loop.callSoonThreadsafe(promise as never)],
      ];
      for (const [method, schedule] of cases) {
        expect(schedule, method).to.throw(TypeError, `coroutines cannot be used with ${method}()`);
      }
    });

    it('accepts them outside debug mode, and plain functions in debug mode', () => {
      loop.setDebug(false);
      expect(() => loop.callSoon(asyncFn).cancel()).not.to.throw();
      loop.setDebug(true);
      expect(() => loop.callSoon(() => undefined).cancel()).not.to.throw();
      expect(() => loop.callLater(1, function plain() {}).cancel()).not.to.throw();
    });
  });

  describe('callSoonThreadsafe', () => {
    it('raises RuntimeError on a closed loop', () => {
      loop.close();
      expect(() => loop.callSoonThreadsafe(() => undefined)).to.throw(RuntimeError, 'Event loop is closed');
    });

    it("wakes a loop awaiting a Future from a worker's 'message' handler, on the loop's thread", async function () {
      this.timeout(10000);
      const worker = new Worker(
        "const { parentPort } = require('node:worker_threads'); setTimeout(() => parentPort.postMessage('ready'), 50);",
        { eval: true },
      );
      try {
        const outcome = await loop.runUntilComplete(async () => {
          const future = loop.createFuture<[string, number]>();
          // Only a far timer is armed: the loop sleeps until it or a wake-up.
          const far = loop.callLater(60, () => undefined);
          worker.once('message', (message: string) => {
            loop.callSoonThreadsafe(() => future.setResult([message, threadId]));
          });
          const started = loop.time();
          const value = await future;
          far.cancel();
          return [...value, loop.time() - started] as const;
        });
        expect(outcome[0]).to.equal('ready');
        expect(outcome[1]).to.equal(threadId);
        expect(outcome[2]).to.be.below(5);
      } finally {
        await worker.terminate();
      }
    });

    it('wakes a loop waiting on nothing from a Node timer', async () => {
      const value = await loop.runUntilComplete(async () => {
        const future = loop.createFuture<string>();
        setTimeout(() => loop.callSoonThreadsafe(() => future.setResult('woken')), 20);
        return future;
      });
      expect(value).to.equal('woken');
    });

    it('queues the callback on a loop that is not running, for its next run', async () => {
      const spy = sinon.spy();
      loop.callSoonThreadsafe(spy, 1);
      expect(spy.called).to.equal(false);
      loop.callSoon(() => loop.stop());
      await loop.runForever();
      expect(spy.calledOnceWith(1)).to.equal(true);
    });
  });
});
