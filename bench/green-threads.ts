/**
 * Where a green echo server's CPU goes, thread by thread, against the
 * design's floor (bench/echo-servers/node-handoff.mjs: the same two thread
 * wake-ups per echo, without greenloop), in steady state.
 *
 *   npx tsx bench/green-threads.ts [--duration 8] [--rounds 2] [--size 100] [--connections 10]
 *
 * Each server is started, warmed up with four short runs of new connections
 * (a green worker's JIT settles on a connection's start and end paths only
 * after a few), then measured over one run of `--duration` seconds. The CPU
 * of every thread of the server is read from /proc/<pid>/task/<tid>/stat
 * before and after, and reported per message, in three groups:
 * - the main thread (the hub, for green; Node's server, for the floor);
 * - Node's platform threads, the first five the process starts after its
 *   main thread (V8's pool of four, Node's default, and its delayed-task
 *   thread): garbage collection and optimizing compilation, for every
 *   isolate of the process;
 * - the other threads: the workers, one per connection, and the threads
 *   they bring.
 * Beside them: the p99 latency, and context switches per message from each
 * thread's /proc status: voluntary (a thread that waited: a wake-up each)
 * and involuntary (a thread preempted because more threads were runnable
 * than there are cores). Ratios are green against the floor, medians of
 * per-round ratios.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchSources, freePort, nodeServer, procStatFields, runClient, startServer, stopServer, type EchoServer } from './echo-harness.js';
import { compare, median, printTable, type BenchRow } from './table.js';


interface ThreadTimes {
  /** CPU ticks (user + system) by thread id. */
  readonly ticks: Map<number, number>;
  /** Start time (ticks since boot) by thread id. */
  readonly started: Map<number, number>;
  /** Context switches by thread id: [voluntary (it waited), involuntary (it was preempted)]. */
  readonly switches: Map<number, [number, number]>;
}

interface Split {
  msgsPerSec: number;
  total: number;
  main: number;
  platform: number;
  others: number;
  p99Us: number;
  /** Context switches per message, all threads: a thread that waits, a thread preempted. */
  waits: number;
  preemptions: number;
}

function threadTimes(pid: number): ThreadTimes {
  const ticks = new Map<number, number>();
  const started = new Map<number, number>();
  const switches = new Map<number, [number, number]>();
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    try {
      const fields = procStatFields(`/proc/${pid}/task/${tid}/stat`);
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const count = (name: string): number => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? 0);
      ticks.set(tid, Number(fields[11]) + Number(fields[12]));
      started.set(tid, Number(fields[19]));
      switches.set(tid, [count('voluntary_ctxt_switches'), count('nonvoluntary_ctxt_switches')]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return { ticks, started, switches };
}

/** Node's platform threads: V8's pool (4 by default) and the delayed-task scheduler, started right after the main thread. */
const PLATFORM_THREADS = 5;

/** Context switches per message, all threads, between two readings. */
function switchesPerMessage(before: ThreadTimes, after: ThreadTimes, msgs: number): { waits: number; preemptions: number } {
  let waits = 0;
  let preemptions = 0;
  for (const [tid, [voluntary, involuntary]] of after.switches) {
    const [voluntaryBefore, involuntaryBefore] = before.switches.get(tid) ?? [0, 0];
    waits += voluntary - voluntaryBefore;
    preemptions += involuntary - involuntaryBefore;
  }
  return { waits: waits / msgs, preemptions: preemptions / msgs };
}

/** CPU µs per message by group, between two readings. */
function split(pid: number, before: ThreadTimes, after: ThreadTimes, msgs: number): Pick<Split, 'total' | 'main' | 'platform' | 'others'> {
  const byStart = [...after.started].filter(([tid]) => tid !== pid).sort(([a, at], [b, bt]) => at - bt || a - b);
  const platform = new Set(byStart.slice(0, PLATFORM_THREADS).map(([tid]) => tid));
  const out = { total: 0, main: 0, platform: 0, others: 0 };
  for (const [tid, ticks] of after.ticks) {
    const micros = ((ticks - (before.ticks.get(tid) ?? 0)) * 1e6) / 100 / msgs; // USER_HZ is 100
    out.total += micros;
    if (tid === pid) out.main += micros;
    else if (platform.has(tid)) out.platform += micros;
    else out.others += micros;
  }
  return out;
}

async function measureSplit(server: EchoServer, connections: number, duration: number, size: number): Promise<Split> {
  const port = await freePort();
  const child = await startServer(server, port);
  try {
    for (let run = 0; run < 4; run++) await runClient(port, connections, 0.5, size);
    const pid = child.pid as number;
    const before = threadTimes(pid);
    const result = await runClient(port, connections, duration, size);
    const after = threadTimes(pid);
    return {
      msgsPerSec: result.msgsPerSec,
      p99Us: result.p99Us,
      ...split(pid, before, after, result.msgs),
      ...switchesPerMessage(before, after, result.msgs),
    };
  } finally {
    await stopServer(child);
  }
}

const UNITS: Record<keyof Split, string> = {
  msgsPerSec: 'msg/s',
  total: 'µs/msg',
  main: 'µs/msg',
  platform: 'µs/msg',
  others: 'µs/msg',
  p99Us: 'µs',
  waits: '/msg',
  preemptions: '/msg',
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '2' },
      size: { type: 'string', default: '100' },
      connections: { type: 'string', default: '10' },
    },
  });
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const size = Number(values.size);
  const connections = Number(values.connections);
  const green = nodeServer('echo-servers/green-echo.ts');
  const servers: EchoServer[] = [
    { name: 'greenloop-green', command: (port) => [green(port)[0], [...green(port)[1], String(connections)]], startTimeout: 60 + connections },
    { name: 'node-handoff', command: (port) => [process.execPath, [resolve(benchSources, 'echo-servers/node-handoff.mjs'), String(port), String(connections)]] },
  ];
  const results = new Map<string, Split[]>(servers.map((server) => [server.name, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const server of servers) {
      process.stderr.write(`round ${round}: ${server.name}\n`);
      results.get(server.name)?.push(await measureSplit(server, connections, duration, size));
    }
  }
  console.log(`\nCPU per message by thread, ${connections} connections, ${size} B, ${duration} s per run after a warm-up, ${rounds} rounds (medians)`);
  console.log('server            msgs/s  p99 µs  total µs  main µs  platform µs  others µs  waits/msg  preempted/msg');
  for (const [name, runs] of results) {
    const m = (key: keyof Split): number => median(runs.map((run) => run[key]));
    const cells = [
      Math.round(m('msgsPerSec')).toLocaleString('en-US').padStart(7),
      Math.round(m('p99Us')).toLocaleString('en-US').padStart(6),
      m('total').toFixed(1).padStart(8),
      m('main').toFixed(1).padStart(7),
      m('platform').toFixed(1).padStart(11),
      m('others').toFixed(1).padStart(9),
      m('waits').toFixed(2).padStart(9),
      m('preemptions').toFixed(2).padStart(13),
    ];
    console.log(`${name.padEnd(16)} ${cells.join('  ')}`);
  }
  const greenRuns = results.get('greenloop-green') ?? [];
  const floorRuns = results.get('node-handoff') ?? [];
  const row = (label: string, key: keyof Split, better: 'higher' | 'lower', goal: number): BenchRow =>
    compare({
      name: label,
      value: median(greenRuns.map((run) => run[key])),
      baseline: median(floorRuns.map((run) => run[key])),
      ratio: median(greenRuns.map((run, i) => run[key] / floorRuns[i][key])),
      unit: UNITS[key],
      better,
      goal,
    });
  console.log();
  printTable('green against its floor (node-handoff), same run', [
    row('msgs/s', 'msgsPerSec', 'higher', 1),
    row('CPU per message, all threads', 'total', 'lower', 1),
    row('CPU per message, main thread (hub)', 'main', 'lower', 1),
    row('CPU per message, the other threads (workers)', 'others', 'lower', 1),
    row('CPU per message, platform threads (GC, JIT)', 'platform', 'lower', 1),
    row('p99 latency', 'p99Us', 'lower', 1),
    row('threads waiting (woken) per message', 'waits', 'lower', 1),
  ]);
}

await main();
