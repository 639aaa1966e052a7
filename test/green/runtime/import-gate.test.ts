/**
 * The import gate: at most MAX_IMPORTING green threads load their function's
 * module into a worker at once (a burst of spawns on fresh workers must not
 * run out of file descriptors); the others wait in spawn order, counted as
 * starting, and all of them run. The fixture's import holds until the test
 * releases it, so the gate is seen full.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configure, poolStats, shutdownWorkers } from '../../../src/bridge/index.js';
import { getRunningLoop } from '../../../src/loop/index.js';
import { GreenletExit } from '../../../src/green/index.js';
import { Hub } from '../../../src/green/runtime/hub.js';
import type { HubThread, Outcome } from '../../../src/green/runtime/hub-thread.js';
import { importGate, MAX_IMPORTING } from '../../../src/green/runtime/import-gate.js';
import { functionRef } from '../../../src/green/runtime/reference.js';
import { runInLoop } from '../../helpers.js';
import { TEST_POOL_SIZE, useGreenWorkers, waitUntil } from '../../green-workers.js';
import { loaded } from './fixtures/slow-import.js';

/** How many imports the log shows started, and the most that ran at once. */
function imports(log: string): { started: number; mostAtOnce: number } {
  let now = 0;
  let started = 0;
  let mostAtOnce = 0;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line === '+') {
      started++;
      mostAtOnce = Math.max(mostAtOnce, ++now);
    } else if (line === '-') {
      now--;
    }
  }
  return { started, mostAtOnce };
}

describe('runtime: the import gate', function () {
  this.timeout(60000);
  useGreenWorkers(0);
  let dir: string;
  let log: string;
  let release: string;

  // Each test starts on fresh workers, which have not loaded the module, and leaves none.
  beforeEach(async () => {
    // A worker started ahead of demand (before the environment below was set) is stopped too.
    await waitUntil(() => poolStats().starting === 0);
    await shutdownWorkers();
    dir = mkdtempSync(join(tmpdir(), 'greenloop-import-'));
    log = join(dir, 'imports.log');
    release = join(dir, 'release');
    writeFileSync(log, '');
    // Workers started from now on inherit them; this thread imported the module already.
    process.env.GREENLOOP_TEST_IMPORT_LOG = log;
    process.env.GREENLOOP_TEST_IMPORT_RELEASE = release;
    configure({ maxIdleWorkers: MAX_IMPORTING + 4 });
  });
  afterEach(async () => {
    writeFileSync(release, '');
    delete process.env.GREENLOOP_TEST_IMPORT_LOG;
    delete process.env.GREENLOOP_TEST_IMPORT_RELEASE;
    configure({ maxIdleWorkers: TEST_POOL_SIZE });
    await shutdownWorkers();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Spawns `count` threads of `loaded(i)` on the running loop's hub, and waits until the gate is full. */
  async function fillTheGate(count: number): Promise<HubThread[]> {
    const hub = Hub.for(getRunningLoop());
    const threads = Array.from({ length: count }, (_, i) => hub.spawnRef(functionRef(loaded, 'test'), [i], 0, false));
    const full = (): boolean => imports(log).started === MAX_IMPORTING && importGate.stats().waiting === count - MAX_IMPORTING;
    expect(await waitUntil(full, 25000), `the gate holds ${MAX_IMPORTING} imports: ${JSON.stringify(importGate.stats())} ${JSON.stringify(imports(log))}`).to.equal(true);
    return threads;
  }

  async function outcomes(threads: HubThread[]): Promise<Outcome[]> {
    expect(await waitUntil(() => threads.every((thread) => thread.dead), 30000), 'every thread ended').to.equal(true);
    return threads.map((thread) => thread.retrieve());
  }

  it(`lets ${MAX_IMPORTING} threads import at once; the others wait their turn, then all run`, async () => {
    const count = MAX_IMPORTING + 3;
    const results = await runInLoop(async () => {
      const threads = await fillTheGate(count);
      // The gate stays full while the imports hold.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(imports(log).started).to.equal(MAX_IMPORTING);
      expect(threads.filter((thread) => thread.state === 'starting')).to.have.length(count - MAX_IMPORTING);
      writeFileSync(release, '');
      return outcomes(threads);
    });
    expect(results.map((result) => result.value)).to.deep.equal(Array.from({ length: count }, (_, i) => i));
    expect(imports(log)).to.deep.equal({ started: count, mostAtOnce: MAX_IMPORTING });
    expect(importGate.stats()).to.deep.equal({ importing: 0, waiting: 0 });
  });

  it('ends a thread killed while it waits for its turn without running it', async () => {
    const count = MAX_IMPORTING + 2;
    let killed = -1;
    const results = await runInLoop(async () => {
      const threads = await fillTheGate(count);
      // Workers come up in any order: a thread whose worker came last waits.
      killed = threads.findIndex((thread) => thread.state === 'starting');
      expect(killed, 'a thread waiting to import is still starting').to.be.at.least(0);
      threads[killed].killWith(new GreenletExit());
      expect(threads[killed].dead, 'killed before it started: dead at once').to.equal(true);
      expect(importGate.stats().waiting).to.equal(1);
      writeFileSync(release, '');
      return outcomes(threads);
    });
    expect(results[killed].ok).to.equal(false);
    expect(results[killed].value).to.be.instanceOf(GreenletExit);
    const others = results.filter((_, i) => i !== killed).map((result) => result.value);
    expect(others).to.deep.equal(Array.from({ length: count }, (_, i) => i).filter((i) => i !== killed));
    expect(imports(log).started, 'the killed thread never imported').to.equal(count - 1);
    expect(importGate.stats()).to.deep.equal({ importing: 0, waiting: 0 });
  });
});
