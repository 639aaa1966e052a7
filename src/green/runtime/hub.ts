/**
 * The hub: serves the operations of green threads on the event loop.
 *
 * # The operation protocol
 *
 * Green code runs in worker threads; everything that touches the loop
 * (timers, sockets, tasks, other green threads) is an *operation* the hub
 * runs for it. An operation has a name, a handler on the hub and a caller
 * on the green side, usually in the same module:
 *
 *     // hub side, at module top level:
 *     registerOperation('green.sleep', (caller: GreenCaller, seconds: number) => {
 *       const future = caller.loop.createFuture<void>();
 *       const timer = caller.loop.callLater(seconds, () => future.done() || future.setResult());
 *       future.addDoneCallback(() => timer.cancel());
 *       return future;
 *     });
 *
 *     // green side (runs in the worker):
 *     export function sleep(seconds: number): void {
 *       callHub('green.sleep', [seconds], { module: import.meta.url });
 *     }
 *
 * `callHub` posts `{ s: seq, o: name, a: args, t?: timeout, m?: module }`
 * on the worker's channel and blocks (spin, then `Atomics.wait`) until the
 * reply `{ r: seq, ok, v }` arrives (protocol.ts, channel.ts). Here each
 * operation is queued with `loop.callSoon`, so operations interleave fairly
 * with tasks and callbacks: a green thread looping on `sleep(0)` gets one
 * operation per loop iteration, like any task. The handler gets the calling
 * thread (`GreenCaller`: its id, the loop, `push`) and the decoded
 * arguments, and returns:
 * - a value: the reply is sent at once;
 * - a greenloop Future: the reply is sent when it completes. If the call is
 *   interrupted first (the thread is killed, the call's timeout expires, the
 *   loop closes), the Future is cancelled: clean up in its done callback;
 * - a Promise: the reply follows it (it cannot be cancelled). Other
 *   thenables (a GreenThread...) are values, sent as they are;
 * - or it throws: the error is raised in the green thread, as its own class.
 * `callHub(..., { timeout })` bounds the wait: the hub answers TimeoutError
 * after `timeout` seconds and cancels the Future. `sendHub` posts an
 * operation that wants no reply (seq 0), e.g. a write that need not wait.
 * `module` lets a hub that has not imported the operation's module load it
 * on first use.
 *
 * Data may flow ahead of requests: `caller.push(kind, payload)` posts it to
 * the worker, where `onPush(kind, handler)` receives it, in order with the
 * replies, as soon as the green thread makes a call or `drainPushes()`; a
 * socket can so hand received bytes to the green side before `recv()` asks.
 *
 * Values cross by structured clone through codec.ts: errors keep their
 * class, Buffers stay Buffers, module-level functions travel by reference,
 * green threads (and later other hub objects) travel as counted handles.
 *
 * A green thread's job ends with `{ d: id, ok, v }` on the same channel, so
 * it is served after every operation it sent before.
 *
 * # Keeping the process alive
 *
 * The hub's ports and workers are unref'd. The hub holds one ref'd handle
 * while some green thread computes (keep-alive.ts); a parked thread is kept
 * alive by what its operation waits on, through the running loop.
 *
 * # Closing
 *
 * When its loop closes, the hub releases every thread: unstarted ones die
 * with HubClosedError, a parked call throws HubClosedError at once, and
 * every later call throws it without reaching the hub. A thread still
 * running after a grace period loses its worker.
 */
import type { EventLoop } from '../../loop/event-loop.js';
import { RuntimeError, TimeoutError } from '../../loop/errors.js';
import { Future } from '../../loop/futures.js';
import { decodeArgs, encodeArgs } from './codec.js';
import { HubClosedError, type WorkerCrashedError } from './errors.js';
import { awaitMailBriefly, type SlotOwner, type WorkerSlot } from './pool.js';
import type { DoneMessage, OpMessage, ReleaseMessage, WorkerToHub } from './protocol.js';
import { functionRef, type AnyFunction, type FunctionRef } from './reference.js';
import { HubThread, type GreenCaller } from './hub-thread.js';

/**
 * Runs an operation for a green thread: `caller` is the thread, `args` the
 * decoded arguments of its call. See the module documentation.
 */
export type OperationHandler = (caller: GreenCaller, ...args: never[]) => unknown;

/**
 * Handlers by name, shared by every copy of this module in the thread (a
 * test runner may load greenloop both as CommonJS and as ES modules), so an
 * operation registered by any copy is served by every hub.
 */
const registry = globalThis as unknown as Record<symbol, Map<string, OperationHandler> | undefined>;
const REGISTRY_KEY = Symbol.for('greenloop.operations');
const operations = (registry[REGISTRY_KEY] ??= new Map<string, OperationHandler>());
const loadingModules = new Map<string, Promise<unknown>>();

/**
 * Registers the hub-side handler of operation `name`. Call it at module top
 * level. Registering a name again replaces its handler, except with the same
 * code: that is a second copy of the same module (a test runner may load
 * greenloop both as CommonJS and as ES modules), and the first copy keeps
 * serving, so the hub's state (its sockets, its queues) is never split
 * between two copies.
 */
export function registerOperation<A extends unknown[]>(
  name: string,
  handler: (caller: GreenCaller, ...args: A) => unknown,
): void {
  if (typeof name !== 'string' || name === '') throw new TypeError('registerOperation: name must be a non-empty string');
  if (typeof handler !== 'function') throw new TypeError(`registerOperation(${name}): handler must be a function`);
  const registered = operations.get(name);
  if (registered !== undefined && String(registered) === String(handler)) return;
  operations.set(name, handler as unknown as OperationHandler);
}

// A kill that arrived before the body started is raised by the answer to this call.
registerOperation('$checkKill', () => undefined);

const hubs = new WeakMap<EventLoop, Hub>();
const creationHooks = new Set<(hub: Hub) => void>();

/** @internal Calls `hook(hub)` for every hub created from now on (the deadlock watch). */
export function onHubCreated(hook: (hub: Hub) => void): void {
  creationHooks.add(hook);
}

export class Hub implements SlotOwner {
  readonly threads = new Set<HubThread>();
  closed = false;

  private constructor(readonly loop: EventLoop) {
    loop._onClose(() => this.close());
    loop._onIdle(awaitMailBriefly);
    for (const hook of creationHooks) hook(this);
  }

  /** The hub serving green threads on `loop`, if one was created. */
  static existing(loop: EventLoop): Hub | undefined {
    return hubs.get(loop);
  }

  /** The hub serving green threads on `loop` (created on first use). */
  static for(loop: EventLoop): Hub {
    let hub = hubs.get(loop);
    if (hub === undefined) {
      if (loop.isClosed()) throw new RuntimeError('Event loop is closed');
      hub = new Hub(loop);
      hubs.set(loop, hub);
    }
    return hub;
  }

  /** Starts a green thread running `ref(...args)` (args encoded) after `delay` seconds. */
  spawnRef(ref: FunctionRef, args: unknown[], delay: number, detached: boolean): HubThread {
    if (this.closed) throw new HubClosedError('cannot spawn: the event loop is closed');
    return new HubThread(this, ref, args, delay, detached);
  }

  /**
   * Serves a thread that already runs (the hosted main thread) as a green
   * thread of this hub, through its channel `slot`. `name` stands for its
   * function in reports.
   */
  attachThread(slot: WorkerSlot, name: string): HubThread {
    if (this.closed) throw new HubClosedError('cannot attach a thread: the event loop is closed');
    return new HubThread(this, { url: 'greenloop:attached', name }, [], 0, false, slot);
  }

  /** `spawnRef` for a function object (checked to be module-level) and plain arguments. */
  spawnFunction(fn: AnyFunction, args: readonly unknown[], delay: number, detached: boolean, role: string): HubThread {
    const ref = functionRef(fn, role);
    return this.spawnRef(ref, encodeArgs(args), delay, detached);
  }

  // ---- serving ---------------------------------------------------------------------

  onSlotMessage(slot: WorkerSlot, message: Exclude<WorkerToHub, ReleaseMessage>): void {
    const thread = slot.tenant as HubThread | null;
    if (thread === null || thread.slot !== slot) return;
    thread.importFinished();
    // A call parks the thread and an outcome ends it: either way it stopped
    // computing, even if the loop is stopped and serves it only later.
    if (!('s' in message)) {
      thread.setComputing(false);
      thread.arrivedOutcome = message;
    } else if (message.s !== 0) {
      thread.setComputing(false);
    }
    if (this.closed) {
      this.serveClosed(thread, message);
      return;
    }
    this.loop.callSoon(this.serve, thread, message);
  }

  onSlotLost(slot: WorkerSlot, error: WorkerCrashedError): void {
    const thread = slot.tenant as HubThread | null;
    if (thread !== null && thread.slot === slot) thread.lost(error);
  }

  private readonly serve = (thread: HubThread, message: OpMessage | DoneMessage): void => {
    if (thread.slot === null) return;
    if ('d' in message) {
      thread.done(message);
      return;
    }
    const kill = message.s === 0 ? null : thread.takeKill();
    if (kill !== null) {
      thread.reply(message.s, false, kill.error);
      return;
    }
    const handler = operations.get(message.o);
    if (handler === undefined) {
      this.serveUnknown(thread, message);
      return;
    }
    let result: unknown;
    try {
      result = handler(thread, ...(decodeArgs(message.a) as never[]));
    } catch (error) {
      if (message.s !== 0) thread.reply(message.s, false, error);
      else this.reportUnanswered(thread, message.o, error);
      return;
    }
    if (message.s === 0) {
      if (result instanceof Promise) result.catch((error: unknown) => this.reportUnanswered(thread, message.o, error));
      return;
    }
    this.answerWhenDone(thread, message, result);
  };

  /** Replies now, or once the handler's Future or promise settles (within the call's timeout). */
  private answerWhenDone(thread: HubThread, message: OpMessage, result: unknown): void {
    const seq = message.s;
    if (result instanceof Future) {
      if (result.done()) {
        replyWithFuture(thread, seq, result);
        return;
      }
      thread.releaseDeferredStarts();
      thread.pending = { seq, op: message.o, future: result, timer: null, since: this.loop.time() };
      result.addDoneCallback(() => replyWithFuture(thread, seq, result));
    } else if (result instanceof Promise) {
      thread.releaseDeferredStarts();
      thread.pending = { seq, op: message.o, future: null, timer: null, since: this.loop.time() };
      result.then(
        (value) => thread.reply(seq, true, value),
        (error: unknown) => thread.reply(seq, false, error),
      );
    } else {
      thread.reply(seq, true, result);
      return;
    }
    if (message.t !== undefined && thread.pending?.seq === seq) {
      thread.pending.timer = this.loop.callLater(message.t, () => {
        if (thread.pending?.seq !== seq) return;
        thread.interrupt(new TimeoutError(`${message.o}() timed out after ${message.t} seconds`));
      });
    }
  }

  /** An operation this hub has no handler for: load its module if the call names one. */
  private serveUnknown(thread: HubThread, message: OpMessage): void {
    const module = message.m;
    if (module === undefined) {
      thread.reply(message.s, false, unknownOperation(message.o));
      return;
    }
    let loading = loadingModules.get(module);
    if (loading === undefined) {
      loading = import(module);
      loadingModules.set(module, loading);
    }
    const oneWay = message.s === 0;
    // A call parks its thread until served; a one-way message (seq 0) does
    // not, so the thread's next call may be pending by the time the module
    // has loaded: the message is served then all the same.
    if (!oneWay) thread.pending = { seq: message.s, op: message.o, future: null, timer: null, since: this.loop.time() };
    loading.then(
      () => {
        if (!operations.has(message.o)) {
          if (oneWay) this.reportUnanswered(thread, message.o, unknownOperation(message.o));
          else thread.reply(message.s, false, unknownOperation(message.o));
        } else if (oneWay && !this.loop.isClosed()) {
          this.loop.callSoon(this.serve, thread, { ...message, m: undefined });
        } else if (thread.pending?.seq === message.s && !this.loop.isClosed()) {
          thread.pending = null;
          this.loop.callSoon(this.serve, thread, { ...message, m: undefined });
        }
      },
      (error: unknown) => {
        if (oneWay) this.reportUnanswered(thread, message.o, error);
        else thread.reply(message.s, false, error);
      },
    );
  }

  private serveClosed(thread: HubThread, message: OpMessage | DoneMessage): void {
    if ('d' in message) thread.done(message);
    else if (message.s !== 0) thread.reply(message.s, false, new HubClosedError());
  }

  private reportUnanswered(thread: HubThread, op: string, exception: unknown): void {
    if (this.loop.isClosed()) return;
    this.loop.callExceptionHandler({ message: `Error in operation ${op} of green thread ${thread.id}`, exception });
  }

  // ---- closing -----------------------------------------------------------------------

  /** Releases every thread of this hub with HubClosedError (called when the loop closes). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const thread of [...this.threads]) thread.hubClosed();
  }
}

function replyWithFuture(thread: HubThread, seq: number, future: Future<unknown>): void {
  if (future.cancelled()) {
    // Cancelled by an interruption (already answered) or by the handler itself.
    thread.reply(seq, false, future._makeCancelledError());
  } else if (future.exception() !== null) {
    thread.reply(seq, false, future.exception());
  } else {
    thread.reply(seq, true, future.result());
  }
}

function unknownOperation(name: string): RuntimeError {
  return new RuntimeError(
    `unknown green operation '${name}': the module that registers it is not loaded on the hub's thread`,
  );
}
