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
 *   uvloop-streams     asyncio streams on uvloop  (when python3 has uvloop and
 *   uvloop-proto       asyncio Protocol on uvloop  ../shared/anchors/echo_asyncio.py exists)
 *
 * Reported per server and message size: messages/s, per-message latency
 * p50/p99, and the server's CPU time per message (read from /proc, so it holds
 * up when other processes compete for the 2 cores). Rounds interleave the
 * servers; ratios are medians of per-round ratios against node-raw.
 *
 *   npx tsx bench/echo.ts [--duration 3] [--rounds 3] [--connections 10]
 *                         [--sizes 100,1024] [--servers node-raw,greenloop-proto,...]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, median, printTable, type BenchRow } from './table.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const anchor = resolve(repo, '../shared/anchors/echo_asyncio.py');
const python = '/usr/bin/python3';

interface Options {
  duration: number;
  rounds: number;
  connections: number;
  sizes: number[];
  servers: string[] | null;
}

interface ServerSpec {
  name: string;
  command: (port: number) => [string, string[]];
}

interface Measurement {
  msgsPerSec: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerMsg: number;
}

const tsx = (file: string) => (port: number): [string, string[]] => [
  process.execPath,
  ['--import', 'tsx', resolve(here, 'echo-servers', file), String(port)],
];

function serverSpecs(notes: string[]): ServerSpec[] {
  const specs: ServerSpec[] = [
    { name: 'node-raw', command: (port) => [process.execPath, [resolve(here, 'echo-servers/node-raw.mjs'), String(port)]] },
    { name: 'node-async', command: (port) => [process.execPath, [resolve(here, 'echo-servers/node-async.mjs'), String(port)]] },
    { name: 'greenloop-proto', command: tsx('greenloop-protocol.ts') },
    { name: 'greenloop-streams', command: tsx('greenloop-streams.ts') },
  ];
  const uvloop = spawnSync(python, ['-c', 'import uvloop'], { stdio: 'ignore' }).status === 0;
  if (!uvloop) notes.push(`uvloop servers skipped: ${python} -c 'import uvloop' failed`);
  else if (!existsSync(anchor)) notes.push(`uvloop servers skipped: ${anchor} not found`);
  else {
    specs.push({ name: 'uvloop-streams', command: (port) => [python, [anchor, String(port), 'uvloop']] });
    specs.push({ name: 'uvloop-proto', command: (port) => [python, [anchor, String(port), 'uvloop', 'proto']] });
  }
  return specs;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { duration: 3, rounds: 3, connections: 10, sizes: [100, 1024], servers: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--duration') options.duration = Number(value);
    else if (flag === '--rounds') options.rounds = Number(value);
    else if (flag === '--connections') options.connections = Number(value);
    else if (flag === '--sizes') options.sizes = value.split(',').map(Number);
    else if (flag === '--servers') options.servers = value.split(',');
    else throw new Error(`unknown option ${flag}`);
  }
  return options;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

/** CPU time (user + system) of a process so far, in microseconds. */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

async function startServer(spec: ServerSpec, port: number): Promise<ChildProcess> {
  const [command, args] = spec.command(port);
  const child = spawn(command, args, { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`${spec.name} did not start within 15 s`)), 15_000);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) {
        clearTimeout(timer);
        ready();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${spec.name} exited with ${code} before it was ready`));
    });
  });
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await exited;
}

async function runClient(port: number, options: Options, size: number): Promise<Omit<Measurement, 'cpuUsPerMsg'> & { msgs: number }> {
  const args = [resolve(here, 'echo-client.mjs'), String(port), String(options.connections), String(options.duration), String(size)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`echo client exited with ${code}`);
  return JSON.parse(output.trim().split('\n').pop() as string);
}

async function measure(spec: ServerSpec, options: Options, size: number): Promise<Measurement> {
  const port = await freePort();
  const server = await startServer(spec, port);
  try {
    const cpuBefore = cpuMicros(server.pid as number);
    const result = await runClient(port, options, size);
    const cpuUsed = cpuMicros(server.pid as number) - cpuBefore;
    return { msgsPerSec: result.msgsPerSec, p50Us: result.p50Us, p99Us: result.p99Us, cpuUsPerMsg: cpuUsed / result.msgs };
  } finally {
    await stopServer(server);
  }
}

function formatAbsolute(results: Map<string, Measurement[]>, specs: ServerSpec[], sizes: number[]): string {
  const header = ['server', 'size', 'msgs/s', 'p50 µs', 'p99 µs', 'cpu µs/msg'];
  const lines = [header];
  for (const size of sizes) {
    for (const spec of specs) {
      const runs = results.get(`${spec.name}/${size}`) ?? [];
      if (runs.length === 0) continue;
      const pick = (key: keyof Measurement) => median(runs.map((run) => run[key]));
      lines.push([
        spec.name,
        `${size} B`,
        Math.round(pick('msgsPerSec')).toLocaleString('en-US'),
        pick('p50Us').toFixed(0),
        pick('p99Us').toFixed(0),
        pick('cpuUsPerMsg').toFixed(1),
      ]);
    }
  }
  const widths = header.map((_, column) => Math.max(...lines.map((line) => line[column].length)));
  return lines.map((line) => line.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ')).join('\n');
}

/** Median of per-round ratios of `key` between two servers. */
function pairedRatio(results: Map<string, Measurement[]>, name: string, baseline: string, size: number, key: keyof Measurement): number {
  const ours = results.get(`${name}/${size}`) ?? [];
  const base = results.get(`${baseline}/${size}`) ?? [];
  const ratios = ours.map((run, i) => run[key] / base[i][key]).filter(Number.isFinite);
  return median(ratios);
}

function comparisonRows(results: Map<string, Measurement[]>, sizes: number[]): BenchRow[] {
  const rows: BenchRow[] = [];
  const row = (label: string, name: string, baseline: string, size: number, key: keyof Measurement, goal: number) => {
    const ours = results.get(`${name}/${size}`);
    const base = results.get(`${baseline}/${size}`);
    if (ours === undefined || base === undefined) return;
    const better = key === 'msgsPerSec' ? 'higher' : 'lower';
    const unit = key === 'msgsPerSec' ? 'msg/s' : 'µs/msg';
    rows.push(
      compare({
        name: `${label} (${size} B)`,
        value: median(ours.map((run) => run[key])),
        baseline: median(base.map((run) => run[key])),
        ratio: pairedRatio(results, name, baseline, size, key),
        unit,
        better,
        goal,
      }),
    );
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
  const results = new Map<string, Measurement[]>();
  for (let round = 0; round < options.rounds; round++) {
    for (const size of options.sizes) {
      for (const spec of specs) {
        const result = await measure(spec, options, size);
        const key = `${spec.name}/${size}`;
        results.set(key, [...(results.get(key) ?? []), result]);
        process.stderr.write(`round ${round + 1} ${key}: ${Math.round(result.msgsPerSec)} msg/s, cpu ${result.cpuUsPerMsg.toFixed(1)} µs/msg\n`);
      }
    }
  }
  console.log(`\necho: ${options.connections} connections, ${options.duration} s per run, ${options.rounds} rounds (medians)`);
  console.log(formatAbsolute(results, specs, options.sizes));
  console.log();
  printTable('ratios (median of per-round ratios)', comparisonRows(results, options.sizes));
  for (const note of notes) console.log(`note: ${note}`);
}

await main();
