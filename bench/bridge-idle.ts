/**
 * "The bridge idle costs async code nothing": the async-only streams echo
 * server (bench/echo-servers/greenloop-streams.ts) in three programs, under the
 * same load client, rounds interleaved:
 *
 *   plain        imports greenloop/loop only
 *   green        also imports greenloop/green (its bridge on), never uses it
 *   bridge-off   imports greenloop/green with GREENLOOP_BRIDGE=off
 *
 * Loading green must not slow async code down: the ratios against `plain`
 * (messages/s and the server's CPU per message, from /proc, all threads
 * counted) should be 1 within the machine's noise.
 *
 *   npx tsx bench/bridge-idle.ts [--duration 3] [--rounds 3] [--connections 10] [--sizes 100] [--warmup 1]
 *
 * Each server is left to settle after it starts (its CPU time stops growing)
 * before any load, so the steady state is what is compared. What it spent
 * until then is shown apart, as startup CPU: that is where the one cost of
 * loading green by design shows, the worker it starts in the background so
 * that the first spawn finds it warm.
 */
import { parseArgs } from 'node:util';
import { formatAbsolute, nodeServer, ratioRow, runRounds, type EchoResults, type EchoServer } from './echo-harness.js';
import { median, printTable, type BenchRow } from './table.js';

const plain = nodeServer('echo-servers/greenloop-streams.ts');
const withGreen = nodeServer('echo-servers/greenloop-streams-green.ts');

const servers: EchoServer[] = [
  { name: 'plain', command: plain },
  { name: 'green', command: withGreen },
  { name: 'bridge-off', command: withGreen, env: { GREENLOOP_BRIDGE: 'off' } },
];

/** Within noise: a few percent either way on this 2-core machine. */
const GOALS: Record<'msgsPerSec' | 'cpuUsPerMsg', number> = { msgsPerSec: 0.95, cpuUsPerMsg: 1.05 };

function ratioRows(results: EchoResults, sizes: number[]): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const size of sizes) {
    for (const name of ['green', 'bridge-off']) {
      for (const key of ['msgsPerSec', 'cpuUsPerMsg'] as const) {
        const label = `${name} ${key === 'msgsPerSec' ? 'msgs/s' : 'cpu/msg'} vs plain`;
        const row = ratioRow(results, { label, name, baseline: 'plain', size, key, goal: GOALS[key] });
        if (row !== undefined) rows.push(row);
      }
    }
  }
  return rows;
}

/** Each server's median CPU time from its start until it settled. */
function formatStartup(results: EchoResults): string {
  const lines = servers.map((server) => {
    const runs = [...results].filter(([key]) => key.startsWith(`${server.name}/`)).flatMap(([, list]) => list);
    const startup = median(runs.map((run) => run.startupCpuMs ?? NaN));
    return `${server.name.padEnd(12)} ${startup.toFixed(0).padStart(6)} ms`;
  });
  return ['startup CPU until settled (median, all threads)', ...lines].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '10' },
      sizes: { type: 'string', default: '100' },
      warmup: { type: 'string', default: '1' },
    },
  });
  const load = { connections: Number(values.connections), duration: Number(values.duration), warmup: Number(values.warmup), settle: true };
  const sizes = String(values.sizes).split(',').map(Number);
  const rounds = Number(values.rounds);
  const results = await runRounds(servers, load, sizes, rounds);
  console.log(`\nbridge idle: ${load.connections} connections, ${load.duration} s per run (settled, then ${load.warmup} s of warm-up), ${rounds} rounds (medians)`);
  console.log(formatAbsolute(results, servers, sizes));
  console.log();
  console.log(formatStartup(results));
  console.log();
  printTable('ratios against plain (median of per-round ratios)', ratioRows(results, sizes));
}

await main();
