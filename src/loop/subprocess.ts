/**
 * Subprocesses with streams (asyncio's `subprocess.py`):
 * `createSubprocessExec` / `createSubprocessShell` resolve to a `Process`
 * whose piped `stdin` is a StreamWriter and piped `stdout`/`stderr` are
 * StreamReaders.
 *
 *     const proc = await createSubprocessExec('sort', [], { stdin: PIPE, stdout: PIPE });
 *     const [out] = await proc.communicate('b\na\n');   // out: Buffer 'a\nb\n'
 *     proc.returncode;                                   // 0
 *
 * Guarantees:
 * - `wait()` and `communicate()` wait on loop Futures: cancelling the awaiting
 *   task raises CancelledError there and leaves the child running (it can
 *   still be waited for or killed).
 * - `wait()` resolves once the child has exited and its pipes are closed;
 *   any number of tasks may wait at once, and all get the return code.
 * - `communicate()` writes its input while reading stdout and stderr to EOF,
 *   so neither side can block the other, whatever the sizes.
 * - Reading only one of stdout/stderr while the child fills the other pipe
 *   can block the child (its pipe fills), as with asyncio: use communicate().
 */
import {
  DEVNULL,
  PIPE,
  STDOUT,
  type BaseSubprocessTransport,
  type StdioSpec,
  type SubprocessOptions,
} from './base-subprocess.js';
import { BrokenPipeError, ConnectionResetError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import type { Future } from './futures.js';
import { gather } from './gather.js';
import { SubprocessProtocol } from './protocols.js';
import { _requireRunningLoop } from './running.js';
import { checkLimit, StreamReader } from './stream-reader.js';
import { StreamWriter, type StreamWriterProtocol } from './stream-writer.js';
import { FlowControlProtocol } from './streams.js';
import type { Task } from './tasks.js';
import type { ReadTransport, SubprocessTransport, WriteTransport } from './transports.js';

export { DEVNULL, PIPE, STDOUT, type StdioSpec, type SubprocessOptions };

export interface ProcessOptions extends SubprocessOptions {
  /** The buffer limit of the stdout/stderr StreamReaders (default 64 KiB). */
  limit?: number;
}

type Data = Buffer | Uint8Array | string;

/**
 * The protocol between a subprocess transport and the streams of a Process
 * (asyncio's `SubprocessStreamProtocol`). stdin's flow control is a
 * FlowControlProtocol, so `stdin.drain()` waits exactly as a socket writer's.
 */
class SubprocessStreamProtocol extends SubprocessProtocol implements StreamWriterProtocol {
  stdin: StreamWriter | null = null;
  stdout: StreamReader | null = null;
  stderr: StreamReader | null = null;
  private transport: SubprocessTransport | null = null;
  private exited = false;
  private readonly openPipes = new Set<number>();
  private readonly flow: FlowControlProtocol;
  private readonly stdinClosed: Future<void>;

  constructor(
    private readonly limit: number,
    private readonly loop: EventLoop,
  ) {
    super();
    this.flow = new FlowControlProtocol(loop);
    this.stdinClosed = loop.createFuture<void>();
  }

  override connectionMade(transport: SubprocessTransport): void {
    this.transport = transport;
    this.stdout = this.connectReader(transport, 1);
    this.stderr = this.connectReader(transport, 2);
    const stdinTransport = transport.getPipeTransport(0) as WriteTransport | null;
    if (stdinTransport !== null) this.stdin = new StreamWriter(stdinTransport, this, null, this.loop);
  }

  override pipeDataReceived(fd: number, data: Buffer): void {
    this.readerOf(fd)?.feedData(data);
  }

  override pipeConnectionLost(fd: number, error: Error | null): void {
    if (fd === 0) {
      this.stdin?.close();
      this.flow.connectionLost(error);
      if (error === null) {
        this.stdinClosed.setResult(undefined);
      } else {
        this.stdinClosed.setException(error);
        // Nobody has to await waitClosed(): do not report the error as never retrieved.
        this.stdinClosed.exception();
      }
      return;
    }
    const reader = this.readerOf(fd);
    if (reader !== null) {
      if (error === null) reader.feedEof();
      else reader.setException(error);
    }
    this.openPipes.delete(fd);
    this.maybeCloseTransport();
  }

  override processExited(): void {
    this.exited = true;
    this.maybeCloseTransport();
  }

  override pauseWriting(): void {
    this.flow.pauseWriting();
  }

  override resumeWriting(): void {
    this.flow.resumeWriting();
  }

  override connectionLost(error: Error | null): void {
    this.flow.connectionLost(error);
  }

  /** @internal */
  _drainHelper(): Promise<void> {
    return this.flow._drainHelper();
  }

  /** @internal */
  _getCloseWaiter(stream: StreamWriter): Future<void> {
    if (stream !== this.stdin) throw new TypeError('not the stdin of this process');
    return this.stdinClosed;
  }

  private connectReader(transport: SubprocessTransport, fd: 1 | 2): StreamReader | null {
    const pipe = transport.getPipeTransport(fd) as ReadTransport | null;
    if (pipe === null) return null;
    const reader = new StreamReader({ limit: this.limit, loop: this.loop });
    reader.setTransport(pipe);
    this.openPipes.add(fd);
    return reader;
  }

  private readerOf(fd: number): StreamReader | null {
    return fd === 1 ? this.stdout : fd === 2 ? this.stderr : null;
  }

  private maybeCloseTransport(): void {
    if (this.openPipes.size > 0 || !this.exited || this.transport === null) return;
    this.transport.close();
    this.transport = null;
  }
}

/** A running child process with stream pipes (asyncio's `asyncio.subprocess.Process`). */
export class Process {
  /** The child's process id. */
  readonly pid: number;
  /** A StreamWriter to the child's stdin when it is PIPE, else null. */
  readonly stdin: StreamWriter | null;
  /** A StreamReader of the child's stdout when it is PIPE, else null. */
  readonly stdout: StreamReader | null;
  /** A StreamReader of the child's stderr when it is PIPE, else null. */
  readonly stderr: StreamReader | null;

  /** @internal Made by createSubprocessExec/createSubprocessShell. */
  constructor(
    private readonly transport: BaseSubprocessTransport,
    protocol: SubprocessStreamProtocol,
    private readonly loop: EventLoop,
  ) {
    this.pid = transport.getPid() as number;
    this.stdin = protocol.stdin;
    this.stdout = protocol.stdout;
    this.stderr = protocol.stderr;
  }

  /** The exit code, minus the signal number if a signal ended it (-9 after kill()), null while running. */
  get returncode(): number | null {
    return this.transport.getReturncode();
  }

  /**
   * Waits for the child to exit and returns its return code. Once `returncode`
   * is set it returns at once; otherwise it also waits for the child's pipes
   * to close (EOF), so all output has been delivered to the readers. With
   * stdout or stderr piped, a child writing more than the pipes and the
   * readers hold blocks until they are read: read them, or use communicate().
   */
  async wait(): Promise<number> {
    return await this.transport._wait();
  }

  /**
   * Sends `input` (if given) to stdin and closes it, reads stdout and stderr
   * to EOF at the same time, waits for the child to exit, and returns
   * `[stdout, stderr]`: Buffers for the piped ones, null for the others.
   * A child that exits or closes stdin before reading all the input does not
   * make it fail (BrokenPipeError and ConnectionResetError are ignored). The
   * input is ignored when stdin is not PIPE. Cancelled, it leaves the child
   * running; output read so far is lost.
   */
  async communicate(input: Data | null = null): Promise<[Buffer | null, Buffer | null]> {
    if (input !== null && typeof input !== 'string' && !(input instanceof Uint8Array)) {
      throw new TypeError(`communicate: input must be a Buffer, Uint8Array, string or null, got ${typeof input}`);
    }
    const parts: Task<unknown>[] = [];
    if (this.stdin !== null) parts.push(this.loop.createTask(() => this.feedStdin(this.stdin as StreamWriter, input)));
    const stdout = this.stdout === null ? null : this.loop.createTask(() => this.readStream(1));
    const stderr = this.stderr === null ? null : this.loop.createTask(() => this.readStream(2));
    for (const task of [stdout, stderr]) if (task !== null) parts.push(task);
    await gather(...parts);
    await this.wait();
    return [stdout === null ? null : stdout.result(), stderr === null ? null : stderr.result()];
  }

  /** Sends `signal` (a name such as 'SIGINT' or a number); ProcessLookupError once the Process has finished. */
  sendSignal(signal: NodeJS.Signals | number): void {
    this.transport.sendSignal(signal);
  }

  /** Sends SIGTERM. */
  terminate(): void {
    this.transport.terminate();
  }

  /** Sends SIGKILL. */
  kill(): void {
    this.transport.kill();
  }

  toString(): string {
    return `<Process ${this.pid}>`;
  }

  private async feedStdin(stdin: StreamWriter, input: Data | null): Promise<void> {
    try {
      if (input !== null) stdin.write(input);
      await stdin.drain();
    } catch (err) {
      // The child may exit or close stdin without reading everything: not an error here.
      if (!isBrokenConnection(err)) throw err;
    }
    stdin.close();
  }

  private async readStream(fd: 1 | 2): Promise<Buffer> {
    const stream = (fd === 1 ? this.stdout : this.stderr) as StreamReader;
    const output = await stream.read();
    this.transport.getPipeTransport(fd)?.close();
    return output;
  }
}

function isBrokenConnection(err: unknown): boolean {
  if (err instanceof BrokenPipeError || err instanceof ConnectionResetError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

/**
 * Runs `program` (searched in PATH) with `args` and resolves to its Process.
 * `options`: `stdin`, `stdout`, `stderr` (PIPE, DEVNULL, STDOUT for stderr,
 * a file descriptor, or null/omitted to inherit ours), `limit` (the readers'
 * buffer limit), `cwd`, `env`. Raises FileNotFoundError (code 'ENOENT') for
 * a missing program or cwd, TypeError for a bad argument.
 */
export async function createSubprocessExec(
  program: string,
  args: readonly string[] = [],
  options: ProcessOptions = {},
): Promise<Process> {
  const loop = _requireRunningLoop('createSubprocessExec()');
  const [limit, rest] = splitLimit(options, 'createSubprocessExec');
  const factory = (): SubprocessStreamProtocol => new SubprocessStreamProtocol(limit, loop);
  const [transport, protocol] = await loop.subprocessExec(factory, program, args, rest);
  return new Process(transport, protocol, loop);
}

/** createSubprocessExec for a shell command line, run with `/bin/sh -c cmd`. */
export async function createSubprocessShell(cmd: string, options: ProcessOptions = {}): Promise<Process> {
  const loop = _requireRunningLoop('createSubprocessShell()');
  const [limit, rest] = splitLimit(options, 'createSubprocessShell');
  const factory = (): SubprocessStreamProtocol => new SubprocessStreamProtocol(limit, loop);
  const [transport, protocol] = await loop.subprocessShell(factory, cmd, rest);
  return new Process(transport, protocol, loop);
}

function splitLimit(options: ProcessOptions, caller: string): [number, SubprocessOptions] {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${caller}: options must be an object, got ${String(options)}`);
  }
  const { limit, ...rest } = options;
  return [checkLimit(limit), rest];
}
