/**
 * The spin policy's arithmetic: how long a blocked green thread spins before
 * it parks, per operation, from the latencies it has seen (spin.ts).
 */
import { expect } from 'chai';
import { SpinPolicy, releaseSpinner } from '../../../src/green/runtime/spin.js';
import {
  CTL_SPINNING,
  SHARED_MAX_SPINNERS,
  SHARED_SLOTS,
  SHARED_SPINNERS,
  SHARED_SPIN_LIMIT,
} from '../../../src/green/runtime/protocol.js';

const CAP = 50;

function sharedState(limit = CAP, maxSpinners = 1): Int32Array {
  const shared = new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * 4));
  Atomics.store(shared, SHARED_SPIN_LIMIT, limit);
  Atomics.store(shared, SHARED_MAX_SPINNERS, maxSpinners);
  return shared;
}

/** Budgets of the next `calls` calls of `op`, each recorded as taking `micros`. */
function budgets(policy: SpinPolicy, op: string, calls: number, micros: number): number[] {
  const seen: number[] = [];
  for (let i = 0; i < calls; i++) {
    seen.push(policy.budget(op));
    policy.record(op, micros);
  }
  return seen;
}

/** The gaps between the calls that spun (budget > 0). */
function probeGaps(seen: number[]): number[] {
  const spun = seen.flatMap((budget, index) => (budget > 0 ? [index] : []));
  return spun.slice(1).map((index, i) => index - spun[i]);
}

describe('runtime: SpinPolicy', () => {
  it('gives the first call of an operation the whole cap', () => {
    const policy = new SpinPolicy(sharedState());
    expect(policy.budget('sock.recv')).to.equal(CAP);
  });

  it('budgets about twice the usual latency plus 5 µs, never above the cap', () => {
    const policy = new SpinPolicy(sharedState());
    policy.record('queue.get', 10);
    expect(policy.budget('queue.get')).to.equal(25);
    policy.record('fast', 40);
    expect(policy.budget('fast')).to.equal(CAP);
  });

  it('keeps a separate average per operation', () => {
    const policy = new SpinPolicy(sharedState());
    policy.record('a', 4);
    policy.record('b', 20);
    expect([policy.budget('a'), policy.budget('b')]).to.deep.equal([13, 45]);
  });

  it('spins on one call in 16 for an operation slower than twice the cap', () => {
    const policy = new SpinPolicy(sharedState());
    policy.record('green.sleep', 10_000);
    const seen = budgets(policy, 'green.sleep', 64, 10_000).slice(0, 32);
    expect(seen.filter((budget) => budget > 0)).to.have.length.within(1, 2);
    expect(seen.every((budget) => budget === 0 || budget === CAP)).to.equal(true);
  });

  it('probes half as often after each probe that catches nothing, down to one call in 512', () => {
    const policy = new SpinPolicy(sharedState());
    policy.record('net', 10_000);
    const gaps = probeGaps(budgets(policy, 'net', 4000, 10_000));
    expect(gaps.slice(0, 5)).to.deep.equal([32, 64, 128, 256, 512]);
    expect(gaps.slice(5).every((gap) => gap === 512)).to.equal(true);
  });

  it('probes as often as at first again once a probe catches a reply', () => {
    const policy = new SpinPolicy(sharedState());
    policy.record('net', 1_000_000);
    budgets(policy, 'net', 2000, 1_000_000); // backed off to one call in 512
    const callsToNextProbe = (): number => {
      let calls = 1;
      while (policy.budget('net') === 0) {
        policy.record('net', 1_000_000);
        calls++;
      }
      return calls;
    };
    callsToNextProbe();
    policy.record('net', 1_000_000); // a probe that missed
    expect(callsToNextProbe()).to.equal(512);
    policy.record('net', 1); // a probe that caught its reply
    expect(callsToNextProbe()).to.equal(16);
  });

  it('never spins with a spin limit of 0', () => {
    const policy = new SpinPolicy(sharedState(0));
    expect(budgets(policy, 'sock.recv', 100, 1)).to.satisfy((seen: number[]) => seen.every((budget) => budget === 0));
  });

  it('gives up at once when enough threads already spin, and answers whether the reply came', () => {
    const shared = sharedState(CAP, 1);
    Atomics.store(shared, SHARED_SPINNERS, 1);
    const policy = new SpinPolicy(shared);
    let checks = 0;
    const arrived = policy.spin(() => (checks++, false), performance.now() + 60_000, null);
    expect([arrived, checks]).to.deep.equal([false, 1]);
    expect(Atomics.load(shared, SHARED_SPINNERS)).to.equal(1);
  });

  it('spins until the reply arrives or the deadline passes, and gives its place back', () => {
    const shared = sharedState(CAP, 1);
    const ctl = new Int32Array(new SharedArrayBuffer(64));
    const policy = new SpinPolicy(shared);
    let checks = 0;
    expect(policy.spin(() => ++checks === 100, performance.now() + 60_000, ctl)).to.equal(true);
    expect(policy.spin(() => false, performance.now() + 1, ctl)).to.equal(false);
    expect([Atomics.load(shared, SHARED_SPINNERS), Atomics.load(ctl, CTL_SPINNING)]).to.deep.equal([0, 0]);
  });

  it('gives back the place of a worker that died spinning, once', () => {
    const shared = sharedState(CAP, 2);
    const ctl = new Int32Array(new SharedArrayBuffer(64));
    Atomics.store(shared, SHARED_SPINNERS, 1);
    Atomics.store(ctl, CTL_SPINNING, 1);
    releaseSpinner(ctl, shared);
    releaseSpinner(ctl, shared);
    expect(Atomics.load(shared, SHARED_SPINNERS)).to.equal(0);
  });
});
