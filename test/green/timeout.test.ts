/**
 * Green Timeout and withTimeout, after eventlet's timeout_test: raised in
 * the green thread that made it (at its parked call or its next one), the
 * very object, nested timeouts, cancel, and its limits on the loop's thread.
 */
import { expect } from 'chai';
import { LightQueue, Timeout, spawn, withTimeout } from '../../src/green/index.js';
import { BlockingOnHubError } from '../../src/bridge/index.js';
import { GreenloopError } from '../../src/loop/errors.js';
import { runInLoop } from '../helpers.js';
import { useGreenWorkers } from '../green-workers.js';
import {
  bail,
  cancelAfterExpiry,
  cancelBeforeExpiry,
  customError,
  dieOfTimeout,
  expireWhileComputing,
  identifyInner,
  nestedTimeouts,
  outerRaisedByCancel,
  restart,
  sleepUnderTimeout,
  usingBlock,
  withOuterTimer,
  withTimeoutCases,
} from './fixtures/primitives-timeout.js';

describe('green: Timeout in green threads', () => {
  useGreenWorkers();

  it('raises the Timeout itself at the parked call, after at least its seconds', async () => {
    const [who, waited] = await runInLoop(async () => spawn(sleepUnderTimeout, 0.03, 5));
    expect(who).to.equal('own');
    expect(waited).to.be.at.least(0.03);
    expect(waited).to.be.below(2);
  });

  it('does not fire when the call ends first', async () => {
    const [who] = await runInLoop(async () => spawn(sleepUnderTimeout, 1, 0.01));
    expect(who).to.equal('slept');
  });

  it('fires the shorter of two nested timeouts, identified by identity', async () => {
    const results = await runInLoop(async () =>
      Promise.all([spawn(nestedTimeouts, 1, 0.01), spawn(nestedTimeouts, 0.01, 1), spawn(identifyInner)]),
    );
    expect(results).to.deep.equal(['inner', 'outer', 'true false']);
  });

  it('never fires once cancelled, and is pending only until then', async () => {
    expect(await runInLoop(async () => spawn(cancelBeforeExpiry))).to.equal('true false slept');
  });

  it('fires at the next call when it expires while the thread computes', async () => {
    expect(await runInLoop(async () => spawn(expireWhileComputing))).to.equal('raised at the next call');
  });

  it('never fires when cancelled after expiring while the thread computed', async () => {
    expect(await runInLoop(async () => spawn(cancelAfterExpiry))).to.equal('not raised');
  });

  it('cancels an inner Timeout even when its cancel() raises an expired outer one', async () => {
    expect(await runInLoop(async () => spawn(outerRaisedByCancel))).to.equal('outer, inner cancelled');
  });

  it('raises the very error it was given', async () => {
    expect(await runInLoop(async () => spawn(customError))).to.equal('the given error');
  });

  it('is cancelled at the end of a using block', async () => {
    expect(await runInLoop(async () => spawn(usingBlock))).to.equal('not raised');
  });

  it('refuses start() while pending and fires again once restarted', async () => {
    expect(await runInLoop(async () => spawn(restart))).to.equal('RuntimeError fired again');
  });

  it('interrupts a queue get(), which then takes nothing (eventlet do_bail)', async () => {
    await runInLoop(async () => {
      const queue = new LightQueue<string>();
      expect(await spawn(bail, queue)).to.equal('timed out');
      queue.putNowait('hi');
      expect(queue.getNowait()).to.equal('hi');
    });
  });

  it('reaches async code as a Timeout when it kills its thread', async () => {
    const error = await runInLoop(async () => spawn(dieOfTimeout).then(() => null, (err: unknown) => err));
    expect(error).to.be.instanceOf(Timeout);
    expect((error as Timeout).seconds).to.equal(0.01);
    expect((error as Timeout).message).to.equal('0.01 seconds');
  });
});

describe('green: withTimeout', () => {
  useGreenWorkers();

  it('raises Timeout, or returns timeoutValue, or the result (eventlet test_with_timeout)', async () => {
    const results = await runInLoop(async () => spawn(withTimeoutCases));
    expect(results).to.deep.equal(['Timeout', 'fallback', 'returned', 5]);
  });

  it('lets an outer timeout through an inner timeoutValue (eventlet test_with_outer_timer)', async () => {
    expect(await runInLoop(async () => spawn(withOuterTimer))).to.equal('outer Timeout');
  });
});

describe('green: Timeout on the event loop thread', () => {
  it('refuses a timed Timeout, naming the async forms', () => {
    expect(() => new Timeout(1)).to.throw(BlockingOnHubError, /timeout\(delay\)/);
    expect(() => withTimeout(1, () => 1)).to.throw(BlockingOnHubError);
  });

  it('allows Timeout(null), which never fires and can be raised directly', () => {
    const timeout = new Timeout();
    expect(timeout.pending).to.equal(false);
    expect(timeout.seconds).to.equal(null);
    timeout.cancel();
    expect(() => {
      throw timeout;
    }).to.throw(Timeout);
    expect(timeout).to.be.instanceOf(GreenloopError);
    expect(timeout.name).to.equal('Timeout');
    expect(withTimeout(null, (a: number) => a * 2, 21)).to.equal(42);
  });

  it('rejects bad arguments', () => {
    expect(() => new Timeout(-1)).to.throw(/non-negative/);
    expect(() => new Timeout(Number.NaN)).to.throw(/non-negative/);
    expect(() => new Timeout(null, 'boom' as unknown as Error)).to.throw(TypeError);
    expect(() => withTimeout(null, 3 as unknown as () => void)).to.throw(TypeError);
  });

  it('describes itself as eventlet does', () => {
    expect(String(new Timeout())).to.equal('Timeout()');
    expect(new Timeout(null, new RangeError('x')).message).to.equal('');
  });
});
