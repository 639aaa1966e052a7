/**
 * Echo benchmark: the same load client (bench/echo-client.mjs: N connections,
 * each sends a message and waits for its echo, for a fixed time) against echo
 * servers run one at a time, each in its own process:
 *
 *   node-raw           Node's net server, no abstraction (the baseline)
 *   node-async         Node's net server, each connection an async/await read
 *                      loop, no library: the floor for streams-style servers
 *   greenloop-proto    greenloop createServer + Protocol
 *   greenloop-streams  greenloop startServer + StreamReader/StreamWriter
 *   uvloop-streams     asyncio streams on uvloop   (when python3 has uvloop: the
 *   uvloop-proto       asyncio Protocol on uvloop   shared anchor server when it is
 *                      beside the repository, else bench/echo-servers/asyncio-echo.py)
 *
 * Reported per server and message size: messages/s, per-message latency
 * p50/p99, and the server's CPU time per message (read from /proc, so it holds
 * up when other processes compete for the 2 cores). Each server is left to
 * settle after it starts (its CPU time stops growing: tsx compiling, loading)
 * and warmed up with `--warmup` seconds of load before the measured run.
 * Rounds interleave the servers; ratios are medians of per-round ratios
 * against node-raw.
 *
 *   npx tsx bench/echo.ts [--duration 3] [--rounds 3] [--connections 10] [--warmup 1]
 *                         [--sizes 100,1024] [--servers node-raw,greenloop-proto,...]
 */
import { spawnSync } from 'node:child_process';
import { formatAbsolute, nodeServer, pythonServer, ratioRow, runRounds, type EchoResults, type EchoServer, type MeasuredKey } from './echo-harness.js';
import { printTable, type BenchRow } from './table.js';

const python = '/usr/bin/python3';

interface Options {
  duration: number;
  rounds: number;
  connections: number;
  warmup: number;
  sizes: number[];
  servers: string[] | null;
}

function serverSpecs(notes: string[]): EchoServer[] {
  const specs: EchoServer[] = [
    { name: 'node-raw', command: nodeServer('echo-servers/node-raw.mjs') },
    { name: 'node-async', command: nodeServer('echo-servers/node-async.mjs') },
    { name: 'greenloop-proto', command: nodeServer('echo-servers/greenloop-protocol.ts') },
    { name: 'greenloop-streams', command: nodeServer('echo-servers/greenloop-streams.ts') },
  ];
  const uvloop = spawnSync(python, ['-c', 'import uvloop'], { stdio: 'ignore' }).status === 0;
  if (!uvloop) notes.push(`uvloop servers skipped: ${python} -c 'import uvloop' failed`);
  else {
    const asyncio = pythonServer('echo_asyncio.py', 'asyncio-echo.py');
    if (asyncio.note !== null) notes.push(asyncio.note);
    specs.push({ name: 'uvloop-streams', command: (port) => [python, [asyncio.path, String(port), 'uvloop']] });
    specs.push({ name: 'uvloop-proto', command: (port) => [python, [asyncio.path, String(port), 'uvloop', 'proto']] });
  }
  return specs;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { duration: 3, rounds: 3, connections: 10, warmup: 1, sizes: [100, 1024], servers: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--duration') options.duration = Number(value);
    else if (flag === '--rounds') options.rounds = Number(value);
    else if (flag === '--connections') options.connections = Number(value);
    else if (flag === '--warmup') options.warmup = Number(value);
    else if (flag === '--sizes') options.sizes = value.split(',').map(Number);
    else if (flag === '--servers') options.servers = value.split(',');
    else throw new Error(`unknown option ${flag}`);
  }
  return options;
}

function comparisonRows(results: EchoResults, sizes: number[]): BenchRow[] {
  const rows: BenchRow[] = [];
  const row = (label: string, name: string, baseline: string, size: number, key: MeasuredKey, goal: number): void => {
    const compared = ratioRow(results, { label, name, baseline, size, key, goal });
    if (compared !== undefined) rows.push(compared);
  };
  for (const size of sizes) {
    row('protocol msgs/s vs node-raw', 'greenloop-proto', 'node-raw', size, 'msgsPerSec', 0.95);
    row('streams msgs/s vs node-raw', 'greenloop-streams', 'node-raw', size, 'msgsPerSec', 0.85);
    row('streams msgs/s vs uvloop streams', 'greenloop-streams', 'uvloop-streams', size, 'msgsPerSec', 1);
    // Not a goal of its own: how far streams are from an async/await echo with no library at all.
    row('streams msgs/s vs node-async floor (info)', 'greenloop-streams', 'node-async', size, 'msgsPerSec', 0.85);
    // CPU per message is what throughput would follow on an idle machine.
    row('protocol cpu/msg vs node-raw', 'greenloop-proto', 'node-raw', size, 'cpuUsPerMsg', 1.05);
    row('streams cpu/msg vs node-raw', 'greenloop-streams', 'node-raw', size, 'cpuUsPerMsg', 1.18);
  }
  return rows;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const notes: string[] = [];
  const specs = serverSpecs(notes).filter((spec) => options.servers === null || options.servers.includes(spec.name));
  const load = { connections: options.connections, duration: options.duration, warmup: options.warmup, settle: true };
  const results = await runRounds(specs, load, options.sizes, options.rounds);
  console.log(`\necho: ${options.connections} connections, ${options.duration} s per run (settled, ${options.warmup} s warm-up), ${options.rounds} rounds (medians)`);
  console.log(formatAbsolute(results, specs, options.sizes));
  console.log();
  printTable('ratios (median of per-round ratios)', comparisonRows(results, options.sizes));
  for (const note of notes) console.log(`note: ${note}`);
}

await main();
