/**
 * The bridge between async code and green code: configure, dropping the
 * bridge, runGreen, callAsync, runAsync.
 */
import { expect } from 'chai';
import { CancelledError, RuntimeError, ValueError } from '../../src/loop/errors.js';
import { createTask } from '../../src/loop/index.js';
import { GreenletExit, sleep, spawn, spawnAfter, spawnN } from '../../src/green/index.js';
import {
  AsyncHandle,
  BridgeDisabledError,
  type BridgeOptions,
  BlockingOnHubError,
  bridgeEnabled,
  callAsync,
  configure,
  poolStats,
  runAsync,
  runGreen,
} from '../../src/bridge/index.js';
import { settings } from '../../src/green/runtime/config.js';
import { runInLoop } from '../helpers.js';
import { useGreenWorkers, waitUntil } from '../green-workers.js';
import { clearRecords, records } from '../green/fixtures/record.js';
import { double, parkThenReturn, reportInterruption } from '../green/fixtures/threads.js';
import {
  addLater,
  callAdd,
  callFailing,
  callGenerator,
  callInTask,
  callWaitLong,
  runAndWait,
  runTimeoutThenCancel,
} from './fixtures/async-side.js';

describe('bridge: configure and dropping the bridge', () => {
  const savedEnv = process.env.GREENLOOP_BRIDGE;

  afterEach(() => {
    if (savedEnv === undefined) delete process.env.GREENLOOP_BRIDGE;
    else process.env.GREENLOOP_BRIDGE = savedEnv;
    configure({ bridge: true });
  });

  it('reads GREENLOOP_BRIDGE=off unless configure() decided', () => {
    configure({ bridge: true });
    process.env.GREENLOOP_BRIDGE = 'off';
    expect(bridgeEnabled()).to.equal(true);
    configure({ bridge: false });
    expect(bridgeEnabled()).to.equal(false);
  });

  it('makes every green call throw BridgeDisabledError naming the call and its site', async () => {
    configure({ bridge: false });
    const before = poolStats();
    await runInLoop(async () => {
      for (const call of [
        () => spawn(double, 1),
        () => spawnN(double, 1),
        () => spawnAfter(1, double, 1),
        () => runGreen(double, 1),
        () => sleep(0),
        () => callAsync(addLater, 1, 2),
        () => runAsync(addLater, 1, 2),
      ]) {
        expect(call).to.throw(BridgeDisabledError, /bridge\.test\.ts:\d+/);
      }
    });
    const error = (() => {
      try {
        spawn(double, 1);
      } catch (err) {
        return err as BridgeDisabledError;
      }
      return null;
    })();
    expect(error?.call).to.equal('spawn');
    expect(error?.message).to.match(/^spawn\(\) called at .*bridge\.test\.ts/);
    expect(poolStats()).to.deep.equal(before);
  });

  it('rejects out-of-range settings with ValueError, changing nothing', () => {
    expect(() => configure({ poolSize: -1 })).to.throw(ValueError, /poolSize/);
    expect(() => configure({ idleTimeout: Number.NaN })).to.throw(ValueError, /idleTimeout/);
    expect(() => configure({ spinLimit: 1.5 })).to.throw(ValueError, /spinLimit/);
    expect(() => configure({ hub: 'elsewhere' as 'auto' })).to.throw(ValueError, /hub/);
  });

  it("refuses bridge: 'off' and other wrong types with a TypeError naming the option, changing nothing", () => {
    configure({ bridge: true });
    const wrong = (options: unknown): BridgeOptions => options as BridgeOptions;
    expect(() => configure(wrong({ bridge: 'off' }))).to.throw(TypeError, /bridge must be a boolean.*"off"/);
    expect(bridgeEnabled()).to.equal(true);
    expect(() => configure(wrong({ bridge: 0 }))).to.throw(TypeError, /bridge must be a boolean/);
    expect(() => configure(wrong({ debug: 'yes' }))).to.throw(TypeError, /debug must be a boolean/);
    expect(() => configure(wrong({ hub: 1 }))).to.throw(TypeError, /hub must be 'auto', 'loop' or 'worker'/);
    expect(() => configure(wrong({ poolSize: '4' }))).to.throw(TypeError, /poolSize must be a number/);
    expect(() => configure(wrong({ idleTimeout: null }))).to.throw(TypeError, /idleTimeout must be a number/);
    expect(() => configure(wrong({ spinLimit: true }))).to.throw(TypeError, /spinLimit must be a number/);
    expect(() => configure(wrong({ poolSize: 37, bridge: 'false' }))).to.throw(TypeError, /bridge/);
    expect(() => configure(wrong({ bridges: false }))).to.throw(
      TypeError,
      /unknown option "bridges"; valid options are bridge, hub, poolSize, maxIdleWorkers, idleTimeout, spinLimit, debug, killGrace/,
    );
    expect(() => configure(wrong(null))).to.throw(TypeError, /options must be an object/);
    expect(bridgeEnabled()).to.equal(true);
    expect(settings.poolSize).to.not.equal(37);
    configure({ bridge: false, debug: false, idleTimeout: undefined });
    expect(bridgeEnabled()).to.equal(false);
  });
});

describe('bridge: runGreen', () => {
  useGreenWorkers();

  beforeEach(clearRecords);

  it('runs green code from async code and is awaitable', async () => {
    expect(await runInLoop(async () => runGreen(double, 4))).to.equal(8);
  });

  it('needs a running loop', () => {
    expect(() => runGreen(double, 1)).to.throw(RuntimeError, /no running event loop/);
  });

  it('kills the green thread when the awaiting task is cancelled, and its finally code runs', async () => {
    await runInLoop(async () => {
      const thread = runGreen(reportInterruption);
      const awaiter = createTask(async () => thread);
      expect(await waitUntil(() => records().includes('parked'))).to.equal(true);
      awaiter.cancel();
      await awaiter.then(
        () => expect.fail('the awaiter should be cancelled'),
        (err: unknown) => expect(err).to.be.instanceOf(CancelledError),
      );
      expect(await waitUntil(() => thread.dead)).to.equal(true);
    });
    expect(records()).to.include('interrupted by GreenletExit: green thread killed');
  });

  it('cancels the awaiting task when the green thread is killed', async () => {
    await runInLoop(async () => {
      const thread = runGreen(parkThenReturn, 30, 'never');
      const awaiter = createTask(async () => thread);
      expect(await waitUntil(() => records().includes('parked'))).to.equal(true);
      thread.kill();
      const error = await awaiter.then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).to.be.instanceOf(CancelledError);
      expect(() => thread.wait()).to.throw(GreenletExit);
    });
  });
});

describe('bridge: callAsync and runAsync', () => {
  useGreenWorkers();

  beforeEach(clearRecords);

  it('runs an async function as a task on the loop and returns its result', async () => {
    expect(await runInLoop(async () => runGreen(callAdd, 2, 3))).to.equal(5);
    expect(await runInLoop(async () => runGreen(callInTask))).to.equal(true);
  });

  it('runs a generator coroutine function too', async () => {
    expect(await runInLoop(async () => runGreen(callGenerator, 4, 5))).to.equal(9);
  });

  it('raises the async error in the green thread as its own class', async () => {
    expect(await runInLoop(async () => runGreen(callFailing, 3))).to.equal('true EORDER async order 3 failed');
  });

  it('cancels the task when the blocked green thread is killed', async () => {
    await runInLoop(async () => {
      const thread = runGreen(callWaitLong, 'call');
      expect(await waitUntil(() => records().includes('started call'))).to.equal(true);
      thread.kill();
      expect(await waitUntil(() => records().includes('cancelled call'))).to.equal(true);
      expect(await waitUntil(() => thread.dead)).to.equal(true);
      expect(() => thread.wait()).to.throw(GreenletExit);
    });
  });

  it('starts a task with runAsync and waits for it through the handle', async () => {
    expect(await runInLoop(async () => runGreen(runAndWait, 1, 2))).to.equal('false 3 true');
  });

  it('times a handle wait out without stopping the task; cancel() stops it', async () => {
    const outcome = await runInLoop(async () => runGreen(runTimeoutThenCancel, 'handle'));
    expect(outcome).to.equal('timed out, done=false, cancel=true, then CancelledError');
    expect(records()).to.deep.equal(['started handle', 'cancelled handle']);
  });

  it('refuses callAsync and runAsync on the loop thread', async () => {
    await runInLoop(async () => {
      expect(() => callAsync(addLater, 1, 2)).to.throw(BlockingOnHubError, /await the function directly/);
      expect(() => runAsync(addLater, 1, 2)).to.throw(RuntimeError, /createTask/);
    });
    expect(AsyncHandle).to.be.a('function');
  });
});
