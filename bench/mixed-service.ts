/**
 * The mixed service (examples/mixed) at each step of its migration against
 * the all-async step, in one run: throughput and p99 latency of the same
 * scripted client (8 connections, one request at a time each, every
 * reply checked), each step in its own process, rounds interleaving the
 * steps so a slow spell of the machine hits all of them alike.
 *
 *   npx tsx bench/mixed-service.ts [--duration 3] [--rounds 3] [--connections 8]
 *
 * Reported per step: requests/s, latency p50/p99, the server's CPU time
 * per request (from /proc), and errors (any is a failure); then ratios
 * against step2 (all async, bridge off), medians of per-round ratios.
 */
import { parseArgs } from 'node:util';
import { runClient, percentile } from '../examples/mixed/client.js';
import { startStep, STEPS, stopStep, type Step } from '../examples/mixed/steps.js';
import { cpuMicros } from './echo-harness.js';
import { compare, median, printTable, type BenchRow } from './table.js';

interface Run {
  requestsPerSec: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerRequest: number;
  errors: number;
}

const BASELINE = 'step2';

/** One measured run of `step`: start it, warm it up, load it for `duration` seconds, stop it. */
async function measure(step: Step, connections: number, duration: number): Promise<Run> {
  const running = await startStep(step, 0, 90);
  try {
    const warmup = await runClient(running.port, { connections, requests: 20, timeout: 90 });
    const cpuBefore = cpuMicros(running.child.pid as number);
    const stats = await runClient(running.port, { connections, requests: Number.MAX_SAFE_INTEGER, seconds: duration, timeout: 60 });
    const cpu = cpuMicros(running.child.pid as number) - cpuBefore;
    for (const message of [...warmup.errorMessages, ...stats.errorMessages]) process.stderr.write(`${step.name}: ${message}\n`);
    return {
      requestsPerSec: stats.served / stats.seconds,
      p50Us: percentile(stats.latenciesUs, 0.5),
      p99Us: percentile(stats.latenciesUs, 0.99),
      cpuUsPerRequest: cpu / Math.max(1, stats.served),
      errors: warmup.errors + stats.errors,
    };
  } finally {
    await stopStep(running);
  }
}

function absoluteTable(results: Map<string, Run[]>): string {
  const header = ['step', 'requests/s', 'p50 µs', 'p99 µs', 'cpu µs/req', 'errors'];
  const lines = [header];
  for (const step of STEPS) {
    const runs = results.get(step.name) ?? [];
    const pick = (key: keyof Run): number => median(runs.map((run) => run[key]));
    const errors = runs.reduce((sum, run) => sum + run.errors, 0);
    lines.push([step.name, Math.round(pick('requestsPerSec')).toLocaleString('en-US'), pick('p50Us').toFixed(0), pick('p99Us').toFixed(0), pick('cpuUsPerRequest').toFixed(0), String(errors)]);
  }
  const widths = header.map((_, column) => Math.max(...lines.map((line) => line[column].length)));
  return lines.map((line) => line.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ')).join('\n');
}

/** Throughput and p99 of each step against the all-async step, paired by round. */
function ratioRows(results: Map<string, Run[]>): BenchRow[] {
  const base = results.get(BASELINE) ?? [];
  const rows: BenchRow[] = [];
  for (const step of STEPS.filter((s) => s.name !== BASELINE)) {
    const runs = results.get(step.name) ?? [];
    const row = (label: string, key: 'requestsPerSec' | 'p99Us', goal: number): BenchRow =>
      compare({
        name: `${step.name} ${label} vs ${BASELINE}`,
        value: median(runs.map((run) => run[key])),
        baseline: median(base.map((run) => run[key])),
        ratio: median(runs.map((run, i) => run[key] / base[i][key])),
        unit: key === 'requestsPerSec' ? 'req/s' : 'µs',
        better: key === 'requestsPerSec' ? 'higher' : 'lower',
        goal,
      });
    rows.push(row('throughput', 'requestsPerSec', 0.5), row('p99', 'p99Us', 3));
  }
  return rows;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '8' },
    },
  });
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const results = new Map<string, Run[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const step of STEPS) {
      const run = await measure(step, connections, duration);
      results.set(step.name, [...(results.get(step.name) ?? []), run]);
      process.stderr.write(`round ${round} ${step.name}: ${Math.round(run.requestsPerSec)} req/s, p99 ${run.p99Us.toFixed(0)} µs, ${run.errors} errors\n`);
    }
  }
  console.log(`\nmixed service: ${connections} connections, ${duration} s per run, ${rounds} rounds (medians)`);
  for (const step of STEPS) console.log(`  ${step.name}: ${step.summary}`);
  console.log(`\n${absoluteTable(results)}\n`);
  printTable(`ratios against ${BASELINE} (all async, bridge off; median of per-round ratios)`, ratioRows(results));
  const errors = [...results.values()].flat().reduce((sum, run) => sum + run.errors, 0);
  return errors === 0 ? 0 : 1;
}

process.exitCode = await main();
