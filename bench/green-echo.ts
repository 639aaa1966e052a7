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
 * Reported per server and size: messages/s, latency p50/p99, and the
 * server's CPU time per message (from /proc: it holds up when other
 * processes compete for the cores). Rounds interleave the servers; ratios
 * are medians of per-round ratios. eventlet runs when
 * `/usr/bin/python3 -c 'import eventlet'` works.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compare, median, printTable, type BenchRow } from './table.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const anchor = resolve(repo, '../shared/anchors/echo_eventlet.py');
const python = '/usr/bin/python3';

interface Server {
  readonly name: string;
  readonly command: (port: number) => [string, string[]];
}

interface Measurement {
  msgsPerSec: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerMsg: number;
}

function servers(notes: string[]): Server[] {
  const list: Server[] = [
    { name: 'node-raw', command: (port) => [process.execPath, [resolve(here, 'echo-servers/node-raw.mjs'), String(port)]] },
    {
      name: 'greenloop-green',
      command: (port) => [process.execPath, ['--import', 'tsx', resolve(here, 'echo-servers/green-echo.ts'), String(port)]],
    },
  ];
  if (spawnSync(python, ['-c', 'import eventlet'], { stdio: 'ignore' }).status !== 0) {
    notes.push(`eventlet skipped: ${python} -c 'import eventlet' failed`);
  } else if (!existsSync(anchor)) {
    notes.push(`eventlet skipped: ${anchor} not found`);
  } else {
    list.push({ name: 'eventlet', command: (port) => [python, [anchor, String(port)]] });
  }
  return list;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

/** CPU time (user + system) of a process and its threads so far, in microseconds. */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, USER_HZ 100
}

async function start(server: Server, port: number): Promise<ChildProcess> {
  const [command, args] = server.command(port);
  const child = spawn(command, args, { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`${server.name} did not start within 30 s`)), 30_000);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('ready')) return;
      clearTimeout(timer);
      ready();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${server.name} exited with ${code} before it was ready`));
    });
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGKILL');
  await exited;
}

async function load(port: number, connections: number, duration: number, size: number): Promise<{ msgs: number; msgsPerSec: number; p50Us: number; p99Us: number }> {
  const args = [resolve(here, 'echo-client.mjs'), String(port), String(connections), String(duration), String(size)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`echo client exited with ${code}`);
  return JSON.parse(output.trim().split('\n').pop() as string);
}

async function measure(server: Server, connections: number, duration: number, size: number): Promise<Measurement> {
  const port = await freePort();
  const child = await start(server, port);
  try {
    // A short warm-up: connections, JIT, and the green workers' first messages.
    await load(port, connections, Math.min(1, duration), size);
    const before = cpuMicros(child.pid as number);
    const result = await load(port, connections, duration, size);
    const cpu = cpuMicros(child.pid as number) - before;
    return { msgsPerSec: result.msgsPerSec, p50Us: result.p50Us, p99Us: result.p99Us, cpuUsPerMsg: cpu / result.msgs };
  } finally {
    await stop(child);
  }
}

function absoluteTable(results: Map<string, Measurement[]>, list: Server[], sizes: number[]): string {
  const lines = [['server', 'size', 'msgs/s', 'p50 µs', 'p99 µs', 'cpu µs/msg']];
  for (const size of sizes) {
    for (const server of list) {
      const runs = results.get(`${server.name}/${size}`) ?? [];
      if (runs.length === 0) continue;
      const pick = (key: keyof Measurement): number => median(runs.map((run) => run[key]));
      lines.push([server.name, `${size} B`, Math.round(pick('msgsPerSec')).toLocaleString('en-US'), pick('p50Us').toFixed(0), pick('p99Us').toFixed(0), pick('cpuUsPerMsg').toFixed(1)]);
    }
  }
  const widths = lines[0].map((_, column) => Math.max(...lines.map((line) => line[column].length)));
  return lines.map((line) => line.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ')).join('\n');
}

function ratioRows(results: Map<string, Measurement[]>, sizes: number[]): BenchRow[] {
  const rows: BenchRow[] = [];
  const row = (label: string, baseline: string, size: number, key: keyof Measurement, goal: number): void => {
    const ours = results.get(`greenloop-green/${size}`);
    const base = results.get(`${baseline}/${size}`);
    if (ours === undefined || base === undefined) return;
    const ratios = ours.map((run, i) => run[key] / base[i][key]).filter(Number.isFinite);
    const higher = key === 'msgsPerSec';
    rows.push(
      compare({
        name: `${label} (${size} B)`,
        value: median(ours.map((run) => run[key])),
        baseline: median(base.map((run) => run[key])),
        ratio: median(ratios),
        unit: higher ? 'msg/s' : 'µs/msg',
        better: higher ? 'higher' : 'lower',
        goal,
      }),
    );
  };
  for (const size of sizes) {
    row('green msgs/s vs eventlet', 'eventlet', size, 'msgsPerSec', 1);
    row('green msgs/s vs node-raw', 'node-raw', size, 'msgsPerSec', 0.5);
    row('green cpu/msg vs eventlet', 'eventlet', size, 'cpuUsPerMsg', 1);
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
  const list = servers(notes);
  const results = new Map<string, Measurement[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const size of sizes) {
      for (const server of list) {
        const result = await measure(server, connections, duration, size);
        const key = `${server.name}/${size}`;
        results.set(key, [...(results.get(key) ?? []), result]);
        process.stderr.write(`round ${round} ${key}: ${Math.round(result.msgsPerSec)} msg/s, cpu ${result.cpuUsPerMsg.toFixed(1)} µs/msg\n`);
      }
    }
  }
  console.log(`\ngreen echo: ${connections} connections, ${duration} s per run, ${rounds} rounds (medians)`);
  console.log(absoluteTable(results, list, sizes));
  console.log();
  printTable('ratios (median of per-round ratios)', ratioRows(results, sizes));
  for (const note of notes) console.log(`note: ${note}`);
}

await main();
