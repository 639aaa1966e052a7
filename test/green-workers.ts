/**
 * Test helpers for green threads and thread pools: warm workers, and a
 * check that a group of tests leaves no worker busy.
 */
import { expect } from 'chai';
import { configure, poolStats, prestart } from '../src/bridge/index.js';
import { hostedHubStarted } from '../src/green/runtime/hosted-main.js';
import { aliveHolders } from '../src/green/runtime/keep-alive.js';
import { spinningThreads } from '../src/green/runtime/pool.js';

/** Workers kept idle between tests: enough for the groups that run threads side by side. */
export const TEST_POOL_SIZE = 4;

/** Polls `condition` every 5 ms for up to `ms`; false if it never held. */
export async function waitUntil(condition: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

/**
 * Mocha hooks for a describe group that runs green threads: workers are
 * started before (so tests do not pay for it), and after the group every
 * worker must be idle again (no green thread or call left running, none
 * lost track of) and the process must not be held alive.
 */
export function useGreenWorkers(warm = 2): void {
  before(async function () {
    this.timeout(20000);
    // The loop placement: a green call made outside a loop must fail here, not
    // turn the test runner into a hosted program (hosted.test.ts runs those).
    configure({ poolSize: TEST_POOL_SIZE, maxIdleWorkers: TEST_POOL_SIZE, idleTimeout: 60, spinLimit: 100, bridge: true, debug: false, hub: 'loop' });
    await prestart(warm);
  });
  after(async () => {
    const settled = await waitUntil(() => poolStats().busy === 0 && poolStats().starting === 0);
    const stats = poolStats();
    expect(settled, `workers left busy: ${JSON.stringify(stats)}`).to.equal(true);
    expect(stats.live, 'every live worker is idle').to.equal(stats.idle);
    expect(stats.idle).to.be.at.most(TEST_POOL_SIZE);
    expect(aliveHolders(), 'nothing holds the process alive').to.equal(0);
    expect(spinningThreads(), 'no spinning place left taken').to.equal(0);
    expect(hostedHubStarted(), 'no hosted hub was started in the test runner').to.equal(false);
  });
}
