/**
 * Green timeouts (eventlet's `timeout` module): `Timeout` and `withTimeout`.
 *
 * `new Timeout(seconds, error?)` in a green thread starts a timer on the
 * hub. When it expires, `error` (by default the Timeout itself, an Error
 * named 'Timeout') is raised in that green thread: at the blocking call it
 * is parked in (sleep, queue get, socket recv...), or, if it is computing,
 * at its next call to the hub. It uses the same mechanism as `kill()`.
 * The error raised is the very object: `catch (err) { if (err === t) ... }`
 * tells which of several nested timeouts fired.
 *
 * - `cancel()` (or the end of a `using` block) stops it: a cancelled
 *   Timeout never fires, even one that expired while the thread was
 *   computing and had not reached a call yet;
 * - `new Timeout(null)` never fires (eventlet's "fake" timeout, to raise
 *   directly);
 * - a Timeout belongs to the green thread that started it; elsewhere it is
 *   an error like any other (`pending` false, `cancel()` does nothing);
 * - the timer ends with its thread.
 *
 * Async code on the event loop's thread cannot be interrupted this way:
 * there `new Timeout(seconds)` throws BlockingOnHubError, and the async
 * forms are greenloop/loop's `timeout(delay)` (`await using`, or
 * `timeout(delay).run(fn)`) and `waitFor(aw, delay)`. Green code on the
 * loop's own thread is not supported by the green runtime in this version.
 */
import { threadId } from 'node:worker_threads';
import { GreenloopError, RuntimeError } from '../loop/errors.js';
import type { TimerHandle } from '../loop/handles.js';
import {
  blockingOnHub,
  callHub,
  checkBridge,
  currentGreenThread,
  type GreenCaller,
  type HubThread,
  inGreenWorker,
  registerErrorClass,
  registerErrorReviver,
  registerOperation,
  sendHub,
} from './runtime/index.js';
import { checkTimeout } from './hub-object.js';

const MODULE = import.meta.url;

/** Milliseconds on a clock shared by every thread of the process. */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** When each Timeout started here expires (ms of wallNow), null once cancelled. */
const deadlines = new WeakMap<Timeout, { at: number | null }>();
/** The Timeouts started in this thread, by id, so the one raised here is the very object. */
const started = new Map<string, WeakRef<Timeout>>();
const collected = new FinalizationRegistry<string>((id) => {
  if (started.get(id)?.deref() === undefined) started.delete(id);
});

let counter = 0;

/**
 * Raises `error` (the Timeout itself by default) in the current green
 * thread after `seconds`; see the module documentation. Starts at once.
 */
export class Timeout extends GreenloopError {
  /** Seconds until it fires; null: it never does. */
  readonly seconds: number | null;
  /** What it raises, or null to raise itself. */
  readonly error: Error | null;
  /** @internal Unique in the process: how the hub's copy finds its way back to this object. */
  readonly id: string;

  constructor(seconds: number | null = null, error: Error | null = null) {
    const checked = checkTimeout(seconds, 'Timeout()');
    if (error !== null && error !== undefined && !(error instanceof Error)) {
      throw new TypeError(`Timeout(): error must be an Error or null, got ${String(error)}`);
    }
    super(describe(checked, error ?? null));
    this.name = 'Timeout';
    this.seconds = checked;
    this.error = error ?? null;
    this.id = `${threadId}.${++counter}`;
    this.start();
  }

  /** Whether it is started and neither expired nor cancelled. */
  get pending(): boolean {
    const at = deadlines.get(this)?.at ?? null;
    return at !== null && wallNow() < at;
  }

  /**
   * Starts the timer (the constructor does): only to restart a cancelled
   * Timeout. RuntimeError if it is pending.
   */
  start(): this {
    if (this.pending) throw new RuntimeError(`${this.toString()} is already started; to restart it, cancel it first`);
    if (this.seconds === null) return this;
    checkBridge('Timeout');
    if (!inGreenWorker()) {
      throw blockingOnHub(
        'Timeout()',
        'async code bounds an await with `timeout(delay)` or `waitFor(aw, delay)` from greenloop/loop',
      );
    }
    currentGreenThread('Timeout');
    const at = wallNow() + this.seconds * 1000;
    deadlines.set(this, { at });
    if (!started.has(this.id)) {
      started.set(this.id, new WeakRef(this));
      collected.register(this, this.id);
    }
    // The deadline, not the delay: a hub still starting, or loading this
    // module, fires it when it was due all the same.
    sendHub('timeout.start', [this, at], MODULE);
    return this;
  }

  /** Stops it: once this returns, it never fires. Does nothing if it is not started. */
  cancel(): void {
    const deadline = deadlines.get(this);
    if (deadline === undefined || deadline.at === null) return;
    deadline.at = null;
    // A kill waiting for this thread's next call is raised by this call,
    // before the hub cancels anything. This Timeout's own: it expired while
    // the thread computed, and its timer is gone; cancelled now, it must not
    // be raised. Another's (an outer Timeout): cancel again, then raise it.
    let raised: { error: unknown } | null = null;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        callHub('timeout.cancel', [this.id], { module: MODULE });
        break;
      } catch (error) {
        if (error === this || error === this.error) break;
        raised ??= { error };
      }
    }
    if (raised !== null) throw raised.error;
  }

  /** `using t = new Timeout(5)`: cancelled at the end of the block. */
  [Symbol.dispose](): void {
    this.cancel();
  }

  override toString(): string {
    return `Timeout(${describe(this.seconds, this.error)}${this.pending ? ', pending' : ''})`;
  }
}

function describe(seconds: number | null, error: Error | null): string {
  if (seconds === null) return '';
  const text = `${seconds} second${seconds === 1 ? '' : 's'}`;
  return error === null ? text : `${text} (${error.name})`;
}

registerErrorClass(Timeout);

/**
 * The hub raises a copy of the Timeout, marked as firing; in the thread
 * that started it, it becomes the Timeout itself, or the error it was given.
 */
registerErrorReviver('Timeout', (error) => {
  const copy = error as Timeout & { firing?: boolean };
  if (copy.firing !== true) return copy;
  delete copy.firing;
  const raised = started.get(copy.id)?.deref() ?? copy;
  return raised.error ?? raised;
});

// ---- withTimeout ---------------------------------------------------------------

/** The last argument of `withTimeout` that makes it return a value instead of raising. */
export interface TimeoutValue<V> {
  readonly timeoutValue: V;
}

function isTimeoutValue(value: unknown): value is TimeoutValue<unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === 'timeoutValue';
}

/**
 * Calls `fn(...args)` under a Timeout of `seconds` (eventlet's
 * `with_timeout`). If it expires, the Timeout is raised, or, when the last
 * argument is `{ timeoutValue }` (a plain object with only that key, not
 * passed to `fn`), that value is returned instead. An outer timeout that
 * fires meanwhile is raised as usual. For green code.
 */
export function withTimeout<A extends unknown[], R, V>(
  seconds: number | null,
  fn: (...args: A) => R,
  ...args: [...A, TimeoutValue<V>]
): R | V;
export function withTimeout<A extends unknown[], R>(seconds: number | null, fn: (...args: A) => R, ...args: A): R;
export function withTimeout(seconds: number | null, fn: (...args: unknown[]) => unknown, ...args: unknown[]): unknown {
  checkBridge('withTimeout');
  if (typeof fn !== 'function') throw new TypeError('withTimeout() needs a function');
  const option = args.length > 0 && isTimeoutValue(args[args.length - 1]) ? (args.pop() as TimeoutValue<unknown>) : null;
  const timeout = new Timeout(seconds);
  try {
    return fn(...args);
  } catch (error) {
    if (error === timeout && option !== null) return option.timeoutValue;
    throw error;
  } finally {
    timeout.cancel();
  }
}

// ---- hub side --------------------------------------------------------------------

/** The timers of started Timeouts, by id. */
const timers = new Map<string, () => void>();

registerOperation('timeout.start', (caller: GreenCaller, timeout: Timeout, at: number) => {
  // The caller is the thread itself (from whichever copy of greenloop the hub runs).
  const thread = caller as HubThread;
  if (thread.dead) return;
  let timer: TimerHandle | null = null;
  let unsubscribe = (): void => undefined;
  const stop = (): void => {
    if (timers.get(timeout.id) === stop) timers.delete(timeout.id);
    timer?.cancel();
    unsubscribe();
  };
  timers.get(timeout.id)?.();
  timer = caller.loop.callLater(Math.max(0, at - wallNow()) / 1000, () => {
    stop();
    (timeout as Timeout & { firing?: boolean }).firing = true;
    thread.killWith(timeout);
  });
  timers.set(timeout.id, stop);
  unsubscribe = thread.onExit(stop);
});

registerOperation('timeout.cancel', (_caller: GreenCaller, id: string) => {
  timers.get(id)?.();
});
