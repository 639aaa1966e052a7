/**
 * Green threads, after eventlet's greenthread_test: spawn, wait, kill,
 * cancel, link, spawnAfter, and awaiting green threads from async code.
 */
import { expect } from 'chai';
import sinon from 'sinon';
import { CancelledError, RuntimeError, TimeoutError } from '../../src/loop/errors.js';
import { createTask, sleep as asyncSleep } from '../../src/loop/index.js';
import { GreenThread, GreenletExit, getcurrent, kill, spawn, spawnAfter, spawnN } from '../../src/green/index.js';
import { BlockingOnHubError, configure } from '../../src/bridge/index.js';
import { runInLoop } from '../helpers.js';
import { useGreenWorkers, waitUntil } from '../green-workers.js';
import { clearRecords, records } from './fixtures/record.js';
import {
  currentId,
  deadFromGreen,
  double,
  fail,
  identity,
  killOther,
  killSelf,
  killUnstarted,
  parkThenReturn,
  linkFromGreen,
  recordRun,
  reportInterruption,
  returnThread,
  sleepThenReturn,
  spawnAndWait,
  surviveKill,
  unlinkFromGreen,
  waitFor,
  waitForSelf,
  spawnThenCompute,
} from './fixtures/threads.js';

/** Waits until a fixture thread has recorded 'parked' (it then blocks in a sleep). */
async function parked(): Promise<void> {
  expect(await waitUntil(() => records().includes('parked'), 5000), 'the thread parked').to.equal(true);
}

/** The records other than the 'parked' marker. */
const events = (): string[] => records().filter((entry) => entry !== 'parked');

describe('green: spawn and wait', () => {
  useGreenWorkers();

  beforeEach(clearRecords);

  it('runs the function in a green thread and gives its result to await', async () => {
    // A GreenThread is thenable: returned from an async function it would be awaited, so wrap it.
    const { thread } = await runInLoop(async () => {
      const gt = spawn(double, 21);
      expect(gt).to.be.instanceOf(GreenThread);
      expect(await gt).to.equal(42);
      return { thread: gt };
    });
    expect(thread.dead).to.equal(true);
    expect(thread.wait()).to.equal(42);
  });

  it('passes arguments and results by structured clone', async () => {
    const value = { nested: [1, 'two', { three: 3n }], when: new Date(0), map: new Map([['k', 1]]) };
    const result = await runInLoop(async () => spawn(identity, value));
    expect(result).to.deep.equal(value);
    expect(result).not.to.equal(value);
  });

  it('raises the error of a failed thread from await and wait(), as its own class', async () => {
    const { thread } = await runInLoop(async () => {
      const gt = spawn(fail, 'boom');
      const error = await gt.then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.equal('boom');
      expect((error as Error).stack).to.match(/fixtures[\\/]threads\.ts/);
      return { thread: gt };
    });
    expect(() => thread.wait()).to.throw(TypeError, 'boom');
  });

  it("starts a green thread's child only when the spawner next blocks, as eventlet does", async () => {
    expect(await runInLoop(async () => spawn(spawnThenCompute, false))).to.deep.equal([false, true]);
  });

  it('starts a child spawned into a GreenPool only when the spawner next blocks', async () => {
    expect(await runInLoop(async () => spawn(spawnThenCompute, true))).to.deep.equal([false, true]);
  });

  it('spawns and waits from inside a green thread', async () => {
    expect(await runInLoop(async () => spawn(spawnAndWait, 5))).to.equal(10);
  });

  it('passes a green thread to another one, which waits for it', async () => {
    const result = await runInLoop(async () => {
      const slow = spawn(sleepThenReturn, 0.02, 'slow result');
      return await spawn(waitFor, slow);
    });
    expect(result).to.equal('slow result');
  });

  it('returns a green thread from a green thread as a GreenThread', async () => {
    const result = await runInLoop(async () => {
      const outer = spawn(returnThread);
      // `await outer` would go on to await the thenable result: read it once dead instead.
      expect(await waitUntil(() => outer.dead)).to.equal(true);
      const inner = outer.wait();
      expect(inner).to.be.instanceOf(GreenThread);
      return await inner;
    });
    expect(result).to.equal(42);
  });

  it('times out wait(timeout) in a green thread', async () => {
    const error = await runInLoop(async () => {
      const slow = spawn(sleepThenReturn, 5, 'late');
      const waited = await spawn(waitFor, slow, 0.02).then(
        () => null,
        (err: unknown) => err,
      );
      slow.kill();
      return waited;
    });
    expect(error).to.be.instanceOf(TimeoutError);
  });

  it('refuses to wait for itself', async () => {
    const error = await runInLoop(async () => spawn(waitForSelf).then(() => null, (err: unknown) => err));
    expect(error).to.be.instanceOf(RuntimeError);
    expect((error as Error).message).to.match(/cannot wait for itself/);
  });

  it('refuses a blocking wait() on the loop thread while the thread runs', async () => {
    await runInLoop(async () => {
      const gt = spawn(sleepThenReturn, 0.01, 1);
      expect(() => gt.wait()).to.throw(BlockingOnHubError, /await thread/);
      await gt;
    });
  });

  it('reports dead before and after the end, from green code too', async () => {
    expect(await runInLoop(async () => spawn(deadFromGreen))).to.equal('false true');
  });

  it('gives each thread its own id, seen by getcurrent() inside', async () => {
    await runInLoop(async () => {
      const a = spawn(currentId);
      const b = spawn(currentId);
      expect(await a).to.equal(a.id);
      expect(await b).to.equal(b.id);
      expect(a.id).not.to.equal(b.id);
    });
    expect(getcurrent().id).to.equal(0);
  });
});

describe('green: kill and cancel', () => {
  useGreenWorkers();

  beforeEach(clearRecords);

  it('kills an unstarted thread: its body never runs and wait() raises GreenletExit', async () => {
    await runInLoop(async () => {
      const gt = spawn(recordRun, 'killed before start');
      gt.kill();
      expect(gt.dead).to.equal(true);
      expect(() => gt.wait()).to.throw(GreenletExit);
      await asyncSleep(0.05);
    });
    expect(records()).to.deep.equal([]);
  });

  it('raises GreenletExit at the blocking call the thread is parked in', async () => {
    await runInLoop(async () => {
      const gt = spawn(reportInterruption);
      await parked();
      gt.kill();
      await gt.then(
        () => expect.fail('should have been killed'),
        () => undefined,
      );
      expect(() => gt.wait()).to.throw(GreenletExit);
    });
    expect(events()).to.deep.equal(['interrupted by GreenletExit: green thread killed']);
  });

  it('raises the error given to kill(), as its own class', async () => {
    await runInLoop(async () => {
      const gt = spawn(reportInterruption);
      await parked();
      kill(gt, new RangeError('stop now'));
      const error = await gt.then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).to.be.instanceOf(RangeError);
    });
    expect(events()).to.deep.equal(['interrupted by RangeError: stop now']);
  });

  it('lets the thread catch GreenletExit and go on', async () => {
    const result = await runInLoop(async () => {
      const gt = spawn(surviveKill);
      await parked();
      gt.kill();
      return await gt;
    });
    expect(result).to.equal('survived');
    expect(events()).to.deep.equal(['caught GreenletExit']);
  });

  it('does nothing when killing a dead thread', async () => {
    await runInLoop(async () => {
      const gt = spawn(double, 2);
      expect(await gt).to.equal(4);
      gt.kill();
      expect(gt.wait()).to.equal(4);
    });
  });

  it('kills from green code: once kill() returns, the target is dead', async () => {
    expect(await runInLoop(async () => spawn(killOther))).to.equal(true);
  });

  it('kills an unstarted thread from green code', async () => {
    expect(await runInLoop(async () => spawn(killUnstarted))).to.equal('true GreenletExit');
    expect(records()).to.deep.equal([]);
  });

  it('raises the error at once when a thread kills itself', async () => {
    expect(await runInLoop(async () => spawn(killSelf))).to.equal('RangeError');
  });

  it('cancels a spawnAfter thread before it starts: the body never runs', async () => {
    await runInLoop(async () => {
      const gt = spawnAfter(0.02, recordRun, 'cancelled');
      gt.cancel();
      expect(gt.dead).to.equal(true);
      expect(() => gt.wait()).to.throw(GreenletExit);
      await asyncSleep(0.06);
    });
    expect(records()).to.deep.equal([]);
  });

  it('does not cancel a thread that has started', async () => {
    const result = await runInLoop(async () => {
      const gt = spawn(parkThenReturn, 0.03, 'finished');
      await parked();
      gt.cancel();
      return await gt;
    });
    expect(result).to.equal('finished');
  });
});

describe('green: spawnAfter, spawnN, link', () => {
  useGreenWorkers();

  beforeEach(clearRecords);

  it('starts a spawnAfter thread after the delay', async () => {
    await runInLoop(async (): Promise<void> => {
      const started = performance.now();
      expect(await spawnAfter(0.05, double, 3)).to.equal(6);
      expect(performance.now() - started).to.be.at.least(49);
    });
  });

  it('reports an error of a spawnN thread to the exception handler', async () => {
    const handler = sinon.spy();
    await runInLoop(
      async () => {
        expect(spawnN(fail, 'detached failure')).to.equal(undefined);
        expect(await waitUntil(() => handler.called)).to.equal(true);
      },
      (loop) => loop.setExceptionHandler(handler),
    );
    const context = handler.firstCall.args[1];
    expect(context.exception).to.be.instanceOf(TypeError);
    expect(context.message).to.match(/spawnN/);
  });

  it('reports where a failing spawnN thread was spawned, in debug mode', async () => {
    const handler = sinon.spy();
    configure({ debug: true });
    try {
      await runInLoop(
        async () => {
          spawnN(fail, 'detached failure');
          expect(await waitUntil(() => handler.called)).to.equal(true);
        },
        (loop) => loop.setExceptionHandler(handler),
      );
    } finally {
      configure({ debug: false });
    }
    const traceback = handler.firstCall.args[1].source_traceback as string[];
    expect(traceback[0]).to.match(/greenthread\.test\.ts/);
  });

  it('calls links at exit with the thread and the curried arguments, in order', async () => {
    const calls: string[] = [];
    await runInLoop(async () => {
      const gt = spawn(double, 5);
      gt.link((thread, label: string) => calls.push(`${label}: ${thread.wait()}`), 'first');
      gt.link((thread, label: string) => calls.push(`${label}: ${thread === gt}`), 'second');
      await gt;
    });
    expect(calls).to.deep.equal(['first: 10', 'second: true']);
  });

  it('calls a link at once when the thread is already dead', async () => {
    await runInLoop(async () => {
      const gt = spawn(double, 1);
      await gt;
      const callback = sinon.spy();
      gt.link(callback, 'late');
      expect(callback.calledOnceWith(gt, 'late')).to.equal(true);
    });
  });

  it('unlinks a callback with the same arguments only', async () => {
    await runInLoop(async () => {
      const gt = spawn(double, 1);
      const callback = sinon.spy();
      gt.link(callback, 'a');
      expect(gt.unlink(callback, 'b')).to.equal(false);
      expect(gt.unlink(callback, 'a')).to.equal(true);
      expect(gt.unlink(callback, 'a')).to.equal(false);
      await gt;
      expect(callback.called).to.equal(false);
    });
  });

  it('reports an error raised by a link to the exception handler', async () => {
    const handler = sinon.spy();
    await runInLoop(
      async () => {
        const gt = spawn(double, 1);
        gt.link(() => {
          throw new Error('link failed');
        });
        await gt;
      },
      (loop) => loop.setExceptionHandler(handler),
    );
    expect(handler.firstCall.args[1].exception.message).to.equal('link failed');
  });

  it('runs a link made from green code in a new green thread', async () => {
    await runInLoop(async () => {
      expect(await spawn(linkFromGreen)).to.equal(8);
      expect(await waitUntil(() => records().length > 0)).to.equal(true);
    });
    expect(records()).to.deep.equal(['linked from green: 8']);
  });

  it('unlinks from green code', async () => {
    expect(await runInLoop(async () => spawn(unlinkFromGreen))).to.equal('true false');
    expect(records()).to.deep.equal([]);
  });
});

describe('green: awaiting green threads from async code', () => {
  useGreenWorkers();

  beforeEach(clearRecords);

  it('kills the green thread when the awaiting task is cancelled', async () => {
    await runInLoop(async () => {
      const gt = spawn(reportInterruption);
      const awaiter = createTask(async () => await gt);
      await parked();
      awaiter.cancel();
      const outcome = await awaiter.then(
        () => 'finished',
        (err: unknown) => (err instanceof CancelledError ? 'cancelled' : String(err)),
      );
      expect(outcome).to.equal('cancelled');
      expect(await waitUntil(() => gt.dead)).to.equal(true);
      expect(() => gt.wait()).to.throw(GreenletExit);
    });
    expect(events()).to.deep.equal(['interrupted by GreenletExit: green thread killed']);
  });

  it('cancels the awaiting task when the green thread is killed', async () => {
    await runInLoop(async () => {
      const gt = spawn(parkThenReturn, 30, 'never');
      const awaiter = createTask(async () => await gt);
      await parked();
      gt.kill();
      const outcome = await awaiter.then(
        () => 'finished',
        (err: unknown) => (err instanceof CancelledError ? 'cancelled' : String(err)),
      );
      expect(outcome).to.equal('cancelled');
      expect(awaiter.cancelled()).to.equal(true);
    });
  });

  it('gives waitAsync() a Future of the result', async () => {
    await runInLoop(async () => {
      const future = spawn(double, 8).waitAsync();
      expect(await future).to.equal(16);
      expect(future.result()).to.equal(16);
    });
  });
});
