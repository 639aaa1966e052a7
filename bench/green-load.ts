/**
 * Green servers under other loads than bench/green-echo.ts's 10 connections:
 * many connections (100 and 1,000 by default: a green thread, so a worker,
 * each), and an HTTP-style request/response (a line-based request, a reply
 * of a few KiB, keep-alive). The green server runs against Node's raw net
 * server and eventlet's, each in its own process, under the same load client
 * (bench/echo-client.mjs).
 *
 *   npx tsx bench/green-load.ts [--duration 3] [--rounds 2] [--connections 100,1000]
 *     [--http-connections 10,100] [--body 4096] [--rss-budget-gb 6]
 *
 * Echo runs use 100-byte messages (bench/echo-servers/green-echo.ts and its
 * peers); HTTP runs use bench/echo-servers/*-http.* with `--body` bytes of
 * reply body. A green server starts a warm worker per connection before it
 * is ready (the table gives how long that took: about half a second of CPU
 * per worker under tsx); each run is warmed up first, then paused
 * while the warm-up's connections end (their green threads give their
 * workers back to the warm pool), and reports
 * messages/s, p50/p99 latency, the server's CPU per message (/proc) and its
 * peak RSS. A server whose RSS goes past `--rss-budget-gb` is stopped and
 * its run reported as failed, with the RSS it had reached: a green server
 * cannot always hold as many threads as eventlet holds greenlets, and the
 * table says so instead of taking the machine down. Rounds interleave the
 * servers; ratios are medians of per-round ratios.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchSources, formatAbsolute, measure, nodeServer, pythonServer, ratioRow, type EchoLoad, type EchoResults, type EchoServer } from './echo-harness.js';
import { printTable, type BenchRow } from './table.js';

const python = '/usr/bin/python3';
const eventletEcho = pythonServer('echo_eventlet.py', 'eventlet-echo.py');
const eventletHttp = resolve(benchSources, 'echo-servers/eventlet-http.py');
const GREEN = 'greenloop-green';
const ECHO_SIZE = 100;

/** One load: a shape, a connection count, and the servers that take it. */
interface Scenario {
  readonly title: string;
  readonly size: number;
  readonly load: EchoLoad;
  readonly servers: EchoServer[];
}

interface Options {
  duration: number;
  rounds: number;
  connections: number[];
  httpConnections: number[];
  body: number;
  rssBudgetMb: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '2' },
      connections: { type: 'string', default: '100,1000' },
      'http-connections': { type: 'string', default: '10,100' },
      body: { type: 'string', default: '4096' },
      'rss-budget-gb': { type: 'string', default: '6' },
    },
  });
  const list = (text: string | undefined): number[] => String(text).split(',').filter(Boolean).map(Number);
  return {
    duration: Number(values.duration),
    rounds: Number(values.rounds),
    connections: list(values.connections),
    httpConnections: list(values['http-connections']),
    body: Number(values.body),
    rssBudgetMb: Number(values['rss-budget-gb']) * 1024,
  };
}

function eventletAvailable(notes: string[]): boolean {
  if (spawnSync(python, ['-c', 'import eventlet'], { stdio: 'ignore' }).status === 0) return true;
  notes.push(`eventlet skipped: ${python} -c 'import eventlet' failed`);
  return false;
}

/** Extra arguments after the port. */
function withArgs(command: EchoServer['command'], extra: readonly (string | number)[]): EchoServer['command'] {
  return (port) => {
    const [file, args] = command(port);
    return [file, [...args, ...extra.map(String)]];
  };
}

/**
 * Seconds a green server may take to start a warm worker per connection
 * (a cold one takes about half a second of CPU under tsx, more on a busy machine).
 */
function greenStartTimeout(connections: number): number {
  return 60 + 3 * connections;
}

function echoServers(withEventlet: boolean, connections: number): EchoServer[] {
  const list: EchoServer[] = [
    { name: 'node-raw', command: nodeServer('echo-servers/node-raw.mjs') },
    {
      name: GREEN,
      command: withArgs(nodeServer('echo-servers/green-echo.ts'), [connections]),
      startTimeout: greenStartTimeout(connections),
    },
  ];
  if (withEventlet) list.push({ name: 'eventlet', command: (port) => [python, [eventletEcho.path, String(port)]] });
  return list;
}

function httpServers(withEventlet: boolean, body: number, connections: number): EchoServer[] {
  const list: EchoServer[] = [
    { name: 'node-raw', command: withArgs(nodeServer('echo-servers/node-raw-http.mjs'), [body]) },
    {
      name: GREEN,
      command: withArgs(nodeServer('echo-servers/green-http.ts'), [body, connections]),
      startTimeout: greenStartTimeout(connections),
    },
  ];
  if (withEventlet) list.push({ name: 'eventlet', command: (port) => [python, [eventletHttp, String(port), String(body)]] });
  return list;
}

function scenarios(opts: Options, notes: string[]): Scenario[] {
  const withEventlet = eventletAvailable(notes);
  if (withEventlet && eventletEcho.note !== null) notes.push(eventletEcho.note);
  // The warm-up in four runs of new connections, as in green-echo.ts: the green workers' JIT settles.
  const common = { duration: opts.duration, warmup: Math.min(2, opts.duration), warmupRuns: 4, rssBudgetMb: opts.rssBudgetMb };
  // The warm-up's green threads must end (and give their workers back) before the measured run.
  const pause = (connections: number): number => 1 + connections / 200;
  return [
    ...opts.connections.map((connections) => ({
      title: `echo ${ECHO_SIZE} B, ${connections} connections`,
      size: ECHO_SIZE,
      load: { ...common, connections, pause: pause(connections) },
      servers: echoServers(withEventlet, connections),
    })),
    ...opts.httpConnections.map((connections) => ({
      title: `HTTP-style request/response (${opts.body} B body), ${connections} connections`,
      size: opts.body,
      load: { ...common, connections, pause: pause(connections), shape: 'http' as const },
      servers: httpServers(withEventlet, opts.body, connections),
    })),
  ];
}

/** Runs every scenario's servers, rounds interleaved; a server that fails a scenario is not run in it again. */
async function runAll(list: readonly Scenario[], rounds: number, notes: string[]): Promise<EchoResults[]> {
  const results = list.map((): EchoResults => new Map());
  const failed = new Set<string>();
  for (let round = 1; round <= rounds; round++) {
    for (const [index, scenario] of list.entries()) {
      for (const server of scenario.servers) {
        const key = `${server.name}/${scenario.size}`;
        if (failed.has(`${index}/${key}`)) continue;
        try {
          const run = await measure(server, scenario.load, scenario.size);
          results[index].set(key, [...(results[index].get(key) ?? []), run]);
          process.stderr.write(`round ${round} ${scenario.title} ${server.name}: ${Math.round(run.msgsPerSec)} msg/s, ` +
            `cpu ${run.cpuUsPerMsg.toFixed(1)} µs/msg, peak RSS ${Math.round(run.peakRssMb)} MiB\n`);
        } catch (error) {
          failed.add(`${index}/${key}`);
          notes.push(`${scenario.title}: ${server.name} failed in round ${round}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
  }
  return results;
}

function ratioRows(results: EchoResults, size: number, label: string): BenchRow[] {
  const rows: (BenchRow | undefined)[] = [
    ratioRow(results, { label: `${label}: green msgs/s vs eventlet`, name: GREEN, baseline: 'eventlet', size, key: 'msgsPerSec', goal: 1 }),
    ratioRow(results, { label: `${label}: green msgs/s vs node-raw`, name: GREEN, baseline: 'node-raw', size, key: 'msgsPerSec', goal: 0.5 }),
    ratioRow(results, { label: `${label}: green cpu/msg vs eventlet`, name: GREEN, baseline: 'eventlet', size, key: 'cpuUsPerMsg', goal: 2 }),
    ratioRow(results, { label: `${label}: green p99 vs eventlet`, name: GREEN, baseline: 'eventlet', size, key: 'p99Us', goal: 2 }),
  ];
  return rows.filter((row): row is BenchRow => row !== undefined);
}

async function main(): Promise<void> {
  const opts = options();
  const notes: string[] = [];
  const list = scenarios(opts, notes);
  const results = await runAll(list, opts.rounds, notes);
  console.log(`\ngreen under load: ${opts.duration} s per run, ${opts.rounds} rounds (medians)`);
  const rows: BenchRow[] = [];
  for (const [index, scenario] of list.entries()) {
    console.log(`\n${scenario.title}`);
    console.log(formatAbsolute(results[index], scenario.servers, [scenario.size]));
    const label = scenario.load.shape === 'http' ? `http ${scenario.load.connections} conns` : `echo ${scenario.load.connections} conns`;
    rows.push(...ratioRows(results[index], scenario.size, label));
  }
  console.log();
  printTable('ratios (median of per-round ratios)', rows);
  for (const note of notes) console.log(`note: ${note}`);
}

await main();
