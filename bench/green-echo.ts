/**
 * Green echo benchmark: the green echo server (bench/echo-servers/green-echo.ts:
 * listen + serve, a green thread per connection, recv(65536)/sendall, the
 * shape of eventlet's echo_eventlet.py) against Node's raw net server and
 * eventlet's own server, each in its own process, under the same load client
 * (bench/echo-client.mjs: N connections, each sends a message and waits for
 * its echo, for a fixed time).
 *
 *   npx tsx bench/green-echo.ts [--duration 3] [--rounds 3] [--connections 10] [--sizes 100,1024]
 *
 * Reported per server and size: messages/s, latency p50/p99, the
 * server's CPU time per message (from /proc: it holds up when other
 * processes compete for the cores), its peak RSS and how long it took to
 * be ready. bench/green-load.ts runs 100 and 1,000 connections and an
 * HTTP-style request/response.
 *
 * node-handoff (bench/echo-servers/node-handoff.mjs) is the green design
 * without greenloop: Node's net server handing each connection's data to a
 * worker thread of its own and back, with the same two thread wake-ups per
 * echo (Atomics.wait in the worker, a waitAsync doorbell on the main
 * thread). Green against it is greenloop's own cost; it against eventlet is
 * what the design costs on this machine. Rounds interleave the servers; ratios
 * are medians of per-round ratios. eventlet runs when
 * `/usr/bin/python3 -c 'import eventlet'` works: the shared anchor server
 * when it is beside the repository, else bench/echo-servers/eventlet-echo.py.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchSources, formatAbsolute, nodeServer, pythonServer, ratioRow, runRounds, type EchoResults, type EchoServer, type MeasuredKey } from './echo-harness.js';
import { printTable, type BenchRow } from './table.js';

const python = '/usr/bin/python3';

function servers(notes: string[], connections: number): EchoServer[] {
  const green = nodeServer('echo-servers/green-echo.ts');
  const list: EchoServer[] = [
    { name: 'node-raw', command: nodeServer('echo-servers/node-raw.mjs') },
    // It starts a warm worker per connection before it is ready.
    { name: 'greenloop-green', command: (port) => [green(port)[0], [...green(port)[1], String(connections)]], startTimeout: 60 + connections },
    // The design's floor: the same two thread wake-ups per echo, without greenloop.
    { name: 'node-handoff', command: (port) => [process.execPath, [resolve(benchSources, 'echo-servers/node-handoff.mjs'), String(port), String(connections)]] },
  ];
  if (spawnSync(python, ['-c', 'import eventlet'], { stdio: 'ignore' }).status !== 0) {
    notes.push(`eventlet skipped: ${python} -c 'import eventlet' failed`);
  } else {
    const eventlet = pythonServer('echo_eventlet.py', 'eventlet-echo.py');
    if (eventlet.note !== null) notes.push(eventlet.note);
    list.push({ name: 'eventlet', command: (port) => [python, [eventlet.path, String(port)]] });
  }
  return list;
}

function ratioRows(results: EchoResults, sizes: number[]): BenchRow[] {
  const rows: BenchRow[] = [];
  const row = (label: string, baseline: string, size: number, key: MeasuredKey, goal: number): void => {
    const compared = ratioRow(results, { label, name: 'greenloop-green', baseline, size, key, goal });
    if (compared !== undefined) rows.push(compared);
  };
  const floor = (label: string, baseline: string, size: number, key: MeasuredKey, goal: number): void => {
    const compared = ratioRow(results, { label, name: 'node-handoff', baseline, size, key, goal });
    if (compared !== undefined) rows.push(compared);
  };
  for (const size of sizes) {
    row('green msgs/s vs eventlet', 'eventlet', size, 'msgsPerSec', 1);
    row('green msgs/s vs node-raw', 'node-raw', size, 'msgsPerSec', 0.5);
    row('green cpu/msg vs eventlet', 'eventlet', size, 'cpuUsPerMsg', 2);
    row('green p99 vs eventlet', 'eventlet', size, 'p99Us', 2);
    row('green msgs/s vs its floor (node-handoff)', 'node-handoff', size, 'msgsPerSec', 1);
    floor('floor (node-handoff) msgs/s vs eventlet', 'eventlet', size, 'msgsPerSec', 1);
    floor('floor (node-handoff) cpu/msg vs eventlet', 'eventlet', size, 'cpuUsPerMsg', 2);
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '10' },
      sizes: { type: 'string', default: '100,1024' },
    },
  });
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const sizes = String(values.sizes).split(',').map(Number);
  const notes: string[] = [];
  const list = servers(notes, connections);
  // A warm-up before each measured run, in four runs of new connections (the same for every
  // server): the green workers' JIT sees the paths of a connection's start and end settle.
  const results = await runRounds(list, { connections, duration, warmup: Math.min(2, duration), warmupRuns: 4 }, sizes, rounds);
  console.log(`\ngreen echo: ${connections} connections, ${duration} s per run, ${rounds} rounds (medians)`);
  console.log(formatAbsolute(results, list, sizes));
  console.log();
  printTable('ratios (median of per-round ratios)', ratioRows(results, sizes));
  for (const note of notes) console.log(`note: ${note}`);
}

await main();
