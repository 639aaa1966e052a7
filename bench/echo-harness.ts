/**
 * What the echo benchmarks share: run an echo server in its own process, put
 * the load client (bench/echo-client.mjs) against it, read the server's CPU
 * time from /proc, interleave servers over rounds, and print the results.
 *
 *     const servers = [{ name: 'node-raw', command: nodeServer('echo-servers/node-raw.mjs') }];
 *     const results = await runRounds(servers, { connections: 10, duration: 3 }, [100], 3);
 *     console.log(formatAbsolute(results, servers, [100]));
 *     const row = ratioRow(results, { label: '...', name: 'a', baseline: 'b', size: 100, key: 'msgsPerSec', goal: 1 });
 *
 * Every server is expected to listen on 127.0.0.1 at the port given as its
 * first argument and to print `ready` on stdout once it accepts connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, median, type BenchRow } from './table.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');

/** How long a server may take to print `ready` (tsx compiles on start; worker threads start too). */
const startTimeoutMs = 30_000;

/** An echo server the benchmark can start: its name in the tables, and how to run it on a port. */
export interface EchoServer {
  readonly name: string;
  /** The executable and its arguments for a server listening on `port`. */
  readonly command: (port: number) => [string, string[]];
  /** Environment variables set for the server on top of the benchmark's own. */
  readonly env?: Readonly<Record<string, string>>;
}

/** The load the client puts on a server. */
export interface EchoLoad {
  /** Concurrent connections, each sending one message and waiting for its echo. */
  readonly connections: number;
  /** Seconds the measured run lasts. */
  readonly duration: number;
  /** Seconds of load before the measured run (JIT, connections, workers' first messages); 0 for none. */
  readonly warmup?: number;
  /**
   * Wait, before any load, until the server has finished starting: its CPU
   * time stops growing (compiling, loading, a worker it starts in the
   * background). The CPU it spent until then is reported as `startupCpuMs`.
   */
  readonly settle?: boolean;
}

/** One run of one server at one message size. */
export interface Measurement {
  msgsPerSec: number;
  p50Us: number;
  p99Us: number;
  /** The server's CPU time (user + system) per echoed message, in microseconds. */
  cpuUsPerMsg: number;
  /** With `settle`: the server's CPU time from its start until it settled, in milliseconds. */
  startupCpuMs?: number;
}

/** What every run measures, the keys tables and ratios compare. */
export type MeasuredKey = Exclude<keyof Measurement, 'startupCpuMs'>;

/** Runs of each server and size, keyed `${server}/${size}`, in round order (so rounds pair up). */
export type EchoResults = Map<string, Measurement[]>;

/** What the load client prints as its last line. */
interface ClientResult {
  msgs: number;
  msgsPerSec: number;
  p50Us: number;
  p99Us: number;
}

/** The command of a server written as a Node script in bench/, `.mjs` run as is, `.ts` through tsx. */
export function nodeServer(file: string): EchoServer['command'] {
  const path = resolve(here, file);
  const loader = file.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return (port) => [process.execPath, [...loader, path, String(port)]];
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

/**
 * CPU time (user + system, all threads) of a process so far, in microseconds.
 * Read from /proc rather than timed from outside, so it holds up when other
 * processes compete for the cores.
 */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: the fields start after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

/** Starts `server` on `port` and resolves once it prints `ready`; rejects if it exits or takes too long. */
export async function startServer(server: EchoServer, port: number): Promise<ChildProcess> {
  const [command, args] = server.command(port);
  const env = server.env === undefined ? process.env : { ...process.env, ...server.env };
  const child = spawn(command, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`${server.name} did not start within ${startTimeoutMs / 1000} s`)), startTimeoutMs);
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

/**
 * Stops a server and resolves once it has exited. SIGKILL, because a server
 * has nothing to save and must not linger into the next server's run (a
 * server busy in worker threads may be slow to act on SIGTERM).
 */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGKILL');
  await exited;
}

/** How long the CPU time of a settling server is watched at a time, and how little growth counts as idle. */
const SETTLE_WINDOW_MS = 500;
const SETTLED_CPU_MS = 10;
const SETTLE_LIMIT_MS = 30_000;

/**
 * Resolves once process `pid` is idle (under SETTLED_CPU_MS of CPU in a
 * SETTLE_WINDOW_MS window, or SETTLE_LIMIT_MS passed), to its CPU time so far in ms.
 */
export async function settled(pid: number): Promise<number> {
  const deadline = performance.now() + SETTLE_LIMIT_MS;
  let before = cpuMicros(pid);
  for (;;) {
    await new Promise((done) => setTimeout(done, SETTLE_WINDOW_MS));
    const now = cpuMicros(pid);
    if (now - before < SETTLED_CPU_MS * 1000 || performance.now() > deadline) return now / 1000;
    before = now;
  }
}

/** Runs the load client against `port` for `duration` seconds with `size`-byte messages. */
export async function runClient(port: number, connections: number, duration: number, size: number): Promise<ClientResult> {
  const args = [resolve(here, 'echo-client.mjs'), String(port), String(connections), String(duration), String(size)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`echo client exited with ${code}`);
  return JSON.parse(output.trim().split('\n').pop() as string) as ClientResult;
}

/** Starts `server`, warms it up if asked, measures one run of `load` at `size` bytes, and stops it. */
export async function measure(server: EchoServer, load: EchoLoad, size: number): Promise<Measurement> {
  const port = await freePort();
  const child = await startServer(server, port);
  try {
    const startupCpuMs = load.settle === true ? await settled(child.pid as number) : undefined;
    const warmup = load.warmup ?? 0;
    if (warmup > 0) await runClient(port, load.connections, warmup, size);
    const cpuBefore = cpuMicros(child.pid as number);
    const result = await runClient(port, load.connections, load.duration, size);
    const cpuUsed = cpuMicros(child.pid as number) - cpuBefore;
    const measured = { msgsPerSec: result.msgsPerSec, p50Us: result.p50Us, p99Us: result.p99Us, cpuUsPerMsg: cpuUsed / result.msgs };
    return startupCpuMs === undefined ? measured : { ...measured, startupCpuMs };
  } finally {
    await stopServer(child);
  }
}

/**
 * Measures every server at every size, `rounds` times. Rounds interleave the
 * servers, so a slow spell of the machine hits all of them alike and the
 * per-round ratios stay fair. Progress goes to stderr.
 */
export async function runRounds(servers: readonly EchoServer[], load: EchoLoad, sizes: readonly number[], rounds: number): Promise<EchoResults> {
  const results: EchoResults = new Map();
  for (let round = 1; round <= rounds; round++) {
    for (const size of sizes) {
      for (const server of servers) {
        const result = await measure(server, load, size);
        const key = `${server.name}/${size}`;
        results.set(key, [...(results.get(key) ?? []), result]);
        process.stderr.write(`round ${round} ${key}: ${Math.round(result.msgsPerSec)} msg/s, cpu ${result.cpuUsPerMsg.toFixed(1)} µs/msg\n`);
      }
    }
  }
  return results;
}

/** The table of medians per server and size: msgs/s, latency p50/p99, CPU per message. */
export function formatAbsolute(results: EchoResults, servers: readonly EchoServer[], sizes: readonly number[]): string {
  const header = ['server', 'size', 'msgs/s', 'p50 µs', 'p99 µs', 'cpu µs/msg'];
  const lines = [header];
  for (const size of sizes) {
    for (const server of servers) {
      const runs = results.get(`${server.name}/${size}`) ?? [];
      if (runs.length === 0) continue;
      const pick = (key: MeasuredKey): number => median(runs.map((run) => run[key]));
      lines.push([
        server.name,
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

/** One ratio row: server `name` against server `baseline` at one size. */
export interface RatioSpec {
  /** The row's label; ` (${size} B)` is appended. */
  readonly label: string;
  readonly name: string;
  readonly baseline: string;
  readonly size: number;
  /** msgsPerSec is better higher; latencies and CPU per message are better lower. */
  readonly key: MeasuredKey;
  readonly goal: number;
}

/**
 * The row comparing two servers: medians of each, and the median of the
 * per-round ratios (paired by round). Undefined when either server has no runs
 * at that size (skipped, or filtered out).
 */
export function ratioRow(results: EchoResults, spec: RatioSpec): BenchRow | undefined {
  const ours = results.get(`${spec.name}/${spec.size}`);
  const base = results.get(`${spec.baseline}/${spec.size}`);
  if (ours === undefined || base === undefined) return undefined;
  const ratios = ours.map((run, i) => run[spec.key] / base[i][spec.key]).filter(Number.isFinite);
  const higher = spec.key === 'msgsPerSec';
  return compare({
    name: `${spec.label} (${spec.size} B)`,
    value: median(ours.map((run) => run[spec.key])),
    baseline: median(base.map((run) => run[spec.key])),
    ratio: median(ratios),
    unit: higher ? 'msg/s' : 'µs/msg',
    better: higher ? 'higher' : 'lower',
    goal: spec.goal,
  });
}
