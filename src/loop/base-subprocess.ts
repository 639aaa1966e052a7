/**
 * Subprocess transports (asyncio's `base_subprocess.py`), over
 * `node:child_process`, with the pipe transports of `pipe-transports.ts`.
 *
 * `loop.subprocessExec`/`loop.subprocessShell` start a child and connect its
 * piped fds to a `SubprocessProtocol`. Guarantees, stronger than asyncio's:
 * - `connectionMade(transport)` runs first, before the awaiting caller resumes;
 * - per piped fd, every `pipeDataReceived(fd, data)` comes before that fd's
 *   single `pipeConnectionLost(fd, error)`;
 * - `processExited()` comes after every `pipeConnectionLost` (asyncio may call
 *   it earlier), then `connectionLost(null)` comes last, once;
 * - these run as loop callbacks, in the order the events happened; a failing
 *   one goes to the loop's exception handler. (`pauseWriting`/`resumeWriting`
 *   for stdin come from inside `write()` and the pipe's callbacks, as asyncio.)
 * - The child is reaped by Node; closing the loop kills a child still running.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOutsideTasks } from './context.js';
import { FileNotFoundError, ProcessLookupError, RuntimeError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import type { Future } from './futures.js';
import { logger } from './log.js';
import { ReadPipeTransport, WritePipeTransport, type PipeProtocol } from './pipe-transports.js';
import type { SubprocessProtocol } from './protocols.js';
import type { ReadTransport, SubprocessTransport, WriteTransport } from './transports.js';

/** Create a pipe to the child for this fd (asyncio's `subprocess.PIPE`). */
export const PIPE = -1;
/** For `stderr` only: send it where stdout goes, interleaved (`subprocess.STDOUT`). */
export const STDOUT = -2;
/** Connect the fd to /dev/null (`subprocess.DEVNULL`). */
export const DEVNULL = -3;

/**
 * Where a child's fd goes: `PIPE`, `DEVNULL`, `STDOUT` (stderr only), a file
 * descriptor of this process, or null/undefined to inherit ours.
 */
export type StdioSpec = typeof PIPE | typeof STDOUT | typeof DEVNULL | number | null | undefined;

export interface SubprocessOptions {
  stdin?: StdioSpec;
  stdout?: StdioSpec;
  stderr?: StdioSpec;
  /** The child's working directory; ours by default. */
  cwd?: string | URL;
  /** The child's whole environment; ours by default. */
  env?: Record<string, string | undefined>;
}

const OPTION_NAMES = new Set(['stdin', 'stdout', 'stderr', 'cwd', 'env']);

// ---- the subprocess transport ------------------------------------------------

/** The subprocess's side of one pipe: reports the pipe's events per fd. */
class SubprocessPipeProto implements PipeProtocol {
  disconnected = false;
  constructor(
    private readonly owner: BaseSubprocessTransport,
    readonly fd: number,
  ) {}
  dataReceived(data: Buffer): void {
    this.owner._pipeDataReceived(this.fd, data);
  }
  connectionLost(error: Error | null): void {
    this.disconnected = true;
    this.owner._pipeConnectionLost(this.fd, error);
  }
  // Flow control of stdin goes straight to the subprocess protocol, from inside write().
  pauseWriting(): void {
    this.owner.getProtocol().pauseWriting();
  }
  resumeWriting(): void {
    this.owner.getProtocol().resumeWriting();
  }
}

type PipeTransport = ReadPipeTransport | WritePipeTransport;

/**
 * A running child and its pipes (asyncio's `BaseSubprocessTransport`).
 * Created by `loop.subprocessExec`/`subprocessShell`, never directly.
 */
export class BaseSubprocessTransport implements SubprocessTransport {
  private closed = false;
  private finished = false;
  private protocol: SubprocessProtocol;
  private child: ChildProcess | null;
  private readonly pid: number | undefined;
  private returncode: number | null = null;
  private exitWaiters: Future<number>[] = [];
  private readonly pipes = new Map<number, { transport: PipeTransport; proto: SubprocessPipeProto }>();
  private readonly unregisterCloseHook: () => void;

  /**
   * @internal Takes over a started child. `connectionMade` is scheduled
   * first, so every later event, all delivered by `callSoon`, follows it.
   */
  constructor(
    private readonly loop: EventLoop,
    protocol: SubprocessProtocol,
    child: ChildProcess,
    streams: ChildStreams,
  ) {
    this.protocol = protocol;
    this.child = child;
    this.pid = child.pid;
    loop.callSoon(() => this.protocol.connectionMade(this));
    if (streams.stdin) this.addPipe(0, (proto) => new WritePipeTransport(loop, streams.stdin as net.Socket, proto));
    for (const fd of [1, 2] as const) {
      const stream = streams[fd === 1 ? 'stdout' : 'stderr'];
      if (stream) this.addPipe(fd, (proto) => new ReadPipeTransport(loop, stream, proto));
    }
    child.on('exit', (code, signal) => this.schedule(() => this.processExited(exitStatus(code, signal))));
    child.on('error', (exception) =>
      this.schedule(() => loop.callExceptionHandler({ message: 'Subprocess error', exception, transport: this })),
    );
    this.unregisterCloseHook = loop._onClose(() => this.abandon());
  }

  private addPipe(fd: number, create: (proto: SubprocessPipeProto) => PipeTransport): void {
    const proto = new SubprocessPipeProto(this, fd);
    this.pipes.set(fd, { transport: create(proto), proto });
  }

  // ---- SubprocessTransport ---------------------------------------------------

  getPid(): number | undefined {
    return this.pid;
  }

  /** The exit code, or minus the signal number that ended the child; null while it runs. */
  getReturncode(): number | null {
    return this.returncode;
  }

  /** The transport of the child's fd 0 (a WriteTransport), 1 or 2 (ReadTransports); null when not piped. */
  getPipeTransport(fd: 0): WriteTransport | null;
  getPipeTransport(fd: 1 | 2): ReadTransport | null;
  getPipeTransport(fd: number): WriteTransport | ReadTransport | null;
  getPipeTransport(fd: number): WriteTransport | ReadTransport | null {
    return this.pipes.get(fd)?.transport ?? null;
  }

  /** Sends `signal`; ProcessLookupError once the transport has finished. A child that exited ignores it. */
  sendSignal(signal: NodeJS.Signals | number): void {
    this.checkProc().kill(signal);
  }

  terminate(): void {
    this.sendSignal('SIGTERM');
  }

  kill(): void {
    this.sendSignal('SIGKILL');
  }

  isClosing(): boolean {
    return this.closed;
  }

  /**
   * Closes every pipe (stdin after flushing what was written) and kills the
   * child with SIGKILL if it still runs, as asyncio does. The protocol still
   * gets its `pipeConnectionLost`, `processExited` and `connectionLost` calls.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { transport } of this.pipes.values()) transport.close();
    const child = this.child;
    if (child !== null && this.returncode === null && child.exitCode === null && child.signalCode === null) {
      if (this.loop.getDebug()) logger.warning(`Close running child process: kill ${this}`);
      child.kill('SIGKILL');
    }
  }

  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return name === 'subprocess' ? (this.child ?? defaultValue) : defaultValue;
  }

  setProtocol(protocol: unknown): void {
    this.protocol = protocol as SubprocessProtocol;
  }

  getProtocol(): SubprocessProtocol {
    return this.protocol;
  }

  toString(): string {
    const state = this.closed ? 'closed' : this.returncode === null ? 'running' : `returncode=${this.returncode}`;
    return `<BaseSubprocessTransport pid=${this.pid} ${state}>`;
  }

  // ---- waiting ---------------------------------------------------------------

  /**
   * @internal A Future of the return code (asyncio's `_wait`): done at once
   * if the exit was already seen, else when the transport has finished (all
   * pipes closed, `connectionLost` called). Cancelling it cancels only this wait.
   */
  _wait(): Future<number> {
    const waiter = this.loop.createFuture<number>();
    if (this.returncode !== null) waiter.setResult(this.returncode);
    else this.exitWaiters.push(waiter);
    return waiter;
  }

  // ---- events, in the order asyncio handles them -------------------------------

  /** @internal Data from the pipe of `fd`, passed on in a later callback (asyncio's `_call`). */
  _pipeDataReceived(fd: number, data: Buffer): void {
    this.schedule(() => this.protocol.pipeDataReceived(fd, data));
  }

  /** @internal */
  _pipeConnectionLost(fd: number, error: Error | null): void {
    this.schedule(() => this.protocol.pipeConnectionLost(fd, error));
    this.tryFinish();
  }

  private processExited(returncode: number): void {
    if (this.returncode !== null) return;
    if (this.loop.getDebug()) logger.info(`${this} exited with return code ${returncode}`);
    this.returncode = returncode;
    this.tryFinish();
  }

  /** The child has exited and every pipe is closed: report it, then finish. */
  private tryFinish(): void {
    if (this.finished || this.returncode === null) return;
    for (const { proto } of this.pipes.values()) if (!proto.disconnected) return;
    this.finished = true;
    this.schedule(() => this.protocol.processExited());
    this.schedule(() => this.callConnectionLost());
  }

  private callConnectionLost(): void {
    try {
      this.protocol.connectionLost(null);
    } finally {
      for (const waiter of this.exitWaiters) if (!waiter.done()) waiter.setResult(this.returncode as number);
      this.release();
    }
  }

  /** Drops the child (sendSignal raises from now on) and the waiters. */
  private release(): void {
    this.exitWaiters = [];
    this.child = null;
    this.unregisterCloseHook();
  }

  /** Runs `handler` as a loop callback; dropped once the loop is closed. */
  private schedule(handler: () => void): void {
    if (!this.loop.isClosed()) this.loop.callSoon(handler);
  }

  private checkProc(): ChildProcess {
    if (this.child === null) throw new ProcessLookupError(`${this} has finished: no process to signal`);
    return this.child;
  }

  /**
   * The loop closed before the transport finished: nothing can be delivered
   * any more, so kill the child and free the pipes now (asyncio does the same
   * when the transport is collected).
   */
  private abandon(): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.closed) logger.warning(`Event loop closed with ${this} still open: killing the child`);
    const child = this.child;
    if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const { transport } of this.pipes.values()) transport._destroy();
    this.release();
  }
}

function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal === null ? undefined : osConstants.signals[signal];
  return number === undefined ? -1 : -number;
}

// ---- starting a child ----------------------------------------------------------

/** The parent's ends of the child's pipes. */
interface ChildStreams {
  stdin: net.Socket | null;
  stdout: net.Socket | null;
  stderr: net.Socket | null;
}

/** What to spawn: a program and its arguments, validated. */
interface SpawnRequest {
  file: string;
  args: readonly string[];
  caller: string;
  cwd?: string | URL;
}

/** `loop.subprocessExec`: runs `program` (looked up in PATH) with `args`. */
export async function subprocessExec<P extends SubprocessProtocol>(
  loop: EventLoop,
  protocolFactory: () => P,
  program: string,
  args: readonly string[],
  options: SubprocessOptions,
): Promise<[BaseSubprocessTransport, P]> {
  const caller = 'subprocessExec';
  checkCommand(caller, program, 'program');
  checkArgs(caller, args);
  return await startSubprocess(loop, protocolFactory, { file: program, args, caller }, options);
}

/** `loop.subprocessShell`: runs `cmd` with `/bin/sh -c`. */
export async function subprocessShell<P extends SubprocessProtocol>(
  loop: EventLoop,
  protocolFactory: () => P,
  cmd: string,
  options: SubprocessOptions,
): Promise<[BaseSubprocessTransport, P]> {
  const caller = 'subprocessShell';
  checkCommand(caller, cmd, 'cmd');
  return await startSubprocess(loop, protocolFactory, { file: '/bin/sh', args: ['-c', cmd], caller }, options);
}

/**
 * Starts the child and connects it to a new protocol (`loop.subprocessExec`
 * and `subprocessShell`). Errors: TypeError for a bad argument,
 * FileNotFoundError for a missing program or cwd, Node's error (EACCES...)
 * for another failure to start. Cancelled while starting, the child is
 * killed and reaped before CancelledError propagates.
 */
async function startSubprocess<P extends SubprocessProtocol>(
  loop: EventLoop,
  protocolFactory: () => P,
  request: SpawnRequest,
  options: SubprocessOptions,
): Promise<[BaseSubprocessTransport, P]> {
  if (loop.isClosed()) throw new RuntimeError('Event loop is closed');
  if (typeof protocolFactory !== 'function') {
    throw new TypeError(`${request.caller}: protocolFactory must be a function, got ${typeof protocolFactory}`);
  }
  const spawnOptions = checkSpawnOptions(options, request.caller);
  const plan = planStdio(options, request.caller);
  request.cwd = spawnOptions.cwd;
  const protocol = protocolFactory();
  const merged = plan.mergeOutput ? await socketPair(loop) : null;
  let child: ChildProcess;
  try {
    if (merged !== null) plan.stdio[1] = plan.stdio[2] = merged.theirs;
    // Outside any task: Node runs the child's callbacks in the context it was created in.
    child = runOutsideTasks(() => spawn(request.file, request.args, { ...spawnOptions, stdio: plan.stdio }));
  } catch (err) {
    merged?.ours.destroy();
    throw err;
  } finally {
    merged?.theirs.destroy();
  }
  const streams: ChildStreams = {
    stdin: child.stdin as net.Socket | null,
    stdout: merged?.ours ?? (child.stdout as net.Socket | null),
    stderr: child.stderr as net.Socket | null,
  };
  if (child.pid === undefined) return await failedSpawn(loop, child, streams, request);
  const transport = new BaseSubprocessTransport(loop, protocol, child, streams);
  // Resolved after connectionMade has run, as asyncio's waiter.
  const ready = loop.createFuture<void>();
  loop.callSoon(() => ready.done() || ready.setResult());
  try {
    await ready;
  } catch (err) {
    transport.close();
    await transport._wait();
    throw err;
  }
  return [transport, protocol];
}

/** Frees the pipes of a child that did not start, waits for its 'error' event and throws it. */
async function failedSpawn(
  loop: EventLoop,
  child: ChildProcess,
  streams: ChildStreams,
  request: SpawnRequest,
): Promise<never> {
  const failure = loop.createFuture<Error>();
  child.once('error', (error) => {
    if (!failure.done()) failure.setResult(error);
  });
  for (const stream of Object.values(streams)) stream?.destroy();
  const error = await failure;
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  const where = request.cwd === undefined ? '' : ` (or cwd '${String(request.cwd)}')`;
  throw new FileNotFoundError(`${request.caller}: no such file or directory: '${request.file}'${where}`, {
    path: request.file,
    syscall: 'spawn',
    cause: error,
  });
}

interface StdioPlan {
  stdio: StdioOptions & unknown[];
  mergeOutput: boolean;
}

/** Maps PIPE/DEVNULL/STDOUT/fd/null per fd to Node's stdio option. */
function planStdio(options: SubprocessOptions, caller: string): StdioPlan {
  const stdin = nodeStdio(options.stdin, 'stdin', caller);
  const stdout = nodeStdio(options.stdout, 'stdout', caller);
  if (options.stderr !== STDOUT) {
    return { stdio: [stdin, stdout, nodeStdio(options.stderr, 'stderr', caller)], mergeOutput: false };
  }
  // stderr shares stdout's destination; a pipe needs one end given as both fds.
  if (stdout === 'pipe') return { stdio: [stdin, 'pipe', 'pipe'], mergeOutput: true };
  return { stdio: [stdin, stdout, stdout === 'inherit' ? 1 : stdout], mergeOutput: false };
}

function nodeStdio(spec: unknown, name: string, caller: string): 'pipe' | 'ignore' | 'inherit' | number {
  if (spec === undefined || spec === null) return 'inherit';
  if (spec === PIPE) return 'pipe';
  if (spec === DEVNULL) return 'ignore';
  if (typeof spec === 'number' && Number.isInteger(spec) && spec >= 0) return spec;
  const allowed = name === 'stderr' ? 'PIPE, STDOUT, DEVNULL' : 'PIPE, DEVNULL';
  throw new TypeError(`${caller}: ${name} must be ${allowed}, a file descriptor or null, got ${String(spec)}`);
}

function checkSpawnOptions(options: SubprocessOptions, caller: string): { cwd?: string | URL; env?: NodeJS.ProcessEnv } {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${caller}: options must be an object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) throw new TypeError(`${caller}: unknown option '${key}'`);
  }
  const { cwd, env } = options;
  if (cwd !== undefined && typeof cwd !== 'string' && !(cwd instanceof URL)) {
    throw new TypeError(`${caller}: cwd must be a string or URL, got ${typeof cwd}`);
  }
  if (env !== undefined && (env === null || typeof env !== 'object' || Array.isArray(env))) {
    throw new TypeError(`${caller}: env must be an object of strings, got ${String(env)}`);
  }
  return { cwd, env };
}

function checkCommand(caller: string, command: unknown, name: string): void {
  if (typeof command !== 'string' || command === '') {
    throw new TypeError(`${caller}: ${name} must be a non-empty string, got ${describe(command)}`);
  }
  if (command.includes('\0')) throw new TypeError(`${caller}: ${name} contains a null byte`);
}

function checkArgs(caller: string, args: unknown): void {
  if (!Array.isArray(args)) throw new TypeError(`${caller}: args must be an array of strings, got ${describe(args)}`);
  args.forEach((arg: unknown, i) => {
    if (typeof arg !== 'string') throw new TypeError(`${caller}: args[${i}] must be a string, got ${describe(arg)}`);
    if (arg.includes('\0')) throw new TypeError(`${caller}: args[${i}] contains a null byte`);
  });
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? 'an array' : typeof value;
}

/**
 * Two connected Unix sockets: the child gets `theirs` as both fd 1 and fd 2,
 * so stderr=STDOUT interleaves exactly as written, as a shared pipe does
 * (Node itself gives children socket pairs as pipes). Node has no socketpair(),
 * hence a one-shot listener on a private address.
 */
async function socketPair(loop: EventLoop): Promise<{ ours: net.Socket; theirs: net.Socket }> {
  const address =
    process.platform === 'linux' ? `\0greenloop-${randomUUID()}` : join(tmpdir(), `greenloop-${randomUUID()}.sock`);
  const pair = loop.createFuture<{ ours: net.Socket; theirs: net.Socket }>();
  let ours: net.Socket | null = null;
  let theirs: net.Socket | null = null;
  let connected = false;
  let settled = false;
  const finish = (error?: Error): void => {
    if (settled || (error === undefined && (ours === null || !connected))) return;
    settled = true;
    server.close();
    if (error === undefined && !pair.done()) {
      pair.setResult({ ours: ours as net.Socket, theirs: theirs as net.Socket });
      return;
    }
    // Failed, or the caller was cancelled meanwhile.
    ours?.destroy();
    theirs?.destroy();
    if (!pair.done()) pair.setException(error);
  };
  const server = runOutsideTasks(() =>
    net.createServer((socket) => {
      if (ours !== null) return void socket.destroy();
      ours = socket;
      finish();
    }),
  );
  server.on('error', finish);
  runOutsideTasks(() =>
    server.listen(address, () => {
      theirs = net.connect(address, () => {
        connected = true;
        finish();
      });
      theirs.on('error', finish);
    }),
  );
  return await pair;
}
