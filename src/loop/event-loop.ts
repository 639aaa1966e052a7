/**
 * The event loop (asyncio's `base_events.py`): a ready queue of callbacks run
 * in snapshots, a heap of timers, and the exception handler.
 *
 * How it sits on Node's own loop: one iteration of this loop (`_runOnce`) is
 * one Node macrotask. It runs every callback that was ready when it began
 * (callbacks scheduled meanwhile wait for the next iteration), then arms
 * exactly one Node handle for the next iteration: `setImmediate` when callbacks
 * are ready (so Node's I/O gets its turn in between), or one `setTimeout` for
 * the earliest timer. Promise continuations of async-function tasks run as
 * microtasks right after the iteration that resumed them.
 */
import { Deque } from './deque.js';
import { debugFromEnvironment, describeValue } from './debug.js';
import { isCoroutine, isCoroutineFunction } from './coroutines.js';
import { RuntimeError } from './errors.js';
import { createDefaultExecutor, type Executor } from './executor.js';
import { Future, futureFromPromise } from './futures.js';
import { Handle, TimerHandle } from './handles.js';
import { MinHeap } from './heap.js';
import { logger } from './log.js';
import { _getRunningLoop, _registerLoopFactory, _setRunningLoop, inGreenThread } from './running.js';
import { runOutsideTasks } from './context.js';
import { ensureFuture, Task, type Awaitable, type CoroutineFunction, type CoroutineLike } from './tasks.js';
import * as subprocesses from './base-subprocess.js';
import type { SubprocessProtocol } from './protocols.js';
import * as datagrams from './datagram.js';
import * as dns from './dns.js';
import * as signals from './signals.js';
import * as tcp from './tcp.js';
import type { Server } from './server.js';
import type { SocketTransport } from './socket-transport.js';
import type { Protocol } from './protocols.js';
import type { DatagramProtocol } from './protocols.js';

/** What the loop passes to its exception handler (asyncio's context dict). */
export interface ExceptionContext {
  message: string;
  exception?: unknown;
  future?: Future<unknown>;
  task?: Task<unknown>;
  handle?: Handle;
  source_traceback?: string[];
  [key: string]: unknown;
}

export type ExceptionHandler = (loop: EventLoop, context: ExceptionContext) => void;

export interface CreateTaskOptions<A extends unknown[]> {
  /** The task's name (`getName()`); 'Task-N' when not given. */
  name?: string;
  /** Arguments for a coroutine function. */
  args?: A;
}

/** Cancelled timers are purged from the heap once they are this many and half of it. */
const MIN_CANCELLED_TIMERS_TO_PURGE = 100;
/** The longest delay Node's setTimeout honours. */
const MAX_NODE_TIMER_MS = 2 ** 31 - 1;

export class EventLoop {
  /** Callbacks taking longer than this (seconds) are logged in debug mode. */
  slowCallbackDuration = 0.1;

  private readonly ready = new Deque<Handle>();
  private readonly timers = new MinHeap<TimerHandle>(
    (a, b) => a.when() < b.when() || (a.when() === b.when() && a._sequence < b._sequence),
  );
  private cancelledTimers = 0;
  private timerSequence = 0;

  private running = false;
  private stopping = false;
  private closed = false;
  private iterating = false;
  /** The last iteration ran; the run ends once its microtasks have. */
  private finishing = false;
  private debug = debugFromEnvironment();
  private exceptionHandler: ExceptionHandler | null = null;

  private immediate: NodeJS.Immediate | null = null;
  private nodeTimer: NodeJS.Timeout | null = null;
  private nodeTimerWhen = Infinity;
  private keepAlive: NodeJS.Timeout | null = null;
  private resolveRun: (() => void) | null = null;
  private readonly closeHooks = new Set<() => void>();
  private readonly idleHooks = new Set<() => void>();
  /** The idle hooks ran since the last iteration that ran callbacks. */
  private idleWaited = false;
  /** @internal The executor `runInExecutor(null, ...)` uses, created on first use. */
  _defaultExecutor: Executor | null = null;
  /** The default executor while its module loads (first `runInExecutor(null, ...)`). */
  private defaultExecutorLoading: Promise<Executor> | null = null;

  // ---- time and scheduling -------------------------------------------------

  /** Monotonic time in seconds, the clock of every timer of this loop. */
  time(): number {
    return globalThis.performance.now() / 1000;
  }

  /** Runs `callback(...args)` on the next iteration, after those already scheduled. */
  callSoon<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): Handle {
    return this.scheduleSoon(callback, args, 'callSoon');
  }

  /**
   * Schedules `callback(...args)` from code that runs outside the loop's own
   * callbacks and tasks (asyncio's `call_soon_threadsafe`): a Node event
   * (timer, I/O, a worker's 'message', a signal), a promise settled by
   * foreign code. The callback runs on the loop's thread in the loop's next
   * iteration, and the call wakes the loop if it is idle (waiting on nothing
   * or on a later timer), so it runs promptly, not at the next timer.
   * RuntimeError on a closed loop, as asyncio.
   *
   * "Thread" safety in JS: a loop object lives on the one thread that
   * created it and cannot be handed to another (workers share no objects),
   * so this is called on the loop's thread, only from outside the loop. Another
   * thread reaches the loop by posting a message to this thread (a
   * `worker_threads` port) whose handler calls `callSoonThreadsafe`, or,
   * from green code, through greenloop's own crossings (`callAsync`,
   * `runAsync`).
   */
  callSoonThreadsafe<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): Handle {
    if (!this.isRunning() && inGreenThread()) {
      // The usual slip of green code: this thread's own loop never runs, so
      // the callback would be lost; the loop the code means is on the hub.
      throw new RuntimeError(
        'callSoonThreadsafe() from a green thread: this thread has no running event loop (the loop runs on ' +
          "the hub's thread, which objects cannot reach); run code there with callAsync(fn, ...args) or " +
          'runAsync(fn, ...args) from greenloop/bridge, fn a module-level exported function',
      );
    }
    return this.scheduleSoon(callback, args, 'callSoonThreadsafe');
  }

  private scheduleSoon<A extends unknown[]>(callback: (...args: A) => unknown, args: A, method: string): Handle {
    this.checkClosed();
    this.checkCallback(callback, method);
    const handle = new Handle(callback as (...args: never[]) => unknown, args, this);
    this.ready.push(handle);
    // The wake-up (asyncio's self-pipe write): a running loop that waits has
    // at most one Node timer armed, for its next timer; `arm` replaces it
    // with an immediate. Inside an iteration (or an idle hook) the iteration
    // arms on its way out; a loop that is not running runs it on its next run.
    this.arm();
    return handle;
  }

  /** Runs `callback(...args)` after `delay` seconds (never earlier). */
  callLater<A extends unknown[]>(delay: number, callback: (...args: A) => unknown, ...args: A): TimerHandle {
    if (typeof delay !== 'number' || Number.isNaN(delay)) {
      throw new TypeError(`callLater: delay must be a number of seconds, got ${String(delay)}`);
    }
    return this.scheduleAt(this.time() + delay, callback, args, 'callLater');
  }

  /** Runs `callback(...args)` at loop time `when` (seconds, as `time()`). */
  callAt<A extends unknown[]>(when: number, callback: (...args: A) => unknown, ...args: A): TimerHandle {
    if (typeof when !== 'number' || Number.isNaN(when)) {
      throw new TypeError(`callAt: when must be a loop time in seconds, got ${String(when)}`);
    }
    return this.scheduleAt(when, callback, args, 'callAt');
  }

  private scheduleAt<A extends unknown[]>(
    when: number,
    callback: (...args: A) => unknown,
    args: A,
    method: string,
  ): TimerHandle {
    this.checkClosed();
    this.checkCallback(callback, method);
    const timer = new TimerHandle(when, this.timerSequence++, callback as (...args: never[]) => unknown, args, this);
    timer._scheduled = true;
    this.timers.push(timer);
    this.arm();
    return timer;
  }

  /** @internal A scheduled timer was cancelled: count it for lazy purging. */
  _timerHandleCancelled(_timer: TimerHandle): void {
    this.cancelledTimers++;
  }

  // ---- futures and tasks ---------------------------------------------------

  /** A new Future attached to this loop. */
  createFuture<T = unknown>(): Future<T> {
    return new Future<T>({ loop: this });
  }

  /**
   * Wraps a coroutine in a Task and schedules its first step on the next
   * iteration. `coro` is a coroutine function (called inside the task, with
   * `options.args`), a generator object, or a promise.
   */
  createTask<T, A extends unknown[] = []>(coro: CoroutineLike<T, A>, options: CreateTaskOptions<A> = {}): Task<T> {
    this.checkClosed();
    return new Task<T>(coro as CoroutineLike<T, unknown[]>, { loop: this, name: options.name, args: options.args });
  }

  // ---- running and stopping ------------------------------------------------

  /**
   * Runs the loop until `stop()` is called. The returned promise settles when
   * the loop has stopped; the process stays alive meanwhile.
   */
  runForever(): Promise<void> {
    try {
      this.checkClosed();
      this.checkNotRunning();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve) => {
      this.resolveRun = resolve;
      this.running = true;
      _setRunningLoop(this);
      this.keepAlive = globalThis.setInterval(() => undefined, 2 ** 30);
      this.arm();
    });
  }

  /**
   * Runs the loop until `awaitable` is done and returns its result (or
   * throws its error). A coroutine function is started as a Task first. If the loop stops first, throws a RuntimeError and
   * leaves the task to be resumed by a later run.
   */
  async runUntilComplete<T>(awaitable: Awaitable<T> | CoroutineFunction<T>): Promise<T> {
    this.checkClosed();
    this.checkNotRunning();
    const isNewTask = !(awaitable instanceof Future);
    const future =
      typeof awaitable === 'function' ? this.createTask(awaitable) : ensureFuture(awaitable, { loop: this });
    if (isNewTask) future._logDestroyPending = false;
    const stopWhenDone = (): void => this.stop();
    future.addDoneCallback(stopWhenDone);
    try {
      await this.runForever();
    } finally {
      future.removeDoneCallback(stopWhenDone);
    }
    if (!future.done()) throw new RuntimeError('Event loop stopped before Future completed.');
    return future.result();
  }

  /**
   * Stops the loop after the current iteration. Called before the loop runs,
   * the next run does one iteration and stops.
   */
  stop(): void {
    this.stopping = true;
    this.arm();
  }

  isRunning(): boolean {
    return this.running;
  }

  isClosed(): boolean {
    return this.closed;
  }

  /**
   * Closes the loop: pending callbacks are dropped and the default executor is
   * shut down without waiting. Idempotent; a RuntimeError on a running loop.
   */
  close(): void {
    if (this.running) throw new RuntimeError('Cannot close a running event loop');
    if (this.closed) return;
    this.closed = true;
    this.ready.clear();
    this.timers.filter(() => false);
    for (const hook of [...this.closeHooks]) hook();
    this.closeHooks.clear();
    const executor = this._defaultExecutor;
    this._defaultExecutor = null;
    if (executor !== null) void executor.shutdown(false);
  }

  /**
   * @internal Registers `hook` to run when an iteration leaves nothing
   * ready, once per idle spell, after Node's I/O had its turn. A hook may
   * wait briefly for work that is about to come (the green hub spins for
   * the next message of a computing green thread) and schedule it.
   */
  _onIdle(hook: () => void): () => void {
    this.idleHooks.add(hook);
    return () => this.idleHooks.delete(hook);
  }

  /**
   * @internal Whether the loop has something to run on its own: a ready
   * callback or a timer not cancelled (the green hub's deadlock watch).
   */
  _hasWork(): boolean {
    return this.ready.length > 0 || this.timers.size > this.cancelledTimers;
  }

  /** @internal Registers cleanup to run when the loop closes (I/O, green hub). */
  _onClose(hook: () => void): () => void {
    this.closeHooks.add(hook);
    return () => this.closeHooks.delete(hook);
  }

  // ---- network: connections and servers (tcp.ts, server.ts) ----------------

  /**
   * Connects to `host`:`port` over TCP (TLS with `ssl`) and resolves to
   * `[transport, protocol]` once `protocol.connectionMade` has run. Options:
   * `ssl`, `serverHostname`, `sslHandshakeTimeout`, `localAddr`, `family`,
   * `sock`; see `tcp.ts` for the TLS shapes and errors.
   */
  createConnection<P extends Protocol>(
    protocolFactory: () => P,
    host?: string | null,
    port?: number | string | null,
    options: tcp.ConnectionOptions = {},
  ): Promise<[SocketTransport, P]> {
    return tcp.createConnection(this, protocolFactory, host, port, options);
  }

  /**
   * Listens on `host`:`port` (null / '' host: every interface; port 0: any
   * free port) and serves each connection with a new protocol. Options:
   * `ssl`, `backlog`, `family`, `reuseAddress`, `reusePort`, `startServing`,
   * `sslHandshakeTimeout`. Resolves to the Server once listening.
   */
  createServer(
    protocolFactory: () => Protocol,
    host?: tcp.ServerHost,
    port?: number | string | null,
    options: tcp.ServerOptions = {},
  ): Promise<Server> {
    return tcp.createServer(this, protocolFactory, host, port, options);
  }

  /** createConnection over the Unix socket at `path`. */
  createUnixConnection<P extends Protocol>(
    protocolFactory: () => P,
    path?: string | null,
    options: tcp.UnixConnectionOptions = {},
  ): Promise<[SocketTransport, P]> {
    return tcp.createUnixConnection(this, protocolFactory, path, options);
  }

  /** createServer on the Unix socket at `path` (a stale socket file there is removed first). */
  createUnixServer(protocolFactory: () => Protocol, path: string, options: tcp.UnixServerOptions = {}): Promise<Server> {
    return tcp.createUnixServer(this, protocolFactory, path, options);
  }

  // (end of network section)

  // ---- datagrams, DNS, signals (datagram.ts, dns.ts, signals.ts) -----------

  /**
   * Creates a UDP endpoint and returns `[transport, protocol]` once
   * `protocol.connectionMade` has run. Options: `localAddr`, `remoteAddr`
   * (`[host, port]`), `family`, `proto`, `flags`, `reusePort`,
   * `allowBroadcast`; see `datagram-transport.ts` for the guarantees.
   */
  createDatagramEndpoint<P extends DatagramProtocol>(
    protocolFactory: () => P,
    options: datagrams.DatagramEndpointOptions = {},
  ): Promise<[datagrams.DatagramSocketTransport, P]> {
    return datagrams.createDatagramEndpoint(this, protocolFactory, options);
  }

  /**
   * Resolves `host` and `port` with the system resolver: a Future of
   * `[family, type, proto, canonname, sockaddr]` entries, as Python's
   * `socket.getaddrinfo`. Failures are GaiErrors (`code` 'ENOTFOUND', ...).
   */
  getaddrinfo(
    host: string | null | undefined,
    port: dns.PortSpec,
    options: dns.GetaddrinfoOptions = {},
  ): Future<dns.AddrInfo[]> {
    return dns.getaddrinfo(this, host, port, options);
  }

  /** The `[host, service]` names of a numeric `[address, port]`, honouring NI_* flags. */
  getnameinfo(sockaddr: dns.SockAddr, flags = 0): Future<[host: string, service: string]> {
    return dns.getnameinfo(this, sockaddr, flags);
  }

  /**
   * Calls `callback(...args)` through this loop whenever signal `sig` (a name
   * or number) arrives, replacing a previous handler for it. RuntimeError for
   * SIGKILL/SIGSTOP; closing the loop removes its handlers.
   */
  addSignalHandler<A extends unknown[]>(sig: signals.SignalSpec, callback: (...args: A) => unknown, ...args: A): void {
    signals.addSignalHandler(this, sig, callback, ...args);
  }

  /** Removes the handler for `sig` (default action restored): whether there was one. */
  removeSignalHandler(sig: signals.SignalSpec): boolean {
    return signals.removeSignalHandler(this, sig);
  }

  // (end of system section)

  // ---- subprocesses (base-subprocess.ts) -----------------------------------

  /**
   * Runs `program` (searched in PATH) with `args` and connects the protocol
   * made by `protocolFactory` to it; resolves to `[transport, protocol]` once
   * `connectionMade` has run. `options.stdin/stdout/stderr`: PIPE, DEVNULL,
   * STDOUT (stderr only), a file descriptor, or null to inherit (default).
   * A missing program or cwd raises FileNotFoundError; a bad argument, TypeError.
   */
  subprocessExec<P extends SubprocessProtocol>(
    protocolFactory: () => P,
    program: string,
    args: readonly string[] = [],
    options: subprocesses.SubprocessOptions = {},
  ): Promise<[subprocesses.BaseSubprocessTransport, P]> {
    return subprocesses.subprocessExec(this, protocolFactory, program, args, options);
  }

  /** `subprocessExec` for a shell command line, run with `/bin/sh -c cmd`. */
  subprocessShell<P extends SubprocessProtocol>(
    protocolFactory: () => P,
    cmd: string,
    options: subprocesses.SubprocessOptions = {},
  ): Promise<[subprocesses.BaseSubprocessTransport, P]> {
    return subprocesses.subprocessShell(this, protocolFactory, cmd, options);
  }

  // (end of subprocess section)

  // ---- executors (executor.ts) ---------------------------------------------

  /**
   * Runs `fn(...args)` in `executor` and returns a Future of its result.
   * With `executor` null, the loop's default executor: a thread pool
   * (`ThreadPoolExecutor`) created on first use, whose module loads then;
   * it needs neither greenloop/green nor the bridge, and `fn` must be a
   * module-level exported function. Cancelling the Future does not stop a
   * function already running; its outcome is then ignored.
   */
  runInExecutor<A extends unknown[], R>(
    executor: Executor | null,
    fn: (...args: A) => R | PromiseLike<R>,
    ...args: A
  ): Future<Awaited<R>> {
    this.checkClosed();
    const target = executor ?? this.defaultExecutor();
    if (!(target instanceof Promise)) return futureFromPromise(target.submit(fn, ...args), this);
    return futureFromPromise(
      target.then((ready) => ready.submit(fn, ...args)),
      this,
    );
  }

  /** The default executor, or the promise of it while its module loads. */
  private defaultExecutor(): Executor | Promise<Executor> {
    if (this._defaultExecutor !== null) return this._defaultExecutor;
    if (this.defaultExecutorLoading !== null) return this.defaultExecutorLoading;
    const created = createDefaultExecutor();
    if (!(created instanceof Promise)) return (this._defaultExecutor = created);
    const loading: Promise<Executor> = created.then(
      (executor) => {
        if (this.defaultExecutorLoading === loading) this.defaultExecutorLoading = null;
        if (this.closed) {
          void executor.shutdown(false);
          throw new RuntimeError('Event loop is closed');
        }
        // setDefaultExecutor() meanwhile: that one wins.
        if (this._defaultExecutor !== null) {
          void executor.shutdown(false);
          return this._defaultExecutor;
        }
        this._defaultExecutor = executor;
        return executor;
      },
      (error: unknown) => {
        if (this.defaultExecutorLoading === loading) this.defaultExecutorLoading = null;
        throw error;
      },
    );
    this.defaultExecutorLoading = loading;
    return loading;
  }

  /** Replaces the executor `runInExecutor(null, ...)` uses. */
  setDefaultExecutor(executor: Executor): void {
    this._defaultExecutor = executor;
  }

  /** Shuts the default executor down and waits for its running work. */
  async shutdownDefaultExecutor(): Promise<void> {
    // Calls made while its module loaded are submitted first, then it shuts down.
    if (this.defaultExecutorLoading !== null) await this.defaultExecutorLoading.catch(() => undefined);
    const executor = this._defaultExecutor;
    this._defaultExecutor = null;
    if (executor !== null) await executor.shutdown(true);
  }

  // ---- errors and debug ----------------------------------------------------

  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null && typeof handler !== 'function') {
      throw new TypeError(`A callable object or null is expected, got ${String(handler)}`);
    }
    this.exceptionHandler = handler;
  }

  getExceptionHandler(): ExceptionHandler | null {
    return this.exceptionHandler;
  }

  /**
   * Reports an error that no caller can receive (a failing callback, an
   * exception never retrieved). Calls the custom handler if one is set,
   * else `defaultExceptionHandler`; a handler that throws is itself reported
   * and the loop goes on.
   */
  callExceptionHandler(context: ExceptionContext): void {
    const handler = this.exceptionHandler;
    if (handler === null) {
      try {
        this.defaultExceptionHandler(context);
      } catch (err) {
        logger.error(`Exception in default exception handler: ${formatError(err)}`);
      }
      return;
    }
    try {
      handler(this, context);
    } catch (exception) {
      try {
        this.defaultExceptionHandler({ message: 'Unhandled error in exception handler', exception, context });
      } catch (err) {
        logger.error(`Exception in default exception handler: ${formatError(err)}`);
      }
    }
  }

  /** Logs the context: its message, the error's stack and every other key. */
  defaultExceptionHandler(context: ExceptionContext): void {
    const lines = [context.message || 'Unhandled exception in event loop'];
    for (const [key, value] of Object.entries(context)) {
      if (key === 'message' || key === 'exception') continue;
      if (key === 'source_traceback' && Array.isArray(value)) {
        lines.push(`Object created at (most recent call first):\n    ${value.join('\n    ')}`);
      } else {
        lines.push(`${key}: ${String(value)}`);
      }
    }
    if (context.exception !== undefined) lines.push(formatError(context.exception));
    logger.error(lines.join('\n'));
  }

  setDebug(enabled: boolean): void {
    this.debug = Boolean(enabled);
  }

  getDebug(): boolean {
    return this.debug;
  }

  // ---- the iteration -------------------------------------------------------

  /**
   * Arms the one Node handle that drives the next iteration. Inside an
   * iteration this waits: the iteration arms on its way out.
   */
  private arm(): void {
    if (!this.running || this.iterating || this.finishing) return;
    if (this.ready.length > 0 || this.stopping) {
      if (this.immediate === null) {
        this.clearNodeTimer();
        this.immediate = globalThis.setImmediate(this.onImmediate);
      }
      return;
    }
    if (this.immediate !== null) return;
    if (this.idleHooks.size > 0 && !this.idleWaited) {
      this.idleWaited = true;
      this.clearNodeTimer();
      this.immediate = globalThis.setImmediate(this.onIdleImmediate);
      return;
    }
    const next = this.timers.peek();
    if (next === undefined) {
      this.clearNodeTimer();
      return;
    }
    if (this.nodeTimer !== null && this.nodeTimerWhen <= next.when()) return;
    this.clearNodeTimer();
    // Node clamps delays over 2^31-1 ms to 1 ms: arm at most that far ahead.
    const delayMs = Math.min(MAX_NODE_TIMER_MS, Math.max(0, Math.ceil((next.when() - this.time()) * 1000)));
    this.nodeTimerWhen = next.when();
    this.nodeTimer = globalThis.setTimeout(this.onNodeTimer, delayMs);
  }

  private readonly onImmediate = (): void => {
    this.immediate = null;
    runOutsideTasks(this._runOnceBound);
  };

  /** Going idle: the idle hooks run; what they schedule runs at once. */
  private readonly onIdleImmediate = (): void => {
    this.immediate = null;
    if (!this.running) return;
    // Callbacks the hooks schedule wait for the iteration below instead of arming.
    this.iterating = true;
    try {
      // Work that came meanwhile (I/O callbacks) goes first: no waiting then.
      if (this.ready.length === 0) for (const hook of this.idleHooks) this.runIdleHook(hook);
    } finally {
      this.iterating = false;
    }
    if (this.ready.length > 0) runOutsideTasks(this._runOnceBound);
    else this.arm();
  };

  private runIdleHook(hook: () => void): void {
    try {
      hook();
    } catch (exception) {
      this.callExceptionHandler({ message: 'Exception in an idle hook of the event loop', exception });
    }
  }

  private readonly onNodeTimer = (): void => {
    this.nodeTimer = null;
    this.nodeTimerWhen = Infinity;
    runOutsideTasks(this._runOnceBound);
  };

  private clearNodeTimer(): void {
    if (this.nodeTimer === null) return;
    globalThis.clearTimeout(this.nodeTimer);
    this.nodeTimer = null;
    this.nodeTimerWhen = Infinity;
  }

  /**
   * One iteration (asyncio's `_run_once`): moves due timers to the ready
   * queue, then runs the callbacks that were ready at that moment.
   */
  private readonly _runOnceBound = (): void => this._runOnce();

  private _runOnce(): void {
    if (!this.running) return;
    this.iterating = true;
    try {
      this.purgeCancelledTimers();
      this.collectDueTimers();
      if (this.ready.length > 0) this.idleWaited = false;
      this.runReadySnapshot();
    } finally {
      this.iterating = false;
    }
    if (this.stopping) this.finishAfterMicrotasks();
    else this.arm();
  }

  /**
   * Ends the run once the promise continuations this iteration resumed have
   * run: async-function tasks woken in the last iteration still see the loop
   * running, and whatever they schedule waits for the next run. A nextTick
   * queued from a microtask runs only after the microtask queue is empty.
   */
  private finishAfterMicrotasks(): void {
    this.finishing = true;
    queueMicrotask(() => process.nextTick(this.finishRunBound));
  }

  private readonly finishRunBound = (): void => this.finishRun();

  private purgeCancelledTimers(): void {
    const count = this.cancelledTimers;
    if (count > MIN_CANCELLED_TIMERS_TO_PURGE && count * 2 > this.timers.size) {
      this.timers.filter((timer) => !timer._cancelled);
      this.cancelledTimers = 0;
    }
  }

  private collectDueTimers(): void {
    const now = this.time();
    for (let timer = this.timers.peek(); timer !== undefined; timer = this.timers.peek()) {
      if (timer._cancelled) {
        this.timers.pop();
        timer._scheduled = false;
        this.cancelledTimers--;
        continue;
      }
      if (timer.when() > now) break;
      this.timers.pop();
      timer._scheduled = false;
      this.ready.push(timer);
    }
  }

  private runReadySnapshot(): void {
    const count = this.ready.length;
    const timed = this.debug;
    for (let i = 0; i < count; i++) {
      const handle = this.ready.shift() as Handle;
      if (handle._cancelled) continue;
      if (!timed) {
        handle._run();
        continue;
      }
      const started = this.time();
      handle._run();
      const took = this.time() - started;
      if (took >= this.slowCallbackDuration) logger.warning(`Executing ${handle} took ${took.toFixed(3)} seconds`);
    }
  }

  private finishRun(): void {
    this.finishing = false;
    this.stopping = false;
    this.running = false;
    if (_getRunningLoop() === this) _setRunningLoop(null);
    this.clearNodeTimer();
    if (this.immediate !== null) globalThis.clearImmediate(this.immediate);
    this.immediate = null;
    if (this.keepAlive !== null) globalThis.clearInterval(this.keepAlive);
    this.keepAlive = null;
    const resolve = this.resolveRun;
    this.resolveRun = null;
    resolve?.();
  }

  // ---- checks --------------------------------------------------------------

  private checkClosed(): void {
    if (this.closed) throw new RuntimeError('Event loop is closed');
  }

  private checkNotRunning(): void {
    if (this.running) throw new RuntimeError('This event loop is already running');
    if (_getRunningLoop() !== null) {
      throw new RuntimeError('Cannot run the event loop while another loop is running');
    }
  }

  /**
   * A callback must be a plain callable. In debug mode a coroutine function
   * (async or generator function, `coroutine()` wrapper) or a coroutine
   * (promise, generator object) is refused as asyncio does: called as a
   * callback it would start and nobody would await it (or its generator
   * would never run), and its errors would be lost.
   */
  private checkCallback(callback: unknown, method: string): void {
    if (this.debug && (isCoroutine(callback) || isCoroutineFunction(callback))) {
      throw new TypeError(
        `coroutines cannot be used with ${method}() (got ${describeValue(callback)}); ` +
          'start a coroutine with createTask(fn, ...args)',
      );
    }
    if (typeof callback !== 'function') {
      throw new TypeError(`a callable object was expected by ${method}(), got ${String(callback)}`);
    }
  }
}

function formatError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}


_registerLoopFactory(() => new EventLoop());
