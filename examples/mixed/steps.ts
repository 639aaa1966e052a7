/**
 * The mixed service's migration, step by step: which program each step
 * runs, which of its modules the migration report reads, and how to start
 * one as its own process and stop it. `npm start` (main.ts), the example's
 * test and bench/mixed-service.ts all run the steps through this.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { scanProject } from '../../src/bridge/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** One step of the migration. */
export interface Step {
  readonly name: string;
  /** What changed, in a few words. */
  readonly summary: string;
  /** The program, in examples/mixed. */
  readonly script: string;
  /** The modules of this step's service (what `greenloop report` reads). */
  readonly files: readonly string[];
  /** Added to the environment of its process. */
  readonly env: Readonly<Record<string, string>>;
}

export const STEPS: readonly Step[] = [
  {
    name: 'step0',
    summary: 'all green: green accept loop, green handlers',
    script: 'step0.ts',
    files: ['step0.ts', 'green-catalogue.ts', 'green-handlers.ts', 'protocol.ts'],
    env: {},
  },
  {
    name: 'step1',
    summary: 'green accept loop; catalogue handed over to async (handOver)',
    script: 'step1.ts',
    files: ['step1.ts', 'green-handlers.ts', 'async-handlers.ts', 'protocol.ts'],
    env: {},
  },
  {
    name: 'step1b',
    summary: 'async accept loop; utilities handed to green (toGreenSocket)',
    script: 'step1b.ts',
    files: ['step1b.ts', 'green-handlers.ts', 'async-handlers.ts', 'protocol.ts'],
    env: {},
  },
  {
    name: 'step2',
    summary: 'all async, GREENLOOP_BRIDGE=off',
    script: 'step2.ts',
    files: ['step2.ts', 'async-handlers.ts', 'protocol.ts'],
    env: { GREENLOOP_BRIDGE: 'off' },
  },
];

/** A step's process, serving. */
export interface RunningStep {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly port: number;
  /** Its `ready: ...` line: which routes are green and which async. */
  readonly ready: string;
  /** What it printed on stderr so far. */
  stderr(): string;
}

const READY = /^ready: \S+ listening on 127\.0\.0\.1:(\d+) .*$/m;

/** Starts `step` on `port` (0: any free port) and resolves once it serves; rejects if it exits or takes over `limit` seconds. */
export function startStep(step: Step, port = 0, limit = 30): Promise<RunningStep> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, step.script), String(port)], {
    env: { ...process.env, GREENLOOP_BRIDGE: '', ...step.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${step.name} did not print its ready line within ${limit} s\n${stdout}${stderr}`));
    }, limit * 1000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = READY.exec(stdout);
      if (match === null) return;
      clearTimeout(timer);
      resolve({ child, port: Number(match[1]), ready: match[0], stderr: () => stderr });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${step.name} exited (${code ?? signal}) before it was ready\n${stdout}${stderr}`));
    });
  });
}

/** Stops a step's process (SIGTERM, SIGKILL after 5 s) and resolves once it exited. */
export async function stopStep(running: RunningStep): Promise<void> {
  const { child } = running;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The migration report's count of green API uses in `step`'s modules. */
export function greenUses(step: Step): number {
  return scanProject(step.files, { cwd: here }).greenUseCount;
}
