/**
 * Green subprocesses (eventlet's `eventlet.green.subprocess`, Python's
 * `subprocess`): `run` and `Popen` for green code, on top of the loop's
 * `createSubprocessExec` run by the hub.
 *
 *     import { subprocess } from 'greenloop/green';
 *     const result = subprocess.run(['sort'], { input: 'b\na\n', captureOutput: true, check: true });
 *     result.stdout;   // Buffer 'a\nb\n'
 *
 * Waiting for a child blocks only the calling green thread. Guarantees:
 * - `communicate()` writes the input while reading stdout and stderr to
 *   the end, so no pipe can fill up and block the child; after a timeout
 *   (TimeoutExpired) it can be called again and loses no output;
 * - `wait(timeout)`, `communicate(input, timeout)` and `run(..., { timeout })`
 *   raise TimeoutExpired after `timeout` seconds; `run` then kills the child;
 * - every blocking call is interrupted by `kill()` of the green thread; the
 *   child goes on (as a Popen dropped in Python), and the hub keeps reading
 *   its pipes, so it never blocks on them, until it exits.
 *
 * The simplest alternative: a green thread is a real thread of its own, so
 * Node's own synchronous functions (`child_process.spawnSync`,
 * `execFileSync`, `fs.readFileSync`...) block only the calling green thread,
 * not the loop nor the other green threads. Use them when a timeout and a
 * kill during the wait are not needed.
 */
import { GreenloopError, ValueError } from '../loop/errors.js';
import type { Future } from '../loop/futures.js';
import { DEVNULL, PIPE, STDOUT, createSubprocessExec, createSubprocessShell, type Process, type StdioSpec } from '../loop/subprocess.js';
import type { StreamReader } from '../loop/stream-reader.js';
import type { StreamWriter } from '../loop/stream-writer.js';
import type { Task } from '../loop/tasks.js';
import {
  blockingOnHub,
  callHub,
  checkBridge,
  type GreenCaller,
  inGreenWorker,
  registerErrorClass,
  registerOperation,
  threadOf,
} from './runtime/index.js';

export { DEVNULL, PIPE, STDOUT, type StdioSpec };

const MODULE = import.meta.url;

/** What may be given as input: bytes, or a string (UTF-8 encoded). */
export type Input = Buffer | Uint8Array | string;
/** A command: the program and its arguments, or a shell command line (with `shell: true`). */
export type Command = readonly string[] | string;

function describeCommand(cmd: Command): string {
  return typeof cmd === 'string' ? `'${cmd}'` : JSON.stringify(cmd);
}

/** `check: true` and the child exited with a non-zero code (Python's CalledProcessError). */
export class CalledProcessError extends GreenloopError {
  constructor(
    readonly returncode: number,
    readonly cmd: Command,
    readonly stdout: Buffer | null = null,
    readonly stderr: Buffer | null = null,
  ) {
    super(`Command ${describeCommand(cmd)} returned non-zero exit status ${returncode}.`);
    this.name = 'CalledProcessError';
  }

  /** Python's alias of `stdout`. */
  get output(): Buffer | null {
    return this.stdout;
  }
}

/** A wait for a child ran out of time (Python's TimeoutExpired): `stdout`/`stderr` hold what was read so far. */
export class TimeoutExpired extends GreenloopError {
  constructor(
    readonly cmd: Command,
    readonly timeout: number,
    readonly stdout: Buffer | null = null,
    readonly stderr: Buffer | null = null,
  ) {
    super(`Command ${describeCommand(cmd)} timed out after ${timeout} seconds`);
    this.name = 'TimeoutExpired';
  }

  get output(): Buffer | null {
    return this.stdout;
  }
}

for (const cls of [CalledProcessError, TimeoutExpired]) registerErrorClass(cls);

export interface PopenOptions {
  /** PIPE, DEVNULL, a file descriptor, or null/omitted to inherit ours. */
  stdin?: StdioSpec;
  stdout?: StdioSpec;
  /** Also STDOUT: sent where stdout goes. */
  stderr?: StdioSpec;
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Run `args` (a string) with /bin/sh -c. */
  shell?: boolean;
}

export interface RunOptions extends PopenOptions {
  /** Sent to stdin (which becomes PIPE). */
  input?: Input | null;
  /** stdout and stderr become PIPE, and the result holds them. */
  captureOutput?: boolean;
  /** Python's spelling of `captureOutput`. */
  capture_output?: boolean;
  /** CalledProcessError if the child exits with a non-zero code. */
  check?: boolean;
  /** Seconds before the child is killed and TimeoutExpired raised. */
  timeout?: number | null;
}

/** What `run` returns (Python's CompletedProcess). */
export interface CompletedProcess {
  readonly args: Command;
  readonly returncode: number;
  /** Buffer when stdout was PIPE, else null. */
  readonly stdout: Buffer | null;
  readonly stderr: Buffer | null;
}

function toBytes(input: Input | null | undefined): Uint8Array | null {
  if (input === null || input === undefined) return null;
  if (typeof input === 'string') return Buffer.from(input, 'utf8');
  if (input instanceof Uint8Array) return input;
  throw new TypeError(`input must be a Buffer, Uint8Array or string, got ${typeof input}`);
}

/** Bytes nested in a reply arrive as a Uint8Array: the same memory as a Buffer. */
function asBuffer(bytes: Uint8Array | null): Buffer | null {
  return bytes === null || Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkTimeout(timeout: number | null | undefined): number | null {
  if (timeout === null || timeout === undefined) return null;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
    throw new ValueError(`timeout must be a non-negative number of seconds, got ${String(timeout)}`);
  }
  return timeout;
}

/** A child process started from green code (Python's `subprocess.Popen`). */
export class Popen {
  readonly args: Command;
  readonly pid: number;
  /** The exit code (minus the signal number if a signal ended it), null while running or unknown. */
  returncode: number | null = null;
  private readonly id: number;

  constructor(args: Command, options: PopenOptions = {}) {
    checkBridge('subprocess.Popen');
    if (!inGreenWorker()) throw blockingOnHub('Popen()', 'use createSubprocessExec() from greenloop/loop');
    if (options.shell === true ? typeof args !== 'string' : !Array.isArray(args) || args.length === 0) {
      throw new TypeError(options.shell === true ? 'with shell: true, args must be a string' : 'args must be a non-empty array of strings (or a string with shell: true)');
    }
    this.args = args;
    const { stdin, stdout, stderr, cwd, env, shell } = options;
    [this.id, this.pid] = callHub<[number, number]>('proc.spawn', [args, { stdin, stdout, stderr, cwd, env }, shell === true], {
      module: MODULE,
    });
  }

  /**
   * Sends `input` to stdin and closes it, reads stdout and stderr to the
   * end, waits for the child to exit; returns `[stdout, stderr]` (Buffers
   * for the piped ones, else null). TimeoutExpired after `timeout` seconds:
   * call it again to go on waiting (the input is sent only once).
   */
  communicate(input: Input | null = null, timeout: number | null = null): [Buffer | null, Buffer | null] {
    const [stdout, stderr, returncode] = callHub<[Buffer | null, Buffer | null, number]>(
      'proc.communicate',
      [this.id, toBytes(input), checkTimeout(timeout)],
      { module: MODULE, spin: false },
    );
    this.returncode = returncode;
    return [asBuffer(stdout), asBuffer(stderr)];
  }

  /** Waits for the child to exit and returns its code; TimeoutExpired after `timeout` seconds. */
  wait(timeout: number | null = null): number {
    this.returncode = callHub<number>('proc.wait', [this.id, checkTimeout(timeout)], { module: MODULE, spin: false });
    return this.returncode;
  }

  /** The exit code if the child has exited, else null; never blocks. */
  poll(): number | null {
    this.returncode = callHub<number | null>('proc.poll', [this.id], { module: MODULE });
    return this.returncode;
  }

  /** Sends `signal` (a name or number); nothing once the child has exited. */
  sendSignal(signal: NodeJS.Signals | number): void {
    callHub('proc.signal', [this.id, signal], { module: MODULE });
  }

  terminate(): void {
    this.sendSignal('SIGTERM');
  }

  kill(): void {
    this.sendSignal('SIGKILL');
  }

  toString(): string {
    return `<Popen: returncode: ${this.returncode} args: ${JSON.stringify(this.args)}>`;
  }
}

/**
 * Runs `args`, waits for it and returns a CompletedProcess (Python's
 * `subprocess.run`). `input` goes to stdin; `captureOutput` collects stdout
 * and stderr; `check` raises CalledProcessError for a non-zero exit code;
 * `timeout` kills the child and raises TimeoutExpired.
 */
export function run(args: Command, options: RunOptions = {}): CompletedProcess {
  checkBridge('subprocess.run');
  const { input = null, captureOutput, capture_output, check = false, timeout = null, ...popenOptions } = options;
  if (captureOutput === true || capture_output === true) {
    if (popenOptions.stdout != null || popenOptions.stderr != null) {
      throw new ValueError('stdout and stderr arguments may not be used with captureOutput');
    }
    popenOptions.stdout = PIPE;
    popenOptions.stderr = PIPE;
  }
  if (input !== null) {
    if (popenOptions.stdin != null) throw new ValueError('stdin and input arguments may not both be used');
    popenOptions.stdin = PIPE;
  }
  const child = new Popen(args, popenOptions);
  let stdout: Buffer | null;
  let stderr: Buffer | null;
  try {
    [stdout, stderr] = child.communicate(input, timeout);
  } catch (error) {
    child.kill();
    if (!(error instanceof TimeoutExpired)) throw error;
    const [out, err] = child.communicate();
    throw new TimeoutExpired(args, error.timeout, out, err);
  }
  const returncode = child.returncode as number;
  if (check && returncode !== 0) throw new CalledProcessError(returncode, args, stdout, stderr);
  return { args, returncode, stdout, stderr };
}

// ---- hub side ----------------------------------------------------------------------------

interface Child {
  readonly cmd: Command;
  readonly process: Process;
  readonly stdout: Buffer[];
  readonly stderr: Buffer[];
  /** Feeding stdin, reading the pipes to the end and waiting for the exit, once started. */
  collecting: Task<void> | null;
}

let nextChildId = 1;
const children = new Map<number, Child>();

function childOf(id: number): Child {
  const child = children.get(id);
  if (child === undefined) throw new ValueError(`unknown subprocess ${id}`);
  return child;
}

registerOperation('proc.spawn', async (caller: GreenCaller, args: Command, options: PopenOptions, shell: boolean) => {
  const process = shell
    ? await createSubprocessShell(args as string, options)
    : await createSubprocessExec((args as string[])[0], (args as string[]).slice(1), options);
  const id = nextChildId++;
  const child: Child = { cmd: args, process, stdout: [], stderr: [], collecting: null };
  children.set(id, child);
  // The owner gone, keep reading the child's pipes so it never blocks, and forget it once done.
  threadOf(caller).onExit(() => collect(caller, child, null).addDoneCallback(() => children.delete(id)));
  return [id, process.pid];
});

registerOperation('proc.communicate', (caller: GreenCaller, id: number, input: Uint8Array | null, timeout: number | null) => {
  const child = childOf(id);
  return waitFor(caller, child, collect(caller, child, input), timeout, () => [
    child.process.stdout === null ? null : Buffer.concat(child.stdout),
    child.process.stderr === null ? null : Buffer.concat(child.stderr),
    child.process.returncode,
  ]);
});

registerOperation('proc.wait', (caller: GreenCaller, id: number, timeout: number | null) => {
  const child = childOf(id);
  if (child.process.returncode !== null) return child.process.returncode;
  const exited = caller.loop.createTask(() => child.process.wait());
  return waitFor(caller, child, exited, timeout, () => child.process.returncode);
});

registerOperation('proc.poll', (_caller: GreenCaller, id: number) => childOf(id).process.returncode);

registerOperation('proc.signal', (_caller: GreenCaller, id: number, signal: NodeJS.Signals | number) => {
  const child = childOf(id);
  if (child.process.returncode === null) child.process.sendSignal(signal);
});

/** The task feeding `input` and collecting the child's output (started once; later inputs are ignored). */
function collect(caller: GreenCaller, child: Child, input: Uint8Array | null): Task<void> {
  child.collecting ??= caller.loop.createTask(async () => {
    const { stdin, stdout, stderr } = child.process;
    const parts: Promise<void>[] = [];
    if (stdin !== null) parts.push(feed(stdin, input));
    if (stdout !== null) parts.push(readAll(stdout, child.stdout));
    if (stderr !== null) parts.push(readAll(stderr, child.stderr));
    await Promise.all(parts);
    await child.process.wait();
  });
  return child.collecting;
}

async function feed(stdin: StreamWriter, input: Uint8Array | null): Promise<void> {
  try {
    if (input !== null && input.length > 0) stdin.write(input);
    await stdin.drain();
  } catch (error) {
    // A child that exits or closes stdin without reading everything is no error here.
    const code = (error as { code?: unknown }).code;
    if (code !== 'EPIPE' && code !== 'ECONNRESET') throw error;
  }
  stdin.close();
}

async function readAll(reader: StreamReader, into: Buffer[]): Promise<void> {
  for (;;) {
    const chunk = await reader.read(65536);
    if (chunk.length === 0) return;
    into.push(chunk);
  }
}

/**
 * A Future of `result()` once `task` is done, or TimeoutExpired (with the
 * output so far) after `timeout` seconds. Neither a timeout nor an
 * interrupted call stops `task`: a later call goes on waiting for it.
 */
function waitFor<T>(caller: GreenCaller, child: Child, task: Task<unknown>, timeout: number | null, result: () => T): Future<T> {
  const future = caller.loop.createFuture<T>();
  const settle = (): void => {
    if (future.done()) return;
    if (task.cancelled()) future.cancel();
    else if (task.exception() !== null) future.setException(task.exception());
    else future.setResult(result());
  };
  task.addDoneCallback(settle);
  const timer =
    timeout === null
      ? null
      : caller.loop.callLater(timeout, () => {
          if (future.done()) return;
          const out = child.process.stdout === null ? null : Buffer.concat(child.stdout);
          const err = child.process.stderr === null ? null : Buffer.concat(child.stderr);
          future.setException(new TimeoutExpired(child.cmd, timeout, out, err));
        });
  future.addDoneCallback(() => {
    timer?.cancel();
    task.removeDoneCallback(settle);
  });
  return future;
}
