/**
 * Shared test helpers: a fresh loop per test, and fd/handle leak checks.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import sinon from 'sinon';
import type { AddressInfo } from 'node:net';
import {
  EventLoop,
  newEventLoop,
  setEventLoop,
  sleep,
  type Awaitable,
  type CoroutineFunction,
  type Server,
} from '../src/loop/index.js';

/**
 * Runs `main` as a task on a new loop, closes the loop, returns the result.
 * The loop is also set as the current loop while it runs.
 */
export async function runInLoop<T>(
  main: CoroutineFunction<T> | Awaitable<T>,
  setup?: (loop: EventLoop) => void,
): Promise<T> {
  const loop = newEventLoop();
  setEventLoop(loop);
  setup?.(loop);
  try {
    return await loop.runUntilComplete(main);
  } finally {
    loop.close();
    setEventLoop(null);
  }
}

/** The machine's TCP, UDP and Unix sockets by inode, as 'tcp 127.0.0.1:5000 -> 127.0.0.1:41000 (state 01)'. */
function socketsByInode(): Map<string, string> {
  const byInode = new Map<string, string>();
  const address = (hex: string): string => {
    const [ip, port] = hex.split(':');
    const octets = ip.length === 8 ? (ip.match(/../g) ?? []).reverse().map((h) => parseInt(h, 16)).join('.') : ip;
    return `${octets}:${parseInt(port, 16)}`;
  };
  const read = (table: string): string[][] => {
    try {
      return readFileSync(`/proc/net/${table}`, 'utf8').split('\n').slice(1).map((line) => line.trim().split(/\s+/));
    } catch {
      return []; // no such table here
    }
  };
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6']) {
    for (const fields of read(table)) {
      if (fields.length > 9) byInode.set(fields[9], `${table} ${address(fields[1])} -> ${address(fields[2])} (state ${fields[3]})`);
    }
  }
  for (const fields of read('unix')) {
    if (fields.length > 6) byInode.set(fields[6], `unix ${fields[7] ?? '(unnamed)'}`);
  }
  return byInode;
}

/**
 * This process's open file descriptors (Linux): fd -> what it points at,
 * a socket described by socketsByInode, else the link ('pipe:[4]', a path).
 * With `networkOnly`, only TCP and UDP sockets.
 */
function openFds(networkOnly: boolean): Map<string, string> {
  const sockets = socketsByInode();
  const fds = new Map<string, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the directory's own fd)
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    const described = inode === undefined ? target : (sockets.get(inode) ?? target);
    if (!networkOnly || /^(tcp|udp)/.test(described)) fds.set(fd, described);
  }
  return fds;
}

/** The descriptors open now that were not open `before`, for a failure message that says what leaked. */
function describeNewFds(before: Map<string, string>, now: Map<string, string>): string {
  return [...now]
    .filter(([fd]) => !before.has(fd))
    .map(([fd, target]) => `fd ${fd}: ${target}`)
    .join('; ');
}

/**
 * Mocha hooks asserting that a group of tests leaves no file descriptor open:
 * call inside a `describe`. Sockets close asynchronously, so the check polls
 * for up to `graceMs` before failing. With `networkOnly`, only TCP and UDP
 * sockets are counted: for groups whose green threads may grow the worker
 * pool, as each new worker holds pipes and event fds of its own for as long
 * as it lives, and under tsx, a worker that compiles a module it has no cached
 * copy of starts an esbuild child process, with Unix sockets as its stdio.
 * A failure names the descriptors opened since the group began.
 */
export function checkFdLeaks(graceMs = 2000, { networkOnly = false } = {}): void {
  let baseline = new Map<string, string>();
  before(() => {
    baseline = openFds(networkOnly);
  });
  after(async () => {
    const deadline = Date.now() + graceMs;
    while (openFds(networkOnly).size > baseline.size && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const now = openFds(networkOnly);
    if (now.size > baseline.size) {
      throw new Error(`fd leak: ${now.size - baseline.size} file descriptor(s) left open by this group: ${describeNewFds(baseline, now)}`);
    }
  });
}

/** The timer functions the fake clocks of these tests replace. */
export const FAKED = [
  'setTimeout',
  'clearTimeout',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'performance',
] as const;

/**
 * Runs `main` on a fresh loop whose clock jumps from one timer to the next:
 * timings are exact and independent of the machine's load.
 */
export async function runFaked<T>(main: () => Promise<T>): Promise<T> {
  const clock = sinon.useFakeTimers({ toFake: [...FAKED] });
  try {
    let settled = false;
    const run = runInLoop(main).finally(() => {
      settled = true;
    });
    run.catch(() => undefined);
    for (let steps = 0; !settled; steps++) {
      if (steps > 10_000) throw new Error('the loop did not finish');
      await clock.nextAsync();
    }
    return await run;
  } finally {
    clock.restore();
  }
}

/** The error `awaitable` rejects with; fails the test if it fulfils. */
export async function rejection(awaitable: PromiseLike<unknown>): Promise<unknown> {
  try {
    await awaitable;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Polls `condition` every millisecond inside a running loop; fails after `seconds`. */
export async function until(condition: () => boolean, seconds = 3): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${seconds} s`);
    await sleep(0.001);
  }
}

/** The TCP port a greenloop Server listens on. */
export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** How a program run by `runScript` ended. */
export interface ScriptOutcome {
  stdout: string;
  stderr: string;
  code: number | null;
  /** The signal that ended it: SIGKILL after `hangLimit` seconds means it hung. */
  signal: NodeJS.Signals | null;
  seconds: number;
}

/**
 * Runs a TypeScript program in its own Node process under tsx, as a user
 * would, and collects its output. `env` is added to this process's
 * environment (GREENLOOP_BRIDGE cleared unless given); the program is
 * killed after `hangLimit` seconds.
 */
export function runScript(
  script: string,
  options: { args?: readonly string[]; env?: NodeJS.ProcessEnv; hangLimit?: number } = {},
): Promise<ScriptOutcome> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = startScript(script, options);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ stdout, stderr, code, signal, seconds: (performance.now() - started) / 1000 }),
    );
  });
}

/**
 * Starts a TypeScript program under tsx, as `runScript` does, and returns
 * the child process (stdout and stderr piped), for programs a test talks to
 * while they run (servers). It is killed after `hangLimit` seconds.
 */
export function startScript(
  script: string,
  options: { args?: readonly string[]; env?: NodeJS.ProcessEnv; hangLimit?: number } = {},
): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, ['--import', 'tsx', script, ...(options.args ?? [])], {
    env: { ...process.env, GREENLOOP_BRIDGE: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: (options.hangLimit ?? 25) * 1000,
    killSignal: 'SIGKILL',
  });
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
