/**
 * Green capacity: how many green threads can be alive at once on this
 * machine, and what each costs, against bare worker threads measured in
 * the same run.
 *
 *     npx tsx bench/green-capacity.ts [--budget-gb 12] [--max 2000] [--seconds 60] [--baseline 200]
 *
 * Green threads that park in a long `sleep()` are started in steps (50,
 * 100, 200, 400... alive), each step waiting until every new thread has
 * reported from its worker. After each step: live threads, process RSS
 * (VmRSS of /proc/self/status: every worker thread is in it), RSS per
 * thread, and the time the step took. The ramp stops at the first of:
 * - RSS reaching `--budget-gb` GiB (default 12, half of a 24 GB machine);
 *   steps are shrunk so that the projected RSS stays under it, and RSS is
 *   polled while a step starts, so the budget is never overrun by much;
 * - `--max` threads alive (default 2000);
 * - `--seconds` of ramp in total (default 60): a step still starting then is cut short;
 * - a worker failing to start (the error is reported).
 * Then every thread is killed and every worker stopped, also on error.
 *
 * The baseline: `new Worker` on an empty ES module (no greenloop, no tsx)
 * that only stays alive, started in the same steps up to `--baseline`
 * workers (default 200) within the same budgets. When workers need tsx (run
 * under tsx, or from greenloop's sources), a second baseline starts
 * greenloop's worker entry, which registers tsx, with an empty runtime:
 * what a worker that can load TypeScript costs before any greenloop code.
 *
 * The green functions live in this module, which green workers import: its
 * entry code is guarded with isMainGreenThread().
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { newEventLoop, type EventLoop } from '../src/loop/index.js';
import { GreenletExit, isMainGreenThread, sleep, spawn, type GreenThread } from '../src/green/index.js';
import { configure, poolStats, registerOperation, sendHub, shutdownWorkers } from '../src/bridge/index.js';
import { tsxApiUrl, workerEntryUrl, workerExecArgv } from '../src/green/runtime/worker-boot.js';
import { compare, printTable, type BenchRow } from './table.js';

const MODULE = import.meta.url;
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

// ---- green function (runs in workers) -----------------------------------------------

/** Tells the hub it runs, then parks until killed. */
export function parkForever(seconds: number): void {
  sendHub('capacity.started', [], MODULE);
  sleep(seconds);
}

/** Hub side: counts the threads that reported from their worker. */
let reported = 0;
registerOperation('capacity.started', () => {
  reported++;
});

// ---- measuring ------------------------------------------------------------------------

/** The process's resident set (bytes), worker threads included. */
function rssBytes(): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match === null ? process.memoryUsage().rss : Number(match[1]) * 1024;
}

/** Peak resident set (bytes) of the process so far. */
function peakRssBytes(): number {
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match === null ? NaN : Number(match[1]) * 1024;
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** RSS once the threads just started have settled (after a GC when --expose-gc is on). */
async function settledRss(): Promise<number> {
  await settle(300);
  globalThis.gc?.();
  return rssBytes();
}

interface Limits {
  budgetBytes: number;
  max: number;
  seconds: number;
}

/** One step of a ramp, measured once it ended. */
interface Step {
  alive: number;
  /** Worker threads in the process, including those still starting. */
  workers: number;
  added: number;
  /** False when the step was cut short by a limit before all its threads started. */
  complete: boolean;
  rss: number;
  /** (rss - rss before any worker) / alive. */
  perThread: number;
  /** (rss - rss after the previous step) / added. */
  marginal: number;
  seconds: number;
}

/** What a ramp found, and why it stopped. */
interface Ramp {
  steps: Step[];
  baseRss: number;
  stop: string;
  error: unknown;
}

/** Starts `count` more units; resolves once all have started, or rejects on a start failure. */
interface Starter {
  /** Starts `count` more; `alive()` counts those that started so far. */
  start(count: number): void;
  alive(): number;
  /** Worker threads in the process, started or starting. */
  workers(): number;
  /** The first error starting one, if any. */
  failure(): unknown;
}

/** The next step's target: doubling from 50, within the limit of threads. */
function nextTarget(alive: number, max: number): number {
  return Math.min(max, alive === 0 ? 50 : alive * 2);
}

/**
 * Shrinks `target` so the projected RSS (at the marginal cost seen so far,
 * plus 10% for the transient cost of starting) stays within the budget.
 */
function fitBudget(target: number, alive: number, rss: number, perThread: number, budget: number): number {
  if (perThread <= 0 || !Number.isFinite(perThread)) return target;
  const room = Math.floor((budget - rss) / (perThread * 1.1));
  return Math.min(target, alive + Math.max(0, room));
}

/**
 * Ramps `starter` up in steps within `limits`, measuring each step; polls
 * RSS while a step starts so that the memory budget is watched throughout.
 */
async function ramp(starter: Starter, limits: Limits, now: () => number): Promise<Ramp> {
  const baseRss = await settledRss();
  const deadline = now() + limits.seconds * 1000;
  const steps: Step[] = [];
  let previousRss = baseRss;
  let marginal = 0;
  for (;;) {
    const alive = starter.alive();
    if (alive >= limits.max) return { steps, baseRss, stop: `thread cap (${limits.max})`, error: null };
    const target = fitBudget(nextTarget(alive, limits.max), alive, previousRss, marginal, limits.budgetBytes);
    if (target <= alive) return { steps, baseRss, stop: 'memory budget (no room for one more)', error: null };
    const started = now();
    starter.start(target - alive);
    let stop: string | null = null;
    for (;;) {
      if (starter.failure() !== null) {
        stop = 'a worker failed to start';
        break;
      }
      if (starter.alive() >= target) break;
      if (rssBytes() >= limits.budgetBytes) {
        stop = 'memory budget (while starting)';
        break;
      }
      if (now() >= deadline) {
        stop = `time budget (${limits.seconds} s)`;
        break;
      }
      await settle(20);
    }
    const seconds = (now() - started) / 1000;
    const rss = await settledRss();
    const count = starter.alive();
    const added = count - alive;
    marginal = added > 0 ? (rss - previousRss) / added : marginal;
    const workers = starter.workers();
    const complete = count >= target;
    steps.push({ alive: count, workers, added, complete, rss, perThread: count > 0 ? (rss - baseRss) / count : 0, marginal, seconds });
    previousRss = rss;
    if (stop !== null) return { steps, baseRss, stop, error: starter.failure() };
    if (rss >= limits.budgetBytes) return { steps, baseRss, stop: 'memory budget', error: null };
    if (now() >= deadline) return { steps, baseRss, stop: `time budget (${limits.seconds} s)`, error: null };
  }
}

// ---- green threads -----------------------------------------------------------------

/** Green threads parked in sleep(): started, counted, and all killed at the end. */
class GreenStarter implements Starter {
  readonly threads: GreenThread[] = [];
  private exited = 0;
  private firstError: unknown = null;
  private stopping = false;
  private onAllExited: (() => void) | null = null;

  start(count: number): void {
    for (let i = 0; i < count; i++) {
      const thread = spawn(parkForever, 24 * 3600);
      thread.link((dead) => this.onExit(dead));
      this.threads.push(thread);
    }
  }

  alive(): number {
    return reported - this.exited;
  }

  workers(): number {
    return poolStats().live;
  }

  failure(): unknown {
    return this.firstError;
  }

  /** Kills every thread and waits until all have exited (at most `seconds`). */
  async killAll(seconds: number): Promise<void> {
    this.stopping = true;
    for (const thread of this.threads) thread.kill();
    if (this.exited === this.threads.length) return;
    await Promise.race([new Promise<void>((resolve) => (this.onAllExited = resolve)), settle(seconds * 1000)]);
  }

  private onExit(thread: GreenThread): void {
    this.exited++;
    if (!this.stopping && this.firstError === null) {
      try {
        thread.wait();
        this.firstError = new Error('a green thread returned before it was killed');
      } catch (error) {
        if (!(error instanceof GreenletExit)) this.firstError = error;
      }
    }
    if (this.exited === this.threads.length) this.onAllExited?.();
  }
}

async function rampGreen(loop: EventLoop, limits: Limits): Promise<Ramp> {
  const starter = new GreenStarter();
  try {
    return await loop.runUntilComplete(() => ramp(starter, limits, () => loop.time() * 1000));
  } finally {
    // Kill on the loop, so each parked sleep() is interrupted and its worker returns to the pool.
    await loop.runUntilComplete(() => starter.killAll(30));
  }
}

// ---- bare workers (the baselines) ------------------------------------------------------

const EMPTY_ENTRY = new URL(
  `data:text/javascript,${encodeURIComponent(
    "import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => {}); parentPort.postMessage(0);",
  )}`,
);

/** Workers made by `make`, each ready at its first message; all terminated at the end. */
class WorkerStarter implements Starter {
  readonly started: Worker[] = [];
  private ready = 0;
  private firstError: unknown = null;

  constructor(private readonly make: () => Worker) {}

  start(count: number): void {
    for (let i = 0; i < count; i++) {
      let worker: Worker;
      try {
        worker = this.make();
      } catch (error) {
        this.firstError ??= error;
        return;
      }
      this.started.push(worker);
      worker.once('message', () => this.ready++);
      worker.once('error', (error) => (this.firstError ??= error));
    }
  }

  alive(): number {
    return this.ready;
  }

  workers(): number {
    return this.started.length;
  }

  failure(): unknown {
    return this.firstError;
  }

  async terminateAll(): Promise<void> {
    await Promise.allSettled(this.started.map((worker) => worker.terminate()));
  }
}

/** A worker on an empty ES module: no loader, no greenloop. */
function bareWorker(): Worker {
  return new Worker(EMPTY_ENTRY, { execArgv: [] });
}

/** greenloop's worker entry (registering tsx) with a runtime that does nothing. */
function tsxEntryWorker(): Worker {
  return new Worker(workerEntryUrl, {
    workerData: { tsxApiUrl: tsxApiUrl(), preloadUrl: null, runtimeUrl: EMPTY_ENTRY.href },
    execArgv: workerExecArgv(),
  });
}

async function rampWorkers(make: () => Worker, limits: Limits): Promise<Ramp> {
  const starter = new WorkerStarter(make);
  try {
    return await ramp(starter, limits, () => performance.now());
  } finally {
    await starter.terminateAll();
  }
}

// ---- report --------------------------------------------------------------------------

const mb = (bytes: number): string => (bytes / MIB).toFixed(1);

/** The last step whose threads all started: the one the figures are taken from. */
function lastComplete(run: Ramp): Step | undefined {
  return run.steps.filter((step) => step.complete).at(-1);
}

/** What fits in the machine's RAM at the ramp's RSS per thread. */
function extrapolatedMax(run: Ramp): number {
  const last = lastComplete(run);
  if (last === undefined || last.perThread <= 0) return NaN;
  return Math.floor((totalmem() - run.baseRss) / last.perThread);
}

function printSteps(title: string, run: Ramp): void {
  const headers = ['step', 'alive', 'workers', 'added', 'RSS MB', 'MB/thread', 'MB/added', 'step s', 'ms/added'];
  const lines = run.steps.map((step, index) => [
    `${index + 1}${step.complete ? '' : '*'}`,
    String(step.alive),
    String(step.workers),
    String(step.added),
    mb(step.rss),
    mb(step.perThread),
    mb(step.marginal),
    step.seconds.toFixed(2),
    step.added > 0 ? ((step.seconds * 1000) / step.added).toFixed(1) : '-',
  ]);
  const max = Math.max(0, ...run.steps.map((step) => step.alive));
  const last = lastComplete(run);
  const total = run.steps.reduce((sum, step) => sum + step.seconds, 0);
  lines.push([
    'max',
    String(max),
    '',
    '',
    last === undefined ? '-' : mb(last.rss),
    last === undefined ? '-' : mb(last.perThread),
    '',
    total.toFixed(2),
    `-> ~${extrapolatedMax(run).toLocaleString('en-US')} in ${(totalmem() / GIB).toFixed(1)} GiB`,
  ]);
  const widths = headers.map((header, column) => Math.max(header.length, ...lines.map((line) => line[column].length)));
  const render = (line: readonly string[]): string =>
    line.map((cell, column) => (column === 8 ? cell : cell.padStart(widths[column]))).join('  ').trimEnd();
  process.stdout.write(`\n${title} (RSS before: ${mb(run.baseRss)} MB; stopped by: ${run.stop})\n`);
  process.stdout.write(`${render(headers)}\n${widths.map((width) => '-'.repeat(width)).join('  ')}\n`);
  for (const line of lines) process.stdout.write(`${render(line)}\n`);
  if (run.steps.some((step) => !step.complete)) {
    process.stdout.write('* cut short by a limit: its RSS includes workers still starting; the max row uses the last complete step\n');
  }
  if (run.error !== null) {
    const error = run.error as Error;
    process.stdout.write(`start error: ${error.name ?? 'Error'}: ${error.message ?? String(error)}\n`);
  }
}

function perThread(run: Ramp): number {
  return (lastComplete(run)?.perThread ?? NaN) / MIB;
}

/** Milliseconds of start per thread, over the complete steps. */
function startMs(run: Ramp): number {
  const complete = run.steps.filter((step) => step.complete);
  const added = complete.reduce((sum, step) => sum + step.added, 0);
  return (complete.reduce((sum, step) => sum + step.seconds, 0) * 1000) / added;
}

function comparisons(green: Ramp, baseline: Ramp, label: string): BenchRow[] {
  return [
    compare({ name: `RSS per live thread vs ${label}`, value: perThread(green), baseline: perThread(baseline), unit: 'MB', better: 'lower', goal: 1.25 }),
    compare({ name: `max alive in RAM vs ${label}`, value: extrapolatedMax(green), baseline: extrapolatedMax(baseline), unit: '', better: 'higher', goal: 0.8 }),
    compare({ name: `start time per thread vs ${label}`, value: startMs(green), baseline: startMs(baseline), unit: 'ms', better: 'lower', goal: 1.5 }),
  ];
}

// ---- main ---------------------------------------------------------------------------------

interface Options extends Limits {
  baseline: number;
}

/** Waits until no green worker is left (terminations finish asynchronously). */
async function waitNoWorkers(seconds: number): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  while (poolStats().live > 0 && performance.now() < deadline) {
    await shutdownWorkers();
    await settle(50);
  }
}

async function main(options: Options): Promise<void> {
  // No idle worker is kept: a killed thread's worker exits, and RSS counts live threads only.
  configure({ poolSize: 0, maxIdleWorkers: 0 });
  const loop = newEventLoop();
  let green: Ramp;
  try {
    green = await rampGreen(loop, options);
  } finally {
    loop.close();
    await waitNoWorkers(30);
  }
  const baselineLimits = { ...options, max: Math.min(options.max, options.baseline) };
  await settle(500);
  const bare = await rampWorkers(bareWorker, baselineLimits);
  let tsx: Ramp | null = null;
  if (tsxApiUrl() !== null) {
    await settle(500);
    tsx = await rampWorkers(tsxEntryWorker, { ...baselineLimits, max: Math.min(baselineLimits.max, 100) });
  }

  printSteps('green threads parked in sleep()', green);
  printSteps('baseline: bare new Worker on an empty ES module', bare);
  if (tsx !== null) printSteps("baseline: greenloop's worker entry registering tsx, empty runtime", tsx);
  process.stdout.write('\n');
  const rows = comparisons(green, bare, 'bare worker');
  if (tsx !== null) rows.push(...comparisons(green, tsx, 'tsx worker'));
  printTable(`green capacity (budget ${(options.budgetBytes / GIB).toFixed(1)} GiB RSS, cap ${options.max}, ${options.seconds} s)`, rows);
  process.stdout.write(
    `\npeak RSS of the run: ${mb(peakRssBytes())} MB; machine RAM ${(totalmem() / GIB).toFixed(1)} GiB; ` +
      `pool after: ${JSON.stringify(poolStats())}\n`,
  );
  if (tsxApiUrl() !== null) process.stdout.write('green workers register tsx to load TypeScript: its loader thread is in their RSS\n');
}

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`--${name} must be a positive number, got ${String(text)}`);
  return value;
}

if (isMainGreenThread()) {
  const { values } = parseArgs({
    options: {
      'budget-gb': { type: 'string', default: '12' },
      max: { type: 'string', default: '2000' },
      seconds: { type: 'string', default: '60' },
      baseline: { type: 'string', default: '200' },
    },
  });
  await main({
    budgetBytes: positive('budget-gb', values['budget-gb']) * GIB,
    max: Math.floor(positive('max', values.max)),
    seconds: positive('seconds', values.seconds),
    baseline: Math.floor(positive('baseline', values.baseline)),
  });
}
