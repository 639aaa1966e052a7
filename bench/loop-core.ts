/**
 * Loop-core benchmarks: the costs every greenloop program pays, each against
 * the plain Node mechanism it builds on, measured in the same run.
 *
 *     npx tsx bench/loop-core.ts [--rounds 7] [--scale 1] [--clock wall|cpu]
 *
 * 1. callSoon throughput: N `loop.callSoon` callbacks vs N `setImmediate`.
 * 2. `await createTask(trivial)` vs `await trivial()`, inside a running task.
 * 3. A two-task ping-pong hopping with `await sleep(0)` vs with
 *    `await new Promise((r) => setImmediate(r))`.
 *
 * Each round measures both sides (in alternating order) after a warm-up
 * round; the table shows medians, and the ratio is the median of the
 * per-round ratios.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createTask, newEventLoop, run, sleep } from '../src/loop/index.js';
import { compare, median, printTable, type BenchRow } from './table.js';

/**
 * What the benchmarks time with. 'wall' (the default) is elapsed time, what
 * a program experiences. 'cpu' is this process's CPU time (user + system):
 * steadier when other processes compete for the cores, but measured lower
 * than wall time for a Node event-loop turn on a virtual machine, so wall
 * time stays the reference.
 */
export type Clock = 'cpu' | 'wall';

const clocks: Record<Clock, () => number> = {
  cpu: () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  },
  wall: () => performance.now(),
};

/** Milliseconds on the selected clock. */
let now = clocks.wall;

/** Elapsed milliseconds of one measured operation. */
type Measure = () => Promise<number>;

interface Paired {
  ours: number;
  baseline: number;
  /** Median of ours / baseline over the rounds. */
  ratio: number;
}

/** Runs both sides `rounds` times (after one warm-up), alternating which goes first. */
async function measurePaired(rounds: number, ours: Measure, baseline: Measure): Promise<Paired> {
  await ours();
  await baseline();
  const oursMs: number[] = [];
  const baselineMs: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let a: number;
    let b: number;
    if (round % 2 === 0) {
      a = await ours();
      b = await baseline();
    } else {
      b = await baseline();
      a = await ours();
    }
    oursMs.push(a);
    baselineMs.push(b);
    ratios.push(a / b);
  }
  return { ours: median(oursMs), baseline: median(baselineMs), ratio: median(ratios) };
}

// ---- 1. callSoon throughput ---------------------------------------------------

/**
 * Callbacks are scheduled in batches (the last callback of a batch schedules
 * the next one), so the measure is the steady state of a busy loop rather
 * than one huge allocation burst dominated by garbage collection.
 */
const BATCH = 1000;

/** Time to schedule and run `n` callbacks with callSoon, from inside the running loop. */
async function callSoonBatches(n: number): Promise<number> {
  const loop = newEventLoop();
  loop.setDebug(false);
  let count = 0;
  let started = 0;
  let elapsed = 0;
  const scheduleBatch = (): void => {
    for (let i = 0; i < BATCH; i++) loop.callSoon(tick);
  };
  const tick = (): void => {
    count++;
    if (count === n) {
      elapsed = now() - started;
      loop.stop();
    } else if (count % BATCH === 0) {
      scheduleBatch();
    }
  };
  loop.callSoon(() => {
    started = now();
    scheduleBatch();
  });
  try {
    await loop.runForever();
  } finally {
    loop.close();
  }
  return elapsed;
}

/** The same with one setImmediate per callback, from inside an immediate. */
function setImmediateBatches(n: number): Promise<number> {
  return new Promise((resolve) => {
    let count = 0;
    let started = 0;
    const scheduleBatch = (): void => {
      for (let i = 0; i < BATCH; i++) setImmediate(tick);
    };
    const tick = (): void => {
      count++;
      if (count === n) resolve(now() - started);
      else if (count % BATCH === 0) scheduleBatch();
    };
    setImmediate(() => {
      started = now();
      scheduleBatch();
    });
  });
}

// ---- 2. create + run + await a trivial Task -----------------------------------

async function trivial(): Promise<void> {}

/** Runs `body` as the main task of a fresh loop (debug off) and returns its result. */
function inLoop<T>(body: () => Promise<T>): Promise<T> {
  return run(body, { debug: false });
}

const awaitTasks = (n: number): Promise<number> =>
  inLoop(async () => {
    const started = now();
    for (let i = 0; i < n; i++) await createTask(trivial);
    return now() - started;
  });

const awaitCalls = (n: number): Promise<number> =>
  inLoop(async () => {
    const started = now();
    for (let i = 0; i < n; i++) await trivial();
    return now() - started;
  });

// ---- 3. sleep(0) ping-pong ----------------------------------------------------

/**
 * Two tasks pass a ball back and forth `hops` times: each picks it up when
 * it is its turn, and yields with `hop()` after every look.
 */
const pingPong = (hops: number, hop: () => PromiseLike<unknown>): Promise<number> =>
  inLoop(async () => {
    let ball = 0;
    const player = async (side: number): Promise<void> => {
      while (ball < hops) {
        if (ball % 2 === side) ball++;
        await hop();
      }
    };
    const started = now();
    const first = createTask(player, 0);
    const second = createTask(player, 1);
    await first;
    await second;
    return now() - started;
  });

const sleepHop = (): PromiseLike<unknown> => sleep(0);
const immediateHop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ---- the table ------------------------------------------------------------------

export interface LoopCoreOptions {
  /** Measured rounds per benchmark (after one warm-up); 7 by default. */
  rounds?: number;
  /** Multiplies every operation count; 1 by default. */
  scale?: number;
  /** 'wall' by default. */
  clock?: Clock;
}

/** Runs the three loop-core benchmarks and returns their rows. */
export async function benchLoopCore(options: LoopCoreOptions = {}): Promise<BenchRow[]> {
  const rounds = options.rounds ?? 7;
  const scale = options.scale ?? 1;
  now = clocks[options.clock ?? 'wall'];
  const callbacks = Math.max(1, Math.round(200 * scale)) * BATCH;
  const tasks = Math.max(1, Math.round(20_000 * scale));
  const hops = Math.max(2, Math.round(20_000 * scale));

  const soon = await measurePaired(
    rounds,
    () => callSoonBatches(callbacks),
    () => setImmediateBatches(callbacks),
  );
  const task = await measurePaired(
    rounds,
    () => awaitTasks(tasks),
    () => awaitCalls(tasks),
  );
  const pong = await measurePaired(
    rounds,
    () => pingPong(hops, sleepHop),
    () => pingPong(hops, immediateHop),
  );

  const perSecond = (count: number, ms: number): number => (count / ms) * 1000;
  const microsEach = (count: number, ms: number): number => (ms * 1000) / count;
  return [
    compare({
      name: 'callSoon throughput (vs setImmediate)',
      value: perSecond(callbacks, soon.ours),
      baseline: perSecond(callbacks, soon.baseline),
      ratio: 1 / soon.ratio,
      unit: 'calls/s',
      better: 'higher',
      goal: 1,
    }),
    compare({
      name: 'await createTask(trivial) (vs await trivial())',
      value: microsEach(tasks, task.ours),
      baseline: microsEach(tasks, task.baseline),
      ratio: task.ratio,
      unit: 'µs/op',
      better: 'lower',
      goal: 3,
    }),
    compare({
      name: 'sleep(0) ping-pong hop (vs setImmediate promise)',
      value: microsEach(hops, pong.ours),
      baseline: microsEach(hops, pong.baseline),
      ratio: pong.ratio,
      unit: 'µs/hop',
      better: 'lower',
      goal: 2,
    }),
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '7' },
      scale: { type: 'string', default: '1' },
      clock: { type: 'string', default: 'wall' },
    },
  });
  const rounds = Number(values.rounds);
  const scale = Number(values.scale);
  if (!Number.isInteger(rounds) || rounds < 1) throw new TypeError(`--rounds must be a positive integer, got ${values.rounds}`);
  if (!(scale > 0)) throw new TypeError(`--scale must be a positive number, got ${values.scale}`);
  const clock = values.clock;
  if (clock !== 'cpu' && clock !== 'wall') throw new TypeError(`--clock must be 'cpu' or 'wall', got ${clock}`);
  const rows = await benchLoopCore({ rounds, scale, clock });
  printTable(`loop core (Node ${process.version}, ${clock} time, median of ${rounds} rounds)`, rows);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
