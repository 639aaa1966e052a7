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
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, median, type BenchRow } from './table.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Whether the benchmarks run compiled (`npm run bench:compiled`: build/bench/bench), not under tsx. */
const compiled = import.meta.url.endsWith('.js');
/** bench/ in the repository: its `.mjs` servers and data files, which are not compiled. */
export const benchSources = compiled ? resolve(here, '../../../bench') : here;
/** The repository root (the servers' working directory), also when run compiled from build/bench. */
const repo = resolve(benchSources, '..');

/** How long a server may take to print `ready` (tsx compiles on start; worker threads start too). */
const startTimeoutMs = 30_000;

/** An echo server the benchmark can start: its name in the tables, and how to run it on a port. */
export interface EchoServer {
  readonly name: string;
  /** The executable and its arguments for a server listening on `port`. */
  readonly command: (port: number) => [string, string[]];
  /** Environment variables set for the server on top of the benchmark's own. */
  readonly env?: Readonly<Record<string, string>>;
  /** Seconds it may take to print `ready` (default 30): a green server starting many workers takes longer. */
  readonly startTimeout?: number;
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
   * How many client runs the warm-up is split into, each with new
   * connections (1 by default). A green server compiles its per-message code
   * in every worker, and a connection's first messages take new paths
   * through it: a few rounds of new connections reach the steady state
   * that one long run of the same connections does not.
   */
  readonly warmupRuns?: number;
  /**
   * Wait, before any load, until the server has finished starting: its CPU
   * time stops growing (compiling, loading, a worker it starts in the
   * background). The CPU it spent until then is reported as `startupCpuMs`.
   */
  readonly settle?: boolean;
  /**
   * Seconds to pause after the warm-up, so that its connections are gone
   * before the measured run (a green server's threads, each holding a
   * worker, end only once they have read their peer's end); 0 by default.
   */
  readonly pause?: number;
  /** 'echo' (default): each message comes back; 'http': a line-based request, answered with a reply of `size` body bytes. */
  readonly shape?: 'echo' | 'http';
  /**
   * MiB of resident memory past which the server is stopped and the run
   * fails (a server that cannot hold the connections must not take the
   * machine down with it). None by default.
   */
  readonly rssBudgetMb?: number;
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
  /** The server's peak resident memory during the warm-up and the run, in MiB. */
  peakRssMb: number;
  /** Seconds from the server's start to its `ready`. */
  startSeconds: number;
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

/**
 * The Python server to compare against: the shared anchor `anchor` (in
 * ../shared/anchors beside the repository) when it is there, else the
 * repository's own server of the same shape, `own` (in bench/echo-servers).
 */
export function pythonServer(anchor: string, own: string): { path: string; note: string | null } {
  const anchorPath = resolve(repo, '../shared/anchors', anchor);
  if (existsSync(anchorPath)) return { path: anchorPath, note: null };
  return { path: resolve(benchSources, 'echo-servers', own), note: `${anchor} not beside the repository: ran bench/echo-servers/${own}` };
}

/**
 * The command of a server written as a Node script in bench/, `.mjs` run as
 * is, `.ts` through tsx (or, compiled, its `.js` as plain JavaScript).
 */
export function nodeServer(file: string): EchoServer['command'] {
  const typescript = file.endsWith('.ts');
  const path = !typescript ? resolve(benchSources, file) : compiled ? resolve(here, file.replace(/\.ts$/, '.js')) : resolve(here, file);
  const loader = typescript && !compiled ? ['--import', 'tsx'] : [];
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
  const fields = procStatFields(`/proc/${pid}/stat`);
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

/**
 * The fields of a /proc `stat` file (a process's or a thread's) that follow
 * the command name, from the state on: field N of proc(5) is at index N - 3.
 */
export function procStatFields(path: string): string[] {
  const stat = readFileSync(path, 'utf8');
  // The command name may hold spaces: the fields start after its closing ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * Starts `server` on `port` and resolves once it prints `ready`; rejects if
 * it exits, takes too long, or (`onStart`, given the child at once, may
 * kill it: a memory watch) is killed.
 */
export async function startServer(server: EchoServer, port: number, onStart?: (child: ChildProcess) => void): Promise<ChildProcess> {
  const [command, args] = server.command(port);
  const env = server.env === undefined ? process.env : { ...process.env, ...server.env };
  const child = spawn(command, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'inherit'] });
  onStart?.(child);
  const limitMs = server.startTimeout === undefined ? startTimeoutMs : server.startTimeout * 1000;
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${server.name} did not start within ${limitMs / 1000} s`));
    }, limitMs);
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

/** Resident memory of a process now, in MiB (0 once it is gone). */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match === null ? 0 : Number(match[1]) / 1024;
  } catch {
    return 0;
  }
}

/** The peak of a watched server's memory so far, in MiB: calling it ends the watch. */
interface MemoryWatch {
  peak: () => number;
}

/**
 * Samples a server's resident memory every 100 ms until the returned
 * function is called, which gives the peak; past `budgetMb` it kills the
 * server (the run then fails).
 */
function watchMemory(child: ChildProcess, budgetMb: number | undefined): () => number {
  let peak = rssMb(child.pid as number);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(child.pid as number));
    if (budgetMb !== undefined && peak > budgetMb) child.kill('SIGKILL');
  }, 100);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssMb(child.pid as number));
  };
}

/** Runs the load client against `port` for `duration` seconds with `size`-byte messages (or replies, for `http`). */
export async function runClient(port: number, connections: number, duration: number, size: number, shape = 'echo'): Promise<ClientResult> {
  const args = [resolve(benchSources, 'echo-client.mjs'), String(port), String(connections), String(duration), String(size), shape];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`echo client exited with ${code}`);
  return JSON.parse(output.trim().split('\n').pop() as string) as ClientResult;
}

/** The error of a failed run: says so when the server was stopped for its memory. */
function overBudget(server: EchoServer, load: EchoLoad, peakRssMb: number, error: unknown): unknown {
  if (load.rssBudgetMb === undefined || peakRssMb <= load.rssBudgetMb) return error;
  const message = `${server.name} went past the memory budget (${Math.round(peakRssMb)} MiB > ${load.rssBudgetMb} MiB) and was stopped`;
  return new Error(message, { cause: error });
}

/** Starts `server`, warms it up if asked, measures one run of `load` at `size` bytes, and stops it. */
export async function measure(server: EchoServer, load: EchoLoad, size: number): Promise<Measurement> {
  const port = await freePort();
  const started = performance.now();
  // Watched from its spawn: a server may go past the budget while it starts its workers.
  const watch: MemoryWatch = { peak: () => 0 };
  let child: ChildProcess;
  try {
    child = await startServer(server, port, (starting) => (watch.peak = watchMemory(starting, load.rssBudgetMb)));
  } catch (error) {
    throw overBudget(server, load, watch.peak(), error);
  }
  const startSeconds = (performance.now() - started) / 1000;
  try {
    const startupCpuMs = load.settle === true ? await settled(child.pid as number) : undefined;
    const warmup = load.warmup ?? 0;
    const warmupRuns = Math.max(1, load.warmupRuns ?? 1);
    for (let run = 0; run < warmupRuns && warmup > 0; run++) await runClient(port, load.connections, warmup / warmupRuns, size, load.shape);
    if ((load.pause ?? 0) > 0) await new Promise((done) => setTimeout(done, (load.pause as number) * 1000));
    const cpuBefore = cpuMicros(child.pid as number);
    const result = await runClient(port, load.connections, load.duration, size, load.shape);
    const cpuUsPerMsg = (cpuMicros(child.pid as number) - cpuBefore) / result.msgs;
    const measured = { msgsPerSec: result.msgsPerSec, p50Us: result.p50Us, p99Us: result.p99Us, cpuUsPerMsg, peakRssMb: watch.peak(), startSeconds };
    return startupCpuMs === undefined ? measured : { ...measured, startupCpuMs };
  } catch (error) {
    throw overBudget(server, load, watch.peak(), error);
  } finally {
    watch.peak();
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

/** The table of medians per server and size: msgs/s, latency p50/p99, CPU per message, peak RSS. */
export function formatAbsolute(results: EchoResults, servers: readonly EchoServer[], sizes: readonly number[]): string {
  const header = ['server', 'size', 'msgs/s', 'p50 µs', 'p99 µs', 'cpu µs/msg', 'peak RSS MiB', 'ready after s'];
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
        pick('peakRssMb').toFixed(0),
        pick('startSeconds').toFixed(1),
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
