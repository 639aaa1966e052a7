/**
 * Green threads (eventlet's `greenthread` module): `spawn`, `spawnN`,
 * `spawnAfter`, `getcurrent`, `kill` and the `GreenThread` object.
 *
 * A green thread runs a module-level function in a pooled worker thread;
 * its blocking calls park it while the hub (the thread running the event
 * loop) does the work. The same functions work from async code on the hub
 * (they act directly) and from green code in a worker (they ask the hub
 * through the channel). Arguments and results cross by structured clone
 * (errors keep their class; see greenloop/bridge's codec).
 *
 * Semantics follow eventlet:
 * - `spawn` schedules the thread for the next loop iteration and returns at once;
 * - `kill()` raises GreenletExit (or the given error) in the thread at the
 *   blocking call it is parked in, or at its next one; it may catch it and
 *   go on. Killing a thread that has not started means its body never runs,
 *   and `wait()` raises the error. Green threads are real threads: one that
 *   makes no green call within `killGrace` seconds loses its worker and dies
 *   with the error, without running its `finally` blocks;
 * - `cancel()` kills only a thread that has not started;
 * - `link(cb, ...args)` calls `cb(thread, ...args)` when the thread exits, or
 *   at once if it already has;
 * - from async code a GreenThread is awaitable: cancelling the awaiting task
 *   kills the thread, and a thread that ends with GreenletExit cancels the
 *   awaiting task (eventlet's asyncio hub).
 */
import { isDeepStrictEqual } from 'node:util';
import { RuntimeError, ValueError } from '../loop/errors.js';
import type { Future } from '../loop/futures.js';
import { _getRunningLoop, getEventLoop } from '../loop/running.js';
import {
  type AnyFunction,
  blockingOnHub,
  callHub,
  checkBridge,
  currentGreenThread,
  encodeArgs,
  functionRef,
  type FunctionRef,
  type GreenCaller,
  Hub,
  HubThread,
  inGreenWorker,
  type LocalLink,
  registerOperation,
  registerValueCodec,
  RemoteHandles,
  type RemoteLink,
  setFacadeFactory,
  threadHandles,
  workerState,
} from './runtime/index.js';
import { GreenletExit } from './errors.js';

const MODULE = import.meta.url;

/** A green thread: its result, its exit, and control over it. Made by `spawn`, never directly. */
export class GreenThread<T = unknown> implements PromiseLike<T> {
  /** @internal The hub's record (on the hub's thread), null for a proxy in a worker. */
  readonly _core: HubThread | null;

  /** @internal */
  constructor(
    /** The thread's id, unique in the process (0: the main flow, see getcurrent). */
    readonly id: number,
    core: HubThread | null,
  ) {
    this._core = core;
  }

  /** Whether the thread has finished (returned, raised, or was killed). */
  get dead(): boolean {
    if (this._core !== null) return this._core.dead;
    if (this.id === 0) return false;
    if (!inGreenWorker()) throw unknownThread(this.id);
    return callHub<boolean>('gt.dead', [this], { module: MODULE });
  }

  /**
   * The thread's result, waiting for it to finish; throws what it raised
   * (GreenletExit if it was killed). TimeoutError after `timeout` seconds.
   * On the event loop's thread this cannot block: it answers for a dead
   * thread, and otherwise throws BlockingOnHubError (use `await thread`).
   */
  wait(timeout?: number): T {
    const core = this._core;
    if (core !== null) {
      if (!core.dead) throw blockingOnHub('GreenThread.wait()', 'use `await thread` (or thread.waitAsync())');
      return unwrap(core.retrieve()) as T;
    }
    this.checkNotMain('wait');
    if (this.id === currentGreenThread('wait').job.id) {
      throw new RuntimeError('a green thread cannot wait for itself: it would block forever');
    }
    return callHub<T>('gt.wait', [this], { timeout: checkTimeout(timeout), module: MODULE });
  }

  /**
   * A Future of the thread's result, for async code on the loop's thread.
   * Cancelling the Future kills the thread; a thread that ends with
   * GreenletExit cancels the Future.
   */
  waitAsync(): Future<T> {
    const core = this._core;
    if (core === null) {
      throw new RuntimeError('waitAsync() is for async code on the event loop thread; green code uses wait()');
    }
    const future = core.loop.createFuture<T>();
    future._label = { toString: () => `GreenThread.wait() on ${String(core)}` };
    const unsubscribe = core.onExit(() => settleFuture(future, core));
    future.addDoneCallback(() => {
      unsubscribe();
      if (future.cancelled() && !core.dead) core.killWith(new GreenletExit());
    });
    return future;
  }

  /** Makes the thread awaitable: `await thread` in async code (see `waitAsync`). */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (this._core !== null) return this.waitAsync().then(onfulfilled, onrejected);
    return new Promise<T>((resolve) => resolve(this.wait())).then(onfulfilled, onrejected);
  }

  /**
   * Raises `error` (GreenletExit by default) in the thread: at once if it
   * has not started (its body never runs), else at the blocking call it is
   * parked in, or at its next one. Does nothing on a dead thread. From green
   * code, returns once the target has reacted (died or blocked again);
   * killing the current thread throws `error` right here.
   *
   * A thread that makes no green call within `killGrace` seconds (default
   * 1, see `configure()`), such as one stuck in a CPU loop, has its worker
   * terminated: it dies with `error` (waiters and `await` see it as after any
   * kill), **its `finally` blocks and `using` disposals did not run**, and
   * the worker is never reused. Semaphore permits it held are released (see
   * semaphore.ts). A green `Timeout` that expires is delivered the same way.
   */
  kill(error?: unknown): void {
    const core = this._core;
    if (core !== null) {
      core.killWith(error ?? new GreenletExit());
      return;
    }
    this.checkNotMain('kill');
    if (this.id === currentGreenThread('kill').job.id) throw error ?? new GreenletExit();
    callHub('gt.kill', [this, error ?? null], { module: MODULE });
  }

  /** Kills the thread only if it has not started running (e.g. a pending spawnAfter). */
  cancel(error?: unknown): void {
    const core = this._core;
    if (core !== null) {
      core.cancelWith(error ?? new GreenletExit());
      return;
    }
    this.checkNotMain('cancel');
    callHub('gt.cancel', [this, error ?? null], { module: MODULE });
  }

  /**
   * Calls `callback(thread, ...args)` when the thread exits, or at once if
   * it is dead. On the loop's thread the callback runs there, synchronously
   * at exit; from green code it must be a module-level function, and runs in
   * a new green thread.
   */
  link<A extends unknown[]>(callback: (thread: GreenThread<T>, ...args: A) => unknown, ...args: A): void {
    if (typeof callback !== 'function') throw new TypeError('link() needs a callback function');
    const core = this._core;
    if (core !== null) {
      core.addLocalLink({ callback, args });
      return;
    }
    this.checkNotMain('link');
    callHub('gt.link', [this, functionRef(callback, 'a link() callback from green code'), encodeArgs(args)], {
      module: MODULE,
    });
  }

  /** Removes a link made with the same callback and arguments; true if there was one. */
  unlink<A extends unknown[]>(callback: (thread: GreenThread<T>, ...args: A) => unknown, ...args: A): boolean {
    const core = this._core;
    if (core !== null) {
      return core.removeLink(
        (link) => 'callback' in link && link.callback === callback && isDeepStrictEqual(link.args, args),
      );
    }
    this.checkNotMain('unlink');
    const ref = functionRef(callback, 'an unlink() callback from green code');
    return callHub<boolean>('gt.unlink', [this, ref, encodeArgs(args)], { module: MODULE });
  }

  toString(): string {
    if (this._core !== null) return this._core.toString();
    return this.id === 0 ? '<GreenThread main>' : `<GreenThread ${this.id}>`;
  }

  private checkNotMain(method: string): void {
    if (this.id === 0) throw new RuntimeError(`${method}(): the main flow of the program is not a green thread`);
  }
}

function unwrap(outcome: { ok: boolean; value: unknown }): unknown {
  if (outcome.ok) return outcome.value;
  throw outcome.value;
}

function settleFuture<T>(future: Future<T>, core: HubThread): void {
  if (future.done() || core.loop.isClosed()) return;
  const outcome = core.retrieve();
  if (outcome.ok) future.setResult(outcome.value as T);
  else if (outcome.value instanceof GreenletExit) future.cancel(outcome.value.message);
  else future.setException(outcome.value);
}

function checkTimeout(timeout: number | undefined): number | undefined {
  if (timeout === undefined || timeout === null) return undefined;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
    throw new ValueError(`timeout must be a non-negative number of seconds, got ${String(timeout)}`);
  }
  return timeout;
}

function unknownThread(id: number): RuntimeError {
  return new RuntimeError(`green thread ${id} is not known on this thread`);
}

// ---- crossing threads ----------------------------------------------------------

const MAIN = new GreenThread<never>(0, null);

const remoteThreads = new RemoteHandles<GreenThread>(
  'gt',
  (id) => new GreenThread(id, null),
  (tag, ids) => workerState()?.channel.release(tag, ids),
);

setFacadeFactory((thread) => new GreenThread(thread.id, thread));

registerValueCodec<GreenThread>({
  tag: 'gt',
  matches: (value): value is GreenThread => value instanceof GreenThread,
  encode: (thread) => thread.id,
  decode: (id) => {
    if (id === 0) return MAIN;
    if (workerState() !== null) return remoteThreads.get(id as number, true);
    const core = HubThread.byId(id as number);
    if (core === undefined) throw unknownThread(id as number);
    return core.facade;
  },
  lend: (id, peer) => threadHandles.lend(peer, id as number),
});

// ---- spawning --------------------------------------------------------------------

type Spawnable<A extends unknown[], R> = (...args: A) => R;

/**
 * Starts `fn(...args)` in a new green thread on the next loop iteration and
 * returns its GreenThread at once. `fn` must be a module-level exported
 * function (NotModuleLevelError otherwise); arguments cross by structured clone.
 */
export function spawn<A extends unknown[], R>(fn: Spawnable<A, R>, ...args: A): GreenThread<Awaited<R>> {
  checkBridge('spawn');
  return spawnFrom('spawn', fn, args, 0, false) as GreenThread<Awaited<R>>;
}

/**
 * `spawn` without a GreenThread: nobody can wait for it, and an error it
 * raises is reported to the loop's exception handler.
 */
export function spawnN<A extends unknown[], R>(fn: Spawnable<A, R>, ...args: A): void {
  checkBridge('spawnN');
  spawnFrom('spawnN', fn, args, 0, true);
}

/**
 * `spawn` after `seconds`. `cancel()` on the result before then means the
 * body never runs; `kill()` stops it whether it started or not.
 */
export function spawnAfter<A extends unknown[], R>(
  seconds: number,
  fn: Spawnable<A, R>,
  ...args: A
): GreenThread<Awaited<R>> {
  checkBridge('spawnAfter');
  if (typeof seconds !== 'number' || Number.isNaN(seconds)) {
    throw new TypeError(`spawnAfter: seconds must be a number, got ${String(seconds)}`);
  }
  return spawnFrom('spawnAfter', fn, args, Math.max(0, seconds), false) as GreenThread<Awaited<R>>;
}

function spawnFrom(call: string, fn: AnyFunction, args: readonly unknown[], delay: number, detached: boolean): GreenThread | undefined {
  const role = `the ${call}() target`;
  if (inGreenWorker()) {
    currentGreenThread(call, true);
    const ref = functionRef(fn, role);
    return callHub<GreenThread | undefined>('gt.spawn', [ref, encodeArgs(args), delay, detached], { module: MODULE });
  }
  const hub = Hub.for(_getRunningLoop() ?? getEventLoop());
  const thread = hub.spawnFunction(fn, args, delay, detached, role);
  return detached ? undefined : (thread.facade as GreenThread);
}

/**
 * The current green thread; on the event loop's thread, an object standing
 * for the program's main flow (id 0), which cannot be waited for or killed.
 */
export function getcurrent(): GreenThread {
  const state = workerState();
  if (state === null) return MAIN;
  return remoteThreads.get(currentGreenThread('getcurrent').job.id, false);
}

/** eventlet's `kill(thread, error)`: `thread.kill(error)`. */
export function kill(thread: GreenThread, error?: unknown): void {
  thread.kill(error);
}

// ---- hub side ------------------------------------------------------------------------

function coreOf(thread: GreenThread): HubThread {
  if (thread._core === null) throw unknownThread(thread.id);
  return thread._core;
}

registerOperation(
  'gt.spawn',
  (caller: GreenCaller, ref: FunctionRef, args: unknown[], delay: number, detached: boolean) => {
    const thread = caller.hub.spawnRef(ref, args, delay, detached);
    // The caller is the spawning thread itself (from whichever copy of this
    // module the hub runs: a test runner may load it twice).
    thread.startAfterSpawnerParks(caller as HubThread);
    return detached ? undefined : thread.facade;
  },
);

registerOperation('gt.dead', (_caller: GreenCaller, thread: GreenThread) => coreOf(thread).dead);

registerOperation('gt.wait', (caller: GreenCaller, thread: GreenThread) => {
  const core = coreOf(thread);
  if (core.dead) return unwrap(core.retrieve());
  const future = caller.loop.createFuture<unknown>();
  future._label = { toString: () => `GreenThread.wait() on ${String(core)}` };
  const unsubscribe = core.onExit(() => {
    if (future.done() || caller.loop.isClosed()) return;
    const outcome = core.retrieve();
    if (outcome.ok) future.setResult(outcome.value);
    else future.setException(outcome.value);
  });
  future.addDoneCallback(unsubscribe);
  return future;
});

registerOperation('gt.kill', (_caller: GreenCaller, thread: GreenThread, error: unknown) => {
  return coreOf(thread).killWith(error ?? new GreenletExit()) ?? undefined;
});

registerOperation('gt.cancel', (_caller: GreenCaller, thread: GreenThread, error: unknown) => {
  coreOf(thread).cancelWith(error ?? new GreenletExit());
});

registerOperation('gt.link', (_caller: GreenCaller, thread: GreenThread, ref: FunctionRef, args: unknown[]) => {
  coreOf(thread).addRemoteLink({ ref, args });
});

registerOperation('gt.unlink', (_caller: GreenCaller, thread: GreenThread, ref: FunctionRef, args: unknown[]) => {
  return coreOf(thread).removeLink(
    (link: LocalLink | RemoteLink) =>
      'ref' in link &&
      link.ref.url === ref.url &&
      link.ref.name === ref.name &&
      isDeepStrictEqual(link.args, args),
  );
});

