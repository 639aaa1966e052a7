/**
 * The warm pool follows demand: the workers a burst of green threads used
 * stay warm for the next burst (up to maxIdleWorkers), so the next burst
 * starts no worker; idle workers beyond the cap, or unused for idleTimeout,
 * exit.
 */
import { expect } from 'chai';
import { configure, poolStats, runGreen } from '../../../src/bridge/index.js';
import { gather } from '../../../src/loop/index.js';
import { runInLoop } from '../../helpers.js';
import { sleepThenReturn } from '../fixtures/threads.js';
import { TEST_POOL_SIZE, useGreenWorkers, waitUntil } from '../../green-workers.js';

const BURST = 6;

function burst(size: number): Promise<unknown[]> {
  return runInLoop(() => gather(...Array.from({ length: size }, (_, i) => runGreen(sleepThenReturn, 0.05, i))));
}

describe('runtime: the warm pool', function () {
  this.timeout(30000);
  useGreenWorkers();
  afterEach(() => configure({ maxIdleWorkers: TEST_POOL_SIZE, idleTimeout: 60 }));

  it('keeps the workers of a burst warm, so the next burst of the same size starts none', async () => {
    configure({ maxIdleWorkers: 64 });
    expect(await burst(BURST)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(await waitUntil(() => poolStats().busy === 0)).to.equal(true);
    const warm = poolStats();
    expect(warm.idle).to.be.at.least(BURST);
    expect(warm.live).to.equal(warm.idle);
    await burst(BURST);
    expect(await waitUntil(() => poolStats().busy === 0)).to.equal(true);
    expect(poolStats().live, 'no worker was started for the second burst').to.equal(warm.live);
  });

  it('keeps at most maxIdleWorkers idle, and lets idle workers go after idleTimeout', async () => {
    configure({ maxIdleWorkers: 3 });
    await burst(BURST);
    expect(await waitUntil(() => poolStats().live === 3)).to.equal(true);
    expect(poolStats().idle).to.equal(3);
    configure({ idleTimeout: 0.05 });
    expect(await waitUntil(() => poolStats().live === 0)).to.equal(true);
  });
});
