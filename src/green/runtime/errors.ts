/**
 * Error classes of the green runtime: where green code may run, and what happens
 * when the thread or the loop it depends on goes away.
 *
 * Every class sets `name`, so an error rebuilt on another thread (see
 * codec.ts) is an instance of the same class there.
 */
import { GreenloopError, RuntimeError } from '../../loop/errors.js';

/**
 * A green call was made while the bridge is off (`GREENLOOP_BRIDGE=off` or
 * `configure({ bridge: false })`). The message names the call and where it
 * was made, so the remaining green code can be found and migrated.
 */
export class BridgeDisabledError extends GreenloopError {
  /** The green API that was called, e.g. 'spawn'. */
  readonly call: string;
  /** The caller's stack frame, e.g. 'file:///app/server.ts:12:5', or '' if unknown. */
  readonly callSite: string;

  constructor(call: string, callSite: string) {
    const where = callSite === '' ? '' : ` at ${callSite}`;
    super(
      `${call}() called${where}, but the green bridge is disabled (GREENLOOP_BRIDGE=off or ` +
        `configure({ bridge: false })): migrate this call to async code, or enable the bridge`,
    );
    this.name = 'BridgeDisabledError';
    this.call = call;
    this.callSite = callSite;
  }
}

/**
 * A function passed to another thread (`spawn`, `runGreen`, `callAsync`,
 * `runInExecutor`...) is not a module-level export. Threads share no
 * memory: the other thread imports the function's module and looks the
 * function up by its export, so closures, methods, bound and anonymous
 * functions cannot cross.
 */
export class NotModuleLevelError extends GreenloopError {
  constructor(message: string) {
    super(message);
    this.name = 'NotModuleLevelError';
  }
}

/**
 * A green thread was spawned from module top-level code running inside a
 * green worker: importing the module into the worker ran its top-level code
 * again, which is how a program ends up spawning itself forever. Guard the
 * program's entry code with `if (isMainGreenThread()) { ... }`.
 */
export class RecursiveSpawnError extends GreenloopError {
  constructor(message: string) {
    super(message);
    this.name = 'RecursiveSpawnError';
  }
}

/**
 * The hub serving this green thread is gone: its event loop was closed (or
 * the hub thread died) while the green thread was blocked or running. Every
 * blocking call of the thread raises it from then on.
 */
export class HubClosedError extends GreenloopError {
  constructor(message?: string) {
    super(message ?? 'the event loop serving this green thread was closed');
    this.name = 'HubClosedError';
  }
}

/**
 * The worker thread running a green thread (or an executor call) died: it
 * called `process.exit()`, hit an uncaught error outside the green function,
 * ran out of memory, or was terminated. `exitCode` is the worker's exit code
 * when known.
 */
export class WorkerCrashedError extends GreenloopError {
  readonly exitCode: number | null;

  constructor(message: string, exitCode: number | null = null, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WorkerCrashedError';
    this.exitCode = exitCode;
  }
}

/**
 * A blocking green call was made on the hub thread, where blocking would
 * stop the event loop that must do the work. The message names the
 * non-blocking alternative (usually `await ...`).
 */
export class BlockingOnHubError extends RuntimeError {
  constructor(message: string) {
    super(message);
    this.name = 'BlockingOnHubError';
  }
}

/**
 * A green call was made in a thread that is not running a green thread: a
 * thread-pool worker running an executor call (as in eventlet's tpool, those
 * threads are not green), or a green worker between two green threads.
 */
export class NotInGreenThreadError extends RuntimeError {
  constructor(message: string) {
    super(message);
    this.name = 'NotInGreenThreadError';
  }
}

/**
 * Raised inside a green thread by `kill()` (greenlet's GreenletExit): at the
 * blocking call the thread is parked in, or at its next one. The thread may
 * catch it and go on. `wait()` on a thread that ended with it raises it too,
 * and an async task awaiting such a thread gets CancelledError instead.
 * It belongs to the runtime, as greenlet's does to eventlet's hub.
 */
export class GreenletExit extends GreenloopError {
  constructor(message?: string) {
    super(message ?? 'green thread killed');
    this.name = 'GreenletExit';
  }
}

/**
 * Debug mode found a deadlock: every green thread is parked and nothing on
 * the loop can wake them (no timer, no ready callback, no I/O handle, no
 * other thread computing). Raised at the call each parked thread waits in,
 * as gevent's `LoopExit`; `dump` is the report of what every task and green
 * thread waited on (`dump()` of greenloop/bridge), also logged once through
 * the loop's exception handler.
 */
export class DeadlockError extends GreenloopError {
  /** The dump taken when the deadlock was found. */
  readonly dump: string;

  constructor(message: string, dump = '') {
    super(message);
    this.name = 'DeadlockError';
    this.dump = dump;
  }
}
