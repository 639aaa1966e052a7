/**
 * How long a blocked green thread spins before it parks.
 *
 * Waking a thread parked in `Atomics.wait` costs tens of microseconds (~90 on
 * a small VM), while the hub often answers a short operation (`sleep(0)`, a
 * queue get that does not wait) in a few: spinning for about that long
 * first turns most such calls into a few-microsecond round trip. Spinning
 * burns a core the hub may need, so it is bounded three ways:
 * - per operation name, the budget follows recent reply latencies: about
 *   twice the usual latency, never above the cap; an operation whose replies
 *   usually take longer than twice the cap (timers, network waits) spins on
 *   one call in 16 only, to notice when it gets faster again; each such
 *   probe that catches no reply halves how often it probes (down to one call
 *   in 512: a probe burns a whole budget), and one that catches a reply
 *   makes it probe as often as at first;
 * - the cap itself is configurable (`configure({ spinLimit })`, microseconds);
 * - at most `maxSpinners` threads of the process spin at once (cores - 1 by
 *   default), the others park at once.
 */
// The module's binding, not the global: `globalThis.performance` is a lazy accessor, run on every use.
import { performance } from 'node:perf_hooks';
import { CTL_SPINNING, SHARED_MAX_SPINNERS, SHARED_SPINNERS, SHARED_SPIN_LIMIT } from './protocol.js';

/** Weight of the newest sample in the moving average of latencies. */
const SMOOTHING = 0.2;

/** An operation that usually does not spin still spins on one call in this many, to notice it got faster. */
const PROBE_EVERY = 16;
/** Probes that keep missing back off to one call in this many. */
const PROBE_EVERY_MAX = 512;

class LatencyAverage {
  /** Microseconds; 0 until the first sample. */
  value = 0;
  /** Calls since the last spin, while the average says not to spin. */
  skipped = 0;
  /** Spin on one call in this many while the average says not to. */
  probeEvery = PROBE_EVERY;
  /** The call in flight is a probe. */
  probing = false;

  add(micros: number): void {
    this.value = this.value === 0 ? micros : this.value + (micros - this.value) * SMOOTHING;
  }
}

export class SpinPolicy {
  private readonly latencies = new Map<string, LatencyAverage>();

  constructor(private readonly shared: Int32Array) {}

  /** The spin budget for the next call of `op`, in microseconds (0: park at once). */
  budget(op: string): number {
    const limit = Atomics.load(this.shared, SHARED_SPIN_LIMIT);
    if (limit <= 0) return 0;
    const stats = this.latencies.get(op);
    if (stats === undefined || stats.value === 0) return limit;
    if (stats.value <= 2 * limit) return Math.min(limit, 2 * stats.value + 5);
    // Usually too slow to catch by spinning; probe now and then, since a
    // parked call's latency includes the wake-up and alone would never tell.
    if (++stats.skipped < stats.probeEvery) return 0;
    stats.skipped = 0;
    stats.probing = true;
    return limit;
  }

  /** Records how long a call of `op` took to get its reply. */
  record(op: string, micros: number): void {
    let average = this.latencies.get(op);
    if (average === undefined) this.latencies.set(op, (average = new LatencyAverage()));
    if (average.probing) {
      average.probing = false;
      const caught = micros <= Atomics.load(this.shared, SHARED_SPIN_LIMIT);
      average.probeEvery = caught ? PROBE_EVERY : Math.min(PROBE_EVERY_MAX, average.probeEvery * 2);
    }
    average.add(micros);
  }

  /**
   * Spins until `arrived()` is true or the clock (`performance.now()`)
   * passes `deadline`; returns `arrived()`'s last answer. Gives up at once
   * when enough threads already spin. While counted among the spinners,
   * a worker's `ctl[CTL_SPINNING]` is 1, so the pool can give the place
   * back if the worker dies spinning (`releaseSpinner`); the hub passes null.
   */
  spin(arrived: () => boolean, deadline: number, ctl: Int32Array | null): boolean {
    const shared = this.shared;
    if (Atomics.add(shared, SHARED_SPINNERS, 1) >= Atomics.load(shared, SHARED_MAX_SPINNERS)) {
      Atomics.sub(shared, SHARED_SPINNERS, 1);
      return arrived();
    }
    if (ctl !== null) Atomics.store(ctl, CTL_SPINNING, 1);
    try {
      let rounds = 0;
      while (!arrived()) {
        // Reading the clock costs more than a load: check it every 32 rounds.
        if ((++rounds & 31) === 0 && performance.now() > deadline) return false;
      }
      return true;
    } finally {
      if (ctl !== null) releaseSpinner(ctl, shared);
      else Atomics.sub(shared, SHARED_SPINNERS, 1);
    }
  }
}

/** Gives back the spinning place of a worker that died while spinning (`ctl` is its buffer). */
export function releaseSpinner(ctl: Int32Array, shared: Int32Array): void {
  if (Atomics.exchange(ctl, CTL_SPINNING, 0) === 1) Atomics.sub(shared, SHARED_SPINNERS, 1);
}

