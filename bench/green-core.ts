/**
 * Green-core benchmarks: what a green thread costs, each against the plain
 * Node mechanism it builds on, measured in the same run.
 *
 *     npx tsx bench/green-core.ts [--rounds 5] [--calls 5000] [--spawns 300]
 *
 * 1. green -> hub call round trip: `sleep(0)` in a green thread (p50, p99),
 *    vs the bare mechanism it uses (a worker spinning then parking on a
 *    SharedArrayBuffer, answered by MessagePort), and vs a plain async
 *    MessagePort ping-pong between the main thread and a worker.
 * 2. warm `await spawn(fn)` of a trivial function from async code, vs a raw
 *    job round trip to an idle worker (postMessage, reply by message).
 * 3. RSS of an idle pooled green worker, vs a worker that only loads the
 *    same entry (with tsx registered when run under tsx) and does nothing.
 *
 * The green functions live in this module, which green workers import: its
 * entry code is guarded with isMainGreenThread().
 */
import { parseArgs } from 'node:util';
import { MessageChannel, Worker } from 'node:worker_threads';
import { newEventLoop } from '../src/loop/index.js';
import { isMainGreenThread, sleep, spawn } from '../src/green/index.js';
import { configure, poolStats, prestart, shutdownWorkers } from '../src/bridge/index.js';
import { functionRef } from '../src/green/runtime/reference.js';
import { tsxApiUrl, workerEntryUrl, workerExecArgv } from '../src/green/runtime/worker-boot.js';
import { compare, median, printTable, type BenchRow } from './table.js';

// ---- green functions (run in workers) ----------------------------------------------

/** Times `count` sleep(0) round trips; returns microseconds per call. */
export function timeYields(count: number): number[] {
  const micros: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    sleep(0);
    micros.push((performance.now() - started) * 1000);
  }
  return micros;
}

export function noop(): null {
  return null;
}

// ---- measuring ------------------------------------------------------------------------

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/**
 * The bare mechanism green calls use, without greenloop: the worker posts a
 * request, spins up to 100 µs on a shared counter, then parks in
 * Atomics.wait; the main thread answers from its message event (after a
 * setImmediate hop, as the hub answers from a loop iteration) and bumps
 * the counter.
 */
const RAW_CHANNEL_WORKER = `
const { workerData, parentPort, receiveMessageOnPort } = require('node:worker_threads');
const { port, ctl: buffer, count } = workerData;
const ctl = new Int32Array(buffer);
const micros = [];
for (let i = 0; i < count; i++) {
  const started = performance.now();
  const seen = Atomics.load(ctl, 0);
  port.postMessage({ s: i + 1, o: 'sleep', a: [0] });
  const deadline = started + 0.1;
  let rounds = 0;
  while (Atomics.load(ctl, 0) === seen) {
    if ((++rounds & 31) === 0 && performance.now() > deadline) break;
  }
  while (Atomics.load(ctl, 0) === seen) Atomics.wait(ctl, 0, seen);
  receiveMessageOnPort(port);
  micros.push((performance.now() - started) * 1000);
}
parentPort.postMessage(micros);
`;

/** Round trips of the bare spin-then-park channel (µs each). */
async function rawChannel(count: number): Promise<number[]> {
  const { port1, port2 } = new MessageChannel();
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(RAW_CHANNEL_WORKER, {
    eval: true,
    workerData: { port: port1, ctl: ctl.buffer, count },
    transferList: [port1],
  });
  const answer = (message: { s: number }): void => {
    port2.postMessage({ r: message.s, ok: true, v: null });
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
  };
  port2.on('message', (message: { s: number }) => setImmediate(answer, message));
  const micros = await new Promise<number[]>((resolve) => worker.once('message', resolve));
  port2.close();
  await worker.terminate();
  return micros;
}

const PING_PONG_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (message) => parentPort.postMessage(message));
`;

/** A bare worker that answers every message, started and ready. */
async function startEchoWorker(): Promise<Worker> {
  const worker = new Worker(PING_PONG_WORKER, { eval: true });
  await new Promise<void>((resolve) => {
    worker.once('online', () => resolve());
  });
  return worker;
}

/** Round trips of a message to a bare worker and back (µs each). */
async function rawPingPong(worker: Worker, count: number): Promise<number[]> {
  const micros: number[] = [];
  let started = 0;
  await new Promise<void>((resolve) => {
    const onMessage = (): void => {
      micros.push((performance.now() - started) * 1000);
      if (micros.length === count) {
        worker.off('message', onMessage);
        resolve();
        return;
      }
      started = performance.now();
      worker.postMessage({ s: micros.length, o: 'sleep', a: [0] });
    };
    worker.on('message', onMessage);
    started = performance.now();
    worker.postMessage({ s: 0, o: 'sleep', a: [0] });
  });
  return micros;
}

async function greenRoundTrips(count: number): Promise<number[]> {
  const loop = newEventLoop();
  try {
    return await loop.runUntilComplete(async () => spawn(timeYields, count));
  } finally {
    loop.close();
  }
}

/** µs per warm `await spawn(noop)`, `count` in a row. */
async function greenSpawns(count: number): Promise<number[]> {
  const loop = newEventLoop();
  try {
    return await loop.runUntilComplete(async () => {
      const micros: number[] = [];
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        await spawn(noop);
        micros.push((performance.now() - started) * 1000);
      }
      return micros;
    });
  } finally {
    loop.close();
  }
}

function rssAfterGc(): number {
  globalThis.gc?.();
  return process.memoryUsage().rss;
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A TypeScript-capable worker doing nothing: greenloop's entry (tsx registered if needed) and an empty runtime. */
async function startBareModuleWorker(): Promise<Worker> {
  const emptyRuntime = `data:text/javascript,${encodeURIComponent(
    "import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => {}); parentPort.postMessage('ready');",
  )}`;
  const worker = new Worker(workerEntryUrl, {
    workerData: { tsxApiUrl: tsxApiUrl(), preloadUrl: null, runtimeUrl: emptyRuntime },
    execArgv: workerExecArgv(),
  });
  await new Promise((resolve) => worker.once('message', resolve));
  return worker;
}

/** MB of RSS per worker: `start()` `count` workers, idle, and compare. */
async function rssPerWorker(count: number, start: () => Promise<void>): Promise<number> {
  await settle(200);
  const before = rssAfterGc();
  await start();
  await settle(300);
  return (rssAfterGc() - before) / count / 1e6;
}

// ---- main ---------------------------------------------------------------------------------

interface Options {
  rounds: number;
  calls: number;
  spawns: number;
}

/** What finding a function by module reference costs: first in the process, first of a function, cached. */
function referenceCosts(): { firstMs: number; nextMs: number; cachedUs: number } {
  let started = performance.now();
  functionRef(noop, 'bench');
  const firstMs = performance.now() - started;
  started = performance.now();
  functionRef(timeYields, 'bench');
  const nextMs = performance.now() - started;
  started = performance.now();
  for (let i = 0; i < 10000; i++) functionRef(noop, 'bench');
  return { firstMs, nextMs, cachedUs: ((performance.now() - started) * 1000) / 10000 };
}

async function main({ rounds, calls, spawns }: Options): Promise<void> {
  const references = referenceCosts();
  configure({ poolSize: 8 });
  const coldStart = performance.now();
  await prestart(2);
  const coldMs = performance.now() - coldStart;
  const echo = await startEchoWorker();

  // Warm-up: JIT, module imports in the workers.
  await greenRoundTrips(calls);
  await rawPingPong(echo, calls);
  await greenSpawns(spawns);

  const callP50: number[] = [];
  const callP99: number[] = [];
  const rawP50: number[] = [];
  const rawP99: number[] = [];
  const channelP50: number[] = [];
  const channelP99: number[] = [];
  const spawnMedian: number[] = [];
  const rawJobMedian: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const green = await greenRoundTrips(calls);
    const raw = await rawPingPong(echo, calls);
    const channel = await rawChannel(calls);
    channelP50.push(percentile(channel, 0.5));
    channelP99.push(percentile(channel, 0.99));
    callP50.push(percentile(green, 0.5));
    callP99.push(percentile(green, 0.99));
    rawP50.push(percentile(raw, 0.5));
    rawP99.push(percentile(raw, 0.99));
    spawnMedian.push(median(await greenSpawns(spawns)));
    rawJobMedian.push(median(await rawPingPong(echo, spawns)));
  }
  await echo.terminate();

  await shutdownWorkers();
  const workers = 4;
  const greenRss = await rssPerWorker(workers, () => prestart(workers));
  const bare: Worker[] = [];
  const bareRss = await rssPerWorker(workers, async () => {
    for (let i = 0; i < workers; i++) bare.push(await startBareModuleWorker());
  });
  await Promise.all(bare.map((worker) => worker.terminate()));
  await shutdownWorkers();

  const rows: BenchRow[] = [
    compare({ name: 'sleep(0) p50 vs bare channel', value: median(callP50), baseline: median(channelP50), unit: 'µs', better: 'lower', goal: 1.5 }),
    compare({ name: 'sleep(0) p99 vs bare channel', value: median(callP99), baseline: median(channelP99), unit: 'µs', better: 'lower', goal: 2 }),
    compare({ name: 'sleep(0) p50 vs async ping-pong', value: median(callP50), baseline: median(rawP50), unit: 'µs', better: 'lower', goal: 1.5 }),
    compare({ name: 'sleep(0) p99 vs async ping-pong', value: median(callP99), baseline: median(rawP99), unit: 'µs', better: 'lower', goal: 3 }),
    compare({ name: 'warm spawn + wait', value: median(spawnMedian), baseline: median(rawJobMedian), unit: 'µs', better: 'lower', goal: 8 }),
    compare({ name: 'idle green worker RSS', value: greenRss, baseline: bareRss, unit: 'MB', better: 'lower', goal: 1.25 }),
  ];
  printTable(`green core (${rounds} rounds, medians; baselines measured in the same run)`, rows);

  const absolute: [string, number, number, string][] = [
    ['sleep(0) round trip p50', median(callP50), 20, 'µs'],
    ['warm spawn + wait', median(spawnMedian), 200, 'µs'],
    ['idle green worker RSS', greenRss, 8, 'MB'],
  ];
  process.stdout.write('\nabsolute goals\n');
  for (const [name, value, goal, unit] of absolute) {
    const met = value <= goal ? 'yes' : 'NO';
    process.stdout.write(`${name.padEnd(26)} ${value.toFixed(1).padStart(7)} ${unit.padEnd(2)}  <= ${goal} ${unit}  ${met}\n`);
  }
  process.stdout.write(`\ncold start of 2 green workers: ${coldMs.toFixed(0)} ms; pool after: ${JSON.stringify(poolStats())}\n`);
  if (tsxApiUrl() !== null) {
    process.stdout.write('workers register tsx to load TypeScript: its loader thread is in both RSS figures\n');
  }
  process.stdout.write(
    `function by module reference: first in process ${references.firstMs.toFixed(2)} ms, ` +
      `first of another function ${references.nextMs.toFixed(2)} ms, cached ${references.cachedUs.toFixed(3)} µs\n`,
  );
}

if (isMainGreenThread()) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      calls: { type: 'string', default: '5000' },
      spawns: { type: 'string', default: '300' },
    },
  });
  await main({ rounds: Number(values.rounds), calls: Number(values.calls), spawns: Number(values.spawns) });
}
