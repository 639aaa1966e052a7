/**
 * Faults: green threads that throw, exit or crash; workers lost mid-call;
 * the loop closing under parked threads. Nothing hangs, no worker leaks.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { newEventLoop } from '../../../src/loop/index.js';
import {
  BoundedSemaphore,
  CappedSemaphore,
  GreenThread,
  GreenletExit,
  Semaphore,
  Timeout,
  spawn,
  spawnAfter,
} from '../../../src/green/index.js';
import { HubClosedError, WorkerCrashedError, configure, poolStats, shutdownWorkers } from '../../../src/bridge/index.js';
import type { ExceptionContext } from '../../../src/loop/event-loop.js';
import { CancelledError } from '../../../src/loop/errors.js';
import { closeGrace } from '../../../src/green/runtime/hub-thread.js';
import { runInLoop } from '../../helpers.js';
import { useGreenWorkers, waitUntil } from '../../green-workers.js';
import { clearRecords, records } from '../fixtures/record.js';
import { double, fail, waitFor } from '../fixtures/threads.js';
import { hubLog } from './fixtures/ops.js';
import {
  acquireUntimed,
  crashAfterReturn,
  exitWorker,
  holdThenExit,
  holdThenReturn,
  parkInSlowCall,
  releasedBy,
  spinForever,
  spinUnderTimeout,
  stubborn,
} from './fixtures/faults.js';

async function outcomeOf(thread: PromiseLike<unknown>): Promise<unknown> {
  return thread.then(
    (value) => ({ value }),
    (err: unknown) => err,
  );
}

describe('runtime: faults of green threads', () => {
  useGreenWorkers(3);

  beforeEach(() => {
    clearRecords();
    hubLog.length = 0;
  });

  it('gives the error of a thread that throws to every waiter, and reuses its worker', async () => {
    const liveBefore = poolStats().live;
    await runInLoop(async () => {
      const failing = spawn(fail, 'broken');
      const greenWaiter = spawn(waitFor, failing);
      expect(await outcomeOf(failing)).to.be.instanceOf(TypeError);
      expect(await outcomeOf(greenWaiter)).to.be.instanceOf(TypeError);
      expect(await spawn(double, 1)).to.equal(2);
    });
    expect(poolStats().live).to.equal(liveBefore);
  });

  it('fails a thread whose worker exits with WorkerCrashedError, and its waiters too', async () => {
    await runInLoop(async () => {
      const exiting = spawn(exitWorker, 7);
      const greenWaiter = spawn(waitFor, exiting);
      const error = await outcomeOf(exiting);
      expect(error).to.be.instanceOf(WorkerCrashedError);
      expect((error as WorkerCrashedError).exitCode).to.equal(7);
      expect(await outcomeOf(greenWaiter)).to.be.instanceOf(WorkerCrashedError);
      expect(await spawn(double, 2)).to.equal(4);
    });
  });

  it('fails a thread whose worker dies mid-call, and cancels the operation', async () => {
    await runInLoop(async () => {
      const thread = spawn(parkInSlowCall, 'lost');
      expect(await waitUntil(() => hubLog.includes('started lost'))).to.equal(true);
      thread._core?.slot?.terminate();
      expect(await outcomeOf(thread)).to.be.instanceOf(WorkerCrashedError);
      expect(await waitUntil(() => hubLog.includes('cancelled lost'))).to.equal(true);
    });
  });

  it('drops a worker that crashes after its green thread returned', async () => {
    await runInLoop(async () => {
      const liveBefore = poolStats().live;
      expect(await spawn(crashAfterReturn)).to.equal('returned');
      expect(await waitUntil(() => poolStats().live < liveBefore)).to.equal(true);
      expect(await spawn(double, 3)).to.equal(6);
    });
  });
});

describe('runtime: killing a green thread that computes without green calls', () => {
  useGreenWorkers(3);

  beforeEach(() => {
    clearRecords();
    configure({ killGrace: 0.2 });
  });
  afterEach(() => configure({ killGrace: 1 }));

  it('terminates its worker after killGrace: the thread and its waiters fail with GreenletExit, the pool goes on', async function () {
    this.timeout(20000);
    await runInLoop(async () => {
      const spinning = spawn(spinForever);
      const greenWaiter = spawn(waitFor, spinning);
      expect(await waitUntil(() => records().includes('spinning'))).to.equal(true);
      // The record is a callAsync: a kill before its reply would be taken
      // there, as at any parked call. Wait until the thread computes.
      expect(await waitUntil(() => spinning._core?.computing === true)).to.equal(true);
      const slot = spinning._core?.slot;
      expect(slot?.worker).to.not.equal(null);
      spinning.kill();
      // A hang limit only: the grace is 0.2 s.
      expect(await waitUntil(() => spinning.dead, 10000), 'killed within the grace period').to.equal(true);
      // It died of GreenletExit; `await` of a thread killed so rejects with CancelledError.
      expect(spinning._core?.outcome?.value).to.be.instanceOf(GreenletExit);
      expect(await outcomeOf(spinning)).to.be.instanceOf(CancelledError);
      await outcomeOf(greenWaiter);
      expect(greenWaiter._core?.outcome?.value).to.be.instanceOf(GreenletExit);
      // Its worker is stopped, never reused.
      expect(await waitUntil(() => slot?.alive === false, 10000)).to.equal(true);
      expect(await spawn(double, 5)).to.equal(10);
    });
  });

  it('terminates the worker of a thread that computes through its green Timeout, failing it with the Timeout', async function () {
    this.timeout(20000);
    await runInLoop(async () => {
      const spinning = spawn(spinUnderTimeout, 0.05);
      expect(await waitUntil(() => spinning.dead, 10000)).to.equal(true);
      expect(await outcomeOf(spinning)).to.be.instanceOf(Timeout);
      expect(await spawn(double, 6)).to.equal(12);
    });
  });
});

describe('runtime: semaphore permits of a thread that dies', () => {
  useGreenWorkers(3);

  beforeEach(clearRecords);

  const kinds: [string, () => Semaphore | CappedSemaphore][] = [
    ['Semaphore', () => new Semaphore(1)],
    ['BoundedSemaphore', () => new BoundedSemaphore(1)],
    ['CappedSemaphore', () => new CappedSemaphore(1, 1)],
  ];
  for (const [kind, create] of kinds) {
    it(`gives a ${kind}'s permits held by a thread whose worker exits to an untimed waiter, and reports it`, async () => {
      const reports: ExceptionContext[] = [];
      await runInLoop(
        async () => {
          const sem = create();
          const holder = spawn(holdThenExit, sem);
          expect(await waitUntil(() => records().includes('holding'))).to.equal(true);
          const waiter = spawn(acquireUntimed, sem);
          expect(await outcomeOf(holder)).to.be.instanceOf(WorkerCrashedError);
          expect(await waiter).to.equal('acquired');
        },
        (loop) => loop.setExceptionHandler((_loop, context) => reports.push(context)),
      );
      const messages = reports.map((context) => context.message);
      expect(messages.join('\n')).to.match(
        new RegExp(`Green thread \\d+ \\(holdThenExit\\) died holding 1 permit of a ${kind}`),
      );
      expect(reports.find((context) => /holdThenExit/.test(String(context.message)))?.exception).to.be.instanceOf(
        WorkerCrashedError,
      );
    });
  }

  it('leaves the permits of a thread that returns taken (a semaphore is not owned)', async () => {
    await runInLoop(async () => {
      const sem = new Semaphore(1);
      expect(await spawn(holdThenReturn, sem)).to.equal('holding');
      expect(sem.counter).to.equal(0);
      sem.release();
      expect(sem.counter).to.equal(1);
    });
  });
});

describe('runtime: the loop closing under green threads', () => {
  useGreenWorkers(3);
  const savedGrace = closeGrace.seconds;

  beforeEach(clearRecords);
  afterEach(() => {
    closeGrace.seconds = savedGrace;
  });

  it('releases parked threads with HubClosedError, and fails their later calls at once', async () => {
    const loop = newEventLoop();
    const threads: { parked?: GreenThread<string>; unstarted?: GreenThread<number> } = {};
    await loop.runUntilComplete(async () => {
      threads.parked = spawn(releasedBy);
      threads.unstarted = spawnAfter(30, double, 1);
      expect(await waitUntil(() => records().includes('parked'))).to.equal(true);
    });
    loop.close();
    const { parked, unstarted } = threads as Required<typeof threads>;
    expect(unstarted.dead).to.equal(true);
    expect(() => unstarted.wait()).to.throw(HubClosedError);
    expect(await waitUntil(() => parked.dead)).to.equal(true);
    expect(parked.wait()).to.equal('released by HubClosedError, then HubClosedError again');
  });

  it('stops the worker of a thread that ignores the release, after a grace period', async () => {
    closeGrace.seconds = 0.1;
    const loop = newEventLoop();
    const holder: { thread?: GreenThread<never> } = {};
    await loop.runUntilComplete(async () => {
      holder.thread = spawn(stubborn);
      expect(await waitUntil(() => records().includes('parked'))).to.equal(true);
    });
    loop.close();
    const thread = holder.thread as GreenThread<never>;
    expect(await waitUntil(() => thread.dead)).to.equal(true);
    expect(() => thread.wait()).to.throw(WorkerCrashedError);
  });
});

/** Runs a fixture program with tsx; resolves to its stdout once it exits (rejects on failure or timeout). */
function runScript(name: string): Promise<string> {
  const script = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  return new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', script], { timeout: 25000 }, (error, out) =>
      error === null ? resolve(out) : reject(error),
    );
  });
}

describe('runtime: the process and its workers', () => {
  it('lets a program exit once its work is done: idle workers hold nothing', async function () {
    this.timeout(30000);
    const started = Date.now();
    expect(await runScript('exit-script.ts')).to.equal('result 42\n');
    // Well before the 30 s idle timeout of its worker.
    expect(Date.now() - started).to.be.below(20000);
  });

  it('keeps the process alive while a green thread computes after the loop stopped, then exits', async function () {
    this.timeout(30000);
    expect(await runScript('computing-script.ts')).to.equal('loop stopped\ncomputed\n');
  });

  it('stops every idle worker on shutdownWorkers()', async () => {
    await shutdownWorkers();
    expect(await waitUntil(() => poolStats().live === 0)).to.equal(true);
  });
});
