/**
 * Green start: what starting green threads costs, each against a baseline
 * measured in the same run.
 *
 *     npx tsx bench/green-start.ts [--rounds 3] [--burst 20] [--cycles 20000] [--drivers 50] [--pool 50]
 *
 * 1. Cold start: a fresh Node process (one per kind and round) runs
 *    `await run(async () => { t0; await runGreen(noop); t1 })` and prints
 *    t1 - t0: the first green thread of a process, its worker started from
 *    nothing. The program is a small user module written to a temp dir (the
 *    green function is its module-level export, its entry code guarded with
 *    isMainGreenThread()), in three kinds:
 *    (a) `node --import tsx` on a .ts module importing greenloop's sources;
 *    (b) `node --import tsx` on a .ts module importing the compiled dist/
 *        (built with `npm run build` if missing);
 *    (c) plain `node` on a .mjs module importing dist/.
 *    Baseline: a bare `new Worker(file)` that posts 'ready', timed to its
 *    first message, in the same kind of process (under tsx for (a) and (b):
 *    the worker inherits `--import tsx`, as a tsx user's worker would).
 *    Absolute goals: <= 150 ms for (b), <= 50 ms for (c).
 * 2. Burst after warm-up: in this process, a burst of `--burst` concurrent
 *    `runGreen(nap, 0.05)` warms the pool, then the measured burst of as
 *    many (median over rounds), vs one warm `runGreen(nap, 0.05)`.
 * 3. Churn: `--cycles` spawn + wait of a no-op through a GreenPool(`--pool`)
 *    driven by `--drivers` async drivers on the loop, each looping
 *    `await (await pool.spawnAsync(noop)).thread`: µs per cycle, the peak
 *    of live green workers (poolStats(), polled during the run) and RSS at
 *    start, middle and end. One measured run after a warm-up (not one per
 *    round: that would not fit a few minutes). Baseline: eventlet doing the same
 *    (bench/eventlet-churn.py under /usr/bin/python3), when installed;
 *    skipped with a note otherwise.
 *
 * Under tsx this process's green workers (sections 2 and 3) load TypeScript
 * too; `npm run bench:compiled` style runs (build/bench) measure them as
 * plain JavaScript. The cold-start kinds do not depend on how this file runs.
 *
 * The green functions live in this module, which green workers import: its
 * entry code is guarded with isMainGreenThread().
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { newEventLoop } from '../src/loop/index.js';
import { GreenPool, isMainGreenThread, sleep } from '../src/green/index.js';
import { configure, poolStats, runGreen, shutdownWorkers } from '../src/bridge/index.js';
import { compare, median, printTable, type BenchRow } from './table.js';

const NAP_SECONDS = 0.05;
const PYTHON = '/usr/bin/python3';
const MIB = 1024 ** 2;

// ---- green functions (run in workers) ----------------------------------------------

export function noop(): null {
  return null;
}

/** Sleeps `seconds` (green: the worker parks while the hub times it). */
export function nap(seconds: number): null {
  sleep(seconds);
  return null;
}

// ---- helpers ------------------------------------------------------------------------

/** The repository root: the nearest directory up from this file with greenloop's package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'greenloop') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('green-start: cannot find the greenloop repository root');
    dir = parent;
  }
}

function rssBytes(): number {
  return process.memoryUsage().rss;
}

/** A /proc/self/status field in bytes (VmRSS, VmHWM), NaN when not there. */
function procStatusBytes(field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return match === null ? NaN : Number(match[1]) * 1024;
  } catch {
    return NaN;
  }
}

const mb = (bytes: number): string => (bytes / MIB).toFixed(1);

/** Runs a child process; resolves with its stdout (rejects on a failure or after `timeoutMs`). */
function runChild(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 * MIB }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The last line of `stdout` that is a JSON object. */
function lastJson<T>(stdout: string, what: string): T {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((text) => text.startsWith('{'));
  if (line === undefined) throw new Error(`${what}: no JSON result in its output:\n${stdout}`);
  return JSON.parse(line) as T;
}

// ---- 1. cold start ------------------------------------------------------------------

/** What a cold-start program prints: t1 - t0, and t0 since the process started (its imports). */
interface ColdResult {
  ms: number;
  at: number;
}

/** The user module: a module-level green function, and entry code guarded for green workers. */
function greenProgram(loopUrl: string, bridgeUrl: string): string {
  return `import { run } from '${loopUrl}';
import { isMainGreenThread, runGreen } from '${bridgeUrl}';

export function noop() {
  return null;
}

if (isMainGreenThread()) {
  await run(async () => {
    const t0 = performance.now();
    await runGreen(noop);
    const t1 = performance.now();
    process.stdout.write(JSON.stringify({ ms: t1 - t0, at: t0 }) + '\\n');
  });
  process.exit(0);
}
`;
}

const BARE_PROGRAM = `import { Worker } from 'node:worker_threads';

const t0 = performance.now();
const worker = new Worker(new URL('./ready.mjs', import.meta.url));
worker.once('message', () => {
  const t1 = performance.now();
  process.stdout.write(JSON.stringify({ ms: t1 - t0, at: t0 }) + '\\n');
  process.exit(0);
});
`;

const READY_WORKER = `import { parentPort } from 'node:worker_threads';
parentPort.postMessage('ready');
`;

/** One kind of cold-start process: node's arguments before the program, and the program. */
interface ColdProgram {
  label: string;
  nodeArgs: string[];
  file: string;
}

interface ColdPrograms {
  tsxSources: ColdProgram;
  tsxDist: ColdProgram;
  compiled: ColdProgram;
  bareTsx: ColdProgram;
  bare: ColdProgram;
}

/** Builds dist/ if it is missing. */
function ensureDist(root: string): void {
  if (existsSync(join(root, 'dist/bridge/index.js')) && existsSync(join(root, 'dist/bridge/worker-entry.mjs'))) return;
  process.stdout.write('dist/ is missing: npm run build\n');
  const built = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build failed');
}

/** Writes the programs to a temp dir (a package of ES modules, so `.ts` is ESM too). */
function writeColdPrograms(root: string, dir: string): ColdPrograms {
  const url = (path: string): string => pathToFileURL(join(root, path)).href;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'green-start-cold', private: true, type: 'module' }));
  writeFileSync(join(dir, 'ready.mjs'), READY_WORKER);
  writeFileSync(join(dir, 'green-sources.ts'), greenProgram(url('src/loop/index.ts'), url('src/bridge/index.ts')));
  writeFileSync(join(dir, 'green-dist.ts'), greenProgram(url('dist/loop/index.js'), url('dist/bridge/index.js')));
  writeFileSync(join(dir, 'green-dist.mjs'), greenProgram(url('dist/loop/index.js'), url('dist/bridge/index.js')));
  writeFileSync(join(dir, 'bare.ts'), BARE_PROGRAM);
  writeFileSync(join(dir, 'bare.mjs'), BARE_PROGRAM);
  const tsx = ['--import', 'tsx'];
  return {
    tsxSources: { label: 'tsx + sources', nodeArgs: tsx, file: join(dir, 'green-sources.ts') },
    tsxDist: { label: 'tsx + dist', nodeArgs: tsx, file: join(dir, 'green-dist.ts') },
    compiled: { label: 'compiled', nodeArgs: [], file: join(dir, 'green-dist.mjs') },
    bareTsx: { label: 'bare Worker, tsx', nodeArgs: tsx, file: join(dir, 'bare.ts') },
    bare: { label: 'bare Worker', nodeArgs: [], file: join(dir, 'bare.mjs') },
  };
}

type ColdRuns = Record<keyof ColdPrograms, ColdResult[]>;

/** Runs every kind once per round, one process at a time, interleaved. */
async function coldStarts(root: string, rounds: number): Promise<ColdRuns> {
  ensureDist(root);
  const dir = mkdtempSync(join(tmpdir(), 'green-start-'));
  try {
    const programs = writeColdPrograms(root, dir);
    // Children start clean: no loader inherited from this process's environment.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const runs: ColdRuns = { tsxSources: [], tsxDist: [], compiled: [], bareTsx: [], bare: [] };
    const kinds = Object.keys(runs) as (keyof ColdPrograms)[];
    // One untimed run of each kind first: disk caches, tsx's transform cache.
    for (let round = -1; round < rounds; round++) {
      for (const kind of kinds) {
        const program = programs[kind];
        const stdout = await runChild(process.execPath, [...program.nodeArgs, program.file], root, env, 120_000);
        if (round >= 0) runs[kind].push(lastJson<ColdResult>(stdout, program.label));
      }
    }
    return runs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median of the per-round ratios value / baseline. */
function pairedRatio(values: readonly number[], baselines: readonly number[]): number {
  return median(values.map((value, i) => value / baselines[i]));
}

function coldRow(name: string, runs: ColdResult[], baselines: ColdResult[], goal: number): BenchRow {
  const values = runs.map((run) => run.ms);
  const bases = baselines.map((run) => run.ms);
  return compare({
    name,
    value: median(values),
    baseline: median(bases),
    ratio: pairedRatio(values, bases),
    unit: 'ms',
    better: 'lower',
    goal,
  });
}

// ---- 2. burst after warm-up -------------------------------------------------------------

/** ms for `count` concurrent runGreen(nap) to all finish. */
async function burst(count: number): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, () => runGreen(nap, NAP_SECONDS)));
  return performance.now() - started;
}

/** ms for one runGreen(nap) to finish: the median of `count` in a row. */
async function single(count: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await runGreen(nap, NAP_SECONDS);
    ms.push(performance.now() - started);
  }
  return median(ms);
}

// ---- 3. churn --------------------------------------------------------------------------

interface ChurnResult {
  usPerCycle: number;
  peakLive: number;
  rss: { start: number; middle: number; end: number };
}

/** `cycles` spawn + wait of noop through a GreenPool(`size`), by `drivers` async drivers. */
async function churn(cycles: number, drivers: number, size: number): Promise<ChurnResult> {
  const pool = new GreenPool(size);
  const middle = Math.floor(cycles / 2);
  const rss = { start: rssBytes(), middle: NaN, end: NaN };
  let peakLive = poolStats().live;
  const sample = (): void => {
    peakLive = Math.max(peakLive, poolStats().live);
  };
  const poller = setInterval(sample, 5);
  let issued = 0;
  let done = 0;
  const driver = async (): Promise<void> => {
    while (issued < cycles) {
      issued++;
      const { thread } = await pool.spawnAsync(noop);
      await thread;
      done++;
      sample();
      if (done === middle) rss.middle = rssBytes();
    }
  };
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: drivers }, driver));
  } finally {
    clearInterval(poller);
  }
  const elapsed = performance.now() - started;
  sample();
  rss.end = rssBytes();
  return { usPerCycle: (elapsed * 1000) / cycles, peakLive, rss };
}

/** Whether /usr/bin/python3 can import eventlet. */
function eventletAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import eventlet'], { stdio: 'ignore' }).status === 0;
}

/** µs per cycle of eventlet's churn (bench/eventlet-churn.py, next to this file in the repository). */
async function eventletChurn(root: string, cycles: number, drivers: number, size: number): Promise<number> {
  const script = join(root, 'bench/eventlet-churn.py');
  const args = [script, '--cycles', String(cycles), '--drivers', String(drivers), '--pool', String(size)];
  const stdout = await runChild(PYTHON, args, root, process.env, 300_000);
  return lastJson<{ us_per_cycle: number }>(stdout, 'eventlet-churn.py').us_per_cycle;
}

// ---- main ---------------------------------------------------------------------------------

interface Options {
  rounds: number;
  burst: number;
  cycles: number;
  drivers: number;
  pool: number;
}

async function main(options: Options): Promise<void> {
  const { rounds, cycles, drivers } = options;
  const root = repoRoot();
  const runStarted = performance.now();

  // 1. Cold starts, in child processes.
  const cold = await coldStarts(root, rounds);

  // 2 and 3, in this process, on one loop.
  const withEventlet = eventletAvailable();
  const loop = newEventLoop();
  const burstMs: number[] = [];
  const singleMs: number[] = [];
  let liveAfterBurst = poolStats();
  let eventletUs = NaN;
  let churned: ChurnResult;
  try {
    churned = await loop.runUntilComplete(async () => {
      await burst(options.burst); // warm-up: the pool grows to the burst
      await single(1);
      for (let round = 0; round < rounds; round++) {
        burstMs.push(await burst(options.burst));
        singleMs.push(await single(3));
      }
      liveAfterBurst = poolStats();

      // One measured run of `cycles` each (after a warm-up): rounds of it would not fit the time budget.
      await churn(Math.min(Math.ceil(cycles / 10), 2000), drivers, options.pool);
      const measured = await churn(cycles, drivers, options.pool);
      if (withEventlet) eventletUs = await eventletChurn(root, cycles, drivers, options.pool);
      return measured;
    });
  } finally {
    loop.close();
    await shutdownWorkers();
  }

  const rows: BenchRow[] = [
    coldRow('cold start, tsx + sources vs bare Worker (tsx)', cold.tsxSources, cold.bareTsx, 3),
    coldRow('cold start, tsx + dist vs bare Worker (tsx)', cold.tsxDist, cold.bareTsx, 2),
    coldRow('cold start, compiled vs bare Worker', cold.compiled, cold.bare, 2),
    compare({
      name: `burst of ${options.burst} (warm pool) vs one warm spawn`,
      value: median(burstMs),
      baseline: median(singleMs),
      ratio: pairedRatio(burstMs, singleMs),
      unit: 'ms',
      better: 'lower',
      goal: 3,
    }),
  ];
  if (withEventlet) {
    rows.push(
      compare({
        name: 'churn spawn + wait vs eventlet',
        value: churned.usPerCycle,
        baseline: eventletUs,
        unit: 'µs/cycle',
        better: 'lower',
        goal: 10,
      }),
    );
  }
  // "At most the pool size plus a few": 10% over it.
  rows.push(compare({ name: 'churn peak live workers vs pool size', value: churned.peakLive, baseline: options.pool, unit: 'workers', better: 'lower', goal: 1.1 }));
  printTable(`green start (${rounds} rounds, medians; baselines measured in the same run)`, rows);

  const absolute: [string, number, number][] = [
    ['cold start, tsx + dist', median(cold.tsxDist.map((run) => run.ms)), 150],
    ['cold start, compiled', median(cold.compiled.map((run) => run.ms)), 50],
  ];
  process.stdout.write('\nabsolute goals\n');
  for (const [name, value, goal] of absolute) {
    process.stdout.write(`${name.padEnd(24)} ${value.toFixed(1).padStart(7)} ms  <= ${goal} ms  ${value <= goal ? 'yes' : 'NO'}\n`);
  }

  process.stdout.write('\ncold start per kind (medians): t1 - t0, and process start -> t0 (node, loader, imports)\n');
  const kinds: [string, ColdResult[]][] = [
    ['tsx + sources', cold.tsxSources],
    ['tsx + dist', cold.tsxDist],
    ['compiled', cold.compiled],
    ['bare Worker, tsx', cold.bareTsx],
    ['bare Worker', cold.bare],
  ];
  for (const [label, runs] of kinds) {
    const ms = runs.map((run) => run.ms.toFixed(1)).join(', ');
    process.stdout.write(
      `  ${label.padEnd(17)} ${median(runs.map((run) => run.ms)).toFixed(1).padStart(7)} ms  (rounds: ${ms}); ` +
        `start -> t0 ${median(runs.map((run) => run.at)).toFixed(0)} ms\n`,
    );
  }
  process.stdout.write(
    `\nburst: ${options.burst} x runGreen(nap ${NAP_SECONDS} s): rounds ${burstMs.map((ms) => ms.toFixed(1)).join(', ')} ms; ` +
      `one warm spawn: ${singleMs.map((ms) => ms.toFixed(1)).join(', ')} ms; poolStats() after: ${JSON.stringify(liveAfterBurst)} ` +
      `(live ${liveAfterBurst.live})\n`,
  );
  process.stdout.write(`\nchurn: ${cycles} cycles, GreenPool(${options.pool}), ${drivers} async drivers\n`);
  const python = withEventlet ? `; eventlet ${eventletUs.toFixed(1)} µs/cycle` : '';
  process.stdout.write(
    `  ${churned.usPerCycle.toFixed(1)} µs/cycle${python}; peak live workers ${churned.peakLive}; ` +
      `RSS start ${mb(churned.rss.start)} MB, middle ${mb(churned.rss.middle)} MB, end ${mb(churned.rss.end)} MB\n`,
  );
  process.stdout.write(`  VmRSS now ${mb(procStatusBytes('VmRSS'))} MB, VmHWM (peak) ${mb(procStatusBytes('VmHWM'))} MB\n`);
  if (!withEventlet) {
    process.stdout.write(
      `  eventlet baseline skipped: ${PYTHON} cannot import eventlet (apt-get install python3-eventlet)\n`,
    );
  }
  if (/\.[cm]?ts$/.test(fileURLToPath(import.meta.url))) {
    process.stdout.write('\nthis process runs under tsx: its green workers (burst, churn) register tsx to load TypeScript\n');
  }
  process.stdout.write(`whole run: ${((performance.now() - runStarted) / 1000).toFixed(1)} s\n`);
}

function positiveInteger(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`--${name} must be a positive integer, got ${String(text)}`);
  return value;
}

if (isMainGreenThread()) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      burst: { type: 'string', default: '20' },
      cycles: { type: 'string', default: '20000' },
      drivers: { type: 'string', default: '50' },
      pool: { type: 'string', default: '50' },
    },
  });
  // Keep the workers a burst used warm through the run (the defaults already do; said here for clarity).
  configure({ maxIdleWorkers: 256, idleTimeout: 30 });
  await main({
    rounds: positiveInteger('rounds', values.rounds),
    burst: positiveInteger('burst', values.burst),
    cycles: positiveInteger('cycles', values.cycles),
    drivers: positiveInteger('drivers', values.drivers),
    pool: positiveInteger('pool', values.pool),
  });
}
