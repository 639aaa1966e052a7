/**
 * A green thread as the hub sees it: its life from spawn to exit.
 *
 *   scheduled --start--> starting --bind--> running --done/crash--> dead
 *       \________________ kill / hub closed _____________________/
 *
 * - scheduled: spawned, waiting for its start time (`callSoon`, or
 *   `callLater` for spawnAfter). Killed now, its body never runs.
 * - starting: waiting for a worker (an idle one at once, or a new one).
 *   Still unstarted for kill and cancel.
 * - running: its job was posted to a worker. A kill is delivered at the
 *   blocking call it is parked in (that call throws the error at once) or at
 *   its next one; the body may catch it and go on.
 * - dead: it returned, threw, was killed before starting, lost its worker,
 *   or its hub closed. Exit callbacks and links run once, right then.
 *
 * The hub serves the operations of a running thread (hub.ts); this module
 * keeps the thread's state: the operation it is parked in, a kill waiting
 * for its next call, and its outcome.
 */
import { clearTimeout, setTimeout } from 'node:timers';
import type { Future } from '../../loop/futures.js';
import type { Handle, TimerHandle } from '../../loop/handles.js';
import type { EventLoop } from '../../loop/event-loop.js';
import { decodeError, decodeValue, encodeValue, lendArgs, type EncodedError } from './codec.js';
import { settings } from './config.js';
import { GreenletExit, HubClosedError } from './errors.js';
import { importGate } from './import-gate.js';
import { HandleTable } from './lent-handles.js';
import { holdAlive, releaseAlive } from './keep-alive.js';
import { pool, type WorkerSlot } from './pool.js';
import type { DoneMessage } from './protocol.js';
import type { AnyFunction, FunctionRef } from './reference.js';
import type { Hub } from './hub.js';

export type ThreadState = 'scheduled' | 'starting' | 'running' | 'dead';

/** The hub's view of the green thread making an operation (the first argument of handlers). */
export interface GreenCaller {
  /** The green thread's id. */
  readonly id: number;
  readonly hub: Hub;
  readonly loop: EventLoop;
  /**
   * Pushes data to the green thread ahead of its request (the green side's
   * `onPush(kind, handler)` receives it at its next call or `drainPushes()`).
   * False when the thread no longer runs, so the data was dropped.
   */
  push(kind: string, payload: unknown): boolean;
}

/**
 * The hub's record of a calling green thread. Every caller the runtime
 * passes to an operation is its HubThread. The cast is structural on
 * purpose: a test runner may load two copies of this module (CommonJS and
 * ESM), and a thread of one copy is no `instanceof` the other's class.
 */
export function threadOf(caller: GreenCaller): HubThread {
  return caller as HubThread;
}

/** The operation a thread is parked in, until its reply. */
export interface PendingOperation {
  readonly seq: number;
  /** The operation's name. */
  readonly op: string;
  /** Cancelled when the call is interrupted (kill, timeout, hub closed). */
  future: Future<unknown> | null;
  timer: TimerHandle | null;
  /** Loop time when the thread parked in it (dumps: for how long). */
  readonly since: number;
}

export interface Outcome {
  readonly ok: boolean;
  readonly value: unknown;
}

export type LocalLink = { readonly callback: AnyFunction; readonly args: readonly unknown[] };
export type RemoteLink = { readonly ref: FunctionRef; readonly args: readonly unknown[] };

let threadCounter = 0;
/** Threads by id, while alive or while a worker holds a handle to them. */
const threadsById = new Map<number, HubThread>();
/** Handles to green threads lent to workers. */
export const threadHandles = new HandleTable('gt', (id) => {
  const thread = threadsById.get(id);
  if (thread !== undefined && thread.state === 'dead') threadsById.delete(id);
});

/** @internal Seconds a running thread may go on after its hub closed before its worker is stopped. */
export const closeGrace = { seconds: 2 };

/**
 * Hears every thread's end: `abnormal` when it lost its worker (a crash,
 * `process.exit()` in green code, out of memory) or was terminated after a
 * kill's grace period. Returns descriptions of what it released for the
 * thread (reported through the loop's exception handler), if anything.
 */
export type ThreadExitListener = (thread: HubThread, abnormal: boolean) => readonly string[] | void;

const exitListeners = new Set<ThreadExitListener>();

/** @internal Calls `listener` at every green thread's end (see ThreadExitListener). */
export function onThreadExit(listener: ThreadExitListener): void {
  exitListeners.add(listener);
}

/** How the green layer builds the public object for a thread. */
let facadeFactory: ((thread: HubThread) => object) | null = null;

/** @internal Registers the public GreenThread class's constructor. */
export function setFacadeFactory(factory: (thread: HubThread) => object): void {
  facadeFactory = factory;
}

export class HubThread implements GreenCaller {
  readonly id = ++threadCounter;
  readonly loop: EventLoop;
  state: ThreadState = 'scheduled';
  /** @internal The worker running it (state 'running'). */
  slot: WorkerSlot | null = null;
  /** @internal */ pending: PendingOperation | null = null;
  /** @internal The highest call sequence answered, so a late answer is never sent twice. */
  answered = 0;
  /** @internal Whether the thread computes now (holds the process alive). */
  computing = false;
  outcome: Outcome | null = null;
  /** Where it was spawned (stack lines, most recent first), in debug mode. */
  readonly sourceTraceback: string[] | null;
  /** @internal The job's outcome, once it arrived (it is served a loop iteration later). */
  arrivedOutcome: DoneMessage | null = null;

  private readonly exit: Future<unknown>;
  private startHandle: Handle | TimerHandle | null = null;
  private kill: { error: unknown } | null = null;
  private killDelivered = false;
  private killWaiters: Future<void>[] = [];
  /** Terminates the worker when a kill is not taken within settings.killGrace. */
  private killTimer: NodeJS.Timeout | null = null;
  private exitCallbacks: ((thread: HubThread) => void)[] = [];
  private localLinks: LocalLink[] = [];
  private remoteLinks: RemoteLink[] = [];
  private publicObject: object | null = null;
  private jobSent = false;
  /** Threads this one spawned that start once it parks or ends (startAfterSpawnerParks). */
  private deferredStarts: HubThread[] = [];
  /** Spawned to start after a delay (spawnAfter). */
  private delayed = false;
  /** The worker this thread got, held while it waits for its turn to import (import-gate.ts). */
  private gatedSlot: WorkerSlot | null = null;
  /** The worker importing this thread's module, until its first message. */
  private importingOn: WorkerSlot | null = null;

  /**
   * A thread that will run `ref(...args)` (args encoded, see codec.ts)
   * after `delay` seconds. `detached` (spawnN): nobody can wait for it, so
   * an error it raises is reported to the loop's exception handler.
   */
  constructor(
    readonly hub: Hub,
    readonly ref: FunctionRef,
    private args: unknown[],
    delay: number,
    readonly detached: boolean,
    attached?: WorkerSlot,
  ) {
    this.loop = hub.loop;
    this.exit = this.loop.createFuture();
    this.sourceTraceback = settings.debug || this.loop.getDebug() ? spawnSite() : null;
    threadsById.set(this.id, this);
    hub.threads.add(this);
    if (attached !== undefined) {
      // A thread already running elsewhere (the hosted main thread): no job to start.
      this.state = 'starting';
      this.setComputing(true);
      this.bind(attached, false);
      return;
    }
    this.delayed = delay > 0;
    this.startHandle = this.delayed ? this.loop.callLater(delay, this.start) : this.loop.callSoon(this.start);
  }

  /** @internal The thread with this id, if the hub still knows it. */
  static byId(id: number): HubThread | undefined {
    return threadsById.get(id);
  }

  /** The public GreenThread object of this thread. */
  get facade(): object {
    if (this.publicObject === null) {
      if (facadeFactory === null) throw new Error('greenloop/green is not loaded');
      this.publicObject = facadeFactory(this);
    }
    return this.publicObject;
  }

  get dead(): boolean {
    return this.state === 'dead';
  }

  /** Whether its body may have begun (its job was sent to a worker). */
  get started(): boolean {
    return this.jobSent;
  }

  // ---- starting ----------------------------------------------------------------

  private readonly start = (): void => {
    this.startHandle = null;
    if (this.state !== 'scheduled') return;
    this.state = 'starting';
    this.setComputing(true);
    const acquired = pool.acquire();
    if (!(acquired instanceof Promise)) {
      this.bind(acquired);
      return;
    }
    acquired.then(
      (slot) => this.bind(slot),
      (error: unknown) => this.finish({ ok: false, value: error }),
    );
  };

  /**
   * eventlet's start order: a thread spawned by a green thread starts only
   * when its spawner next blocks (parks in a call the hub cannot answer at
   * once) or ends, not while the spawner goes on computing. Once started,
   * the two run in parallel.
   */
  startAfterSpawnerParks(spawner: HubThread): void {
    if (this.state !== 'scheduled' || this.startHandle === null || this.delayed) return;
    // A spawner already parked (it waited for a place in its pool) lets it start at once.
    if (spawner.dead || spawner.pending !== null) return;
    this.startHandle.cancel();
    this.startHandle = null;
    spawner.deferredStarts.push(this);
  }

  /** @internal This thread parked or ended: the threads it spawned meanwhile start now. */
  releaseDeferredStarts(): void {
    if (this.deferredStarts.length === 0) return;
    const threads = this.deferredStarts;
    this.deferredStarts = [];
    for (const thread of threads) {
      if (thread.state === 'scheduled' && thread.startHandle === null && !this.loop.isClosed()) {
        thread.startHandle = this.loop.callSoon(thread.start);
      }
    }
  }

  private bind(slot: WorkerSlot, postJob = true): void {
    if (this.state !== 'starting' || this.hub.closed) {
      pool.release(slot);
      if (this.state === 'starting') this.finish({ ok: false, value: new HubClosedError() });
      return;
    }
    if (postJob && !slot.loadedModules.has(this.ref.url)) {
      // The worker must import the function's module first: at most so many threads do at once.
      this.gatedSlot = slot;
      importGate.enter(this.admitImport);
      return;
    }
    this.runOn(slot, postJob);
  }

  /** The import gate let this thread import its module: its job goes to the worker it was given. */
  private readonly admitImport = (): void => {
    const slot = this.gatedSlot as WorkerSlot;
    this.gatedSlot = null;
    this.importingOn = slot;
    this.bind(slot, false);
    if (this.slot === slot) this.postJob(slot);
  };

  /** @internal The worker sent its first message for this thread: the thread's import is over. */
  importFinished(): void {
    const slot = this.importingOn;
    if (slot === null) return;
    this.importingOn = null;
    slot.loadedModules.add(this.ref.url);
    importGate.leave();
  }

  private runOn(slot: WorkerSlot, postJob: boolean): void {
    this.state = 'running';
    this.slot = slot;
    this.jobSent = true;
    slot.owner = this.hub;
    slot.tenant = this;
    slot.setHubOpen(true);
    slot.setKillFlag(this.kill !== null);
    if (postJob) this.postJob(slot);
  }

  private postJob(slot: WorkerSlot): void {
    lendArgs(this.args, slot);
    slot.postJob({ id: this.id, kind: 'green', ref: this.ref, args: this.args });
    this.args = [];
  }

  // ---- operations ----------------------------------------------------------------

  push(kind: string, payload: unknown): boolean {
    if (this.slot === null) return false;
    this.slot.push(kind, payload);
    return true;
  }

  /** @internal Sends the reply of call `seq` (once) and lets the thread compute again. */
  reply(seq: number, ok: boolean, value: unknown): void {
    if (seq <= this.answered || this.slot === null) return;
    this.answered = seq;
    const pending = this.pending;
    if (pending !== null && pending.seq === seq) {
      this.pending = null;
      pending.timer?.cancel();
    }
    this.setComputing(true);
    this.slot.reply(seq, ok, value);
  }

  /** @internal Interrupts the parked call with `error`, cancelling its operation. */
  interrupt(error: unknown): void {
    const pending = this.pending;
    if (pending === null) return;
    this.reply(pending.seq, false, error);
    if (!this.loop.isClosed()) pending.future?.cancel();
  }

  /** @internal The thread made a new call: a kill waiting for it is taken (null if none). */
  takeKill(): { error: unknown } | null {
    if (this.killDelivered) this.settleKillWaiters();
    const kill = this.kill;
    if (kill === null) return null;
    this.kill = null;
    this.clearKillTimer();
    this.killDelivered = true;
    this.slot?.setKillFlag(false);
    return kill;
  }

  /** @internal The thread parked in a call (or resumed computing). */
  setComputing(computing: boolean): void {
    if (computing === this.computing) return;
    this.computing = computing;
    if (computing) holdAlive();
    else releaseAlive();
  }

  // ---- killing -----------------------------------------------------------------

  /**
   * Raises `error` in the thread: now if it has not started (its body never
   * runs), at its parked call, or at its next one. A thread that makes no
   * green call within `settings.killGrace` seconds (a CPU loop) loses its
   * worker: it dies with `error`, its `finally` blocks never run, and the
   * worker is never reused. Returns a Future that
   * completes once the thread has reacted (died, or made another call), or
   * null if it is already dead.
   */
  killWith(error: unknown): Future<void> | null {
    if (this.state === 'dead') return null;
    if (this.state === 'scheduled' || this.state === 'starting') {
      this.finish({ ok: false, value: error });
      return null;
    }
    const waiter = this.loop.createFuture<void>();
    this.killWaiters.push(waiter);
    if (this.pending !== null) {
      this.killDelivered = true;
      this.interrupt(error);
    } else {
      this.kill = { error };
      this.slot?.setKillFlag(true);
      this.armKillTimer();
    }
    return waiter;
  }

  /** Terminates the worker if the kill waiting for the next call is still not taken after the grace period. */
  private armKillTimer(): void {
    const slot = this.slot;
    if (slot === null || slot.worker === null || this.killTimer !== null) return;
    this.killTimer = setTimeout(() => {
      this.killTimer = null;
      const kill = this.kill;
      if (kill === null || this.slot !== slot || this.state !== 'running') return;
      // The worker is stopped, never given back to the pool: when it exits,
      // its slot no longer names this thread, so nothing else happens then.
      this.slot = null;
      slot.terminate();
      this.finish({ ok: false, value: kill.error }, true);
    }, settings.killGrace * 1000);
    this.killTimer.unref();
  }

  private clearKillTimer(): void {
    if (this.killTimer === null) return;
    clearTimeout(this.killTimer);
    this.killTimer = null;
  }

  /** Kills the thread only if it has not started. */
  cancelWith(error: unknown): void {
    if (this.state === 'scheduled' || this.state === 'starting') this.finish({ ok: false, value: error });
  }

  private settleKillWaiters(): void {
    this.killDelivered = false;
    const waiters = this.killWaiters;
    this.killWaiters = [];
    for (const waiter of waiters) if (!waiter.done() && !this.loop.isClosed()) waiter.setResult(undefined);
  }

  // ---- exit ----------------------------------------------------------------------

  /** Calls `callback(thread)` at exit (now if dead); returns a function that removes it. */
  onExit(callback: (thread: HubThread) => void): () => void {
    if (this.state === 'dead') {
      callback(this);
      return () => undefined;
    }
    this.exitCallbacks.push(callback);
    return () => {
      this.exitCallbacks = this.exitCallbacks.filter((cb) => cb !== callback);
    };
  }

  /** The outcome, marking an error as retrieved (no "never retrieved" report). */
  retrieve(): Outcome {
    const outcome = this.outcome as Outcome;
    if (!this.exit.done()) return outcome;
    this.exit.exception();
    return outcome;
  }

  addLocalLink(link: LocalLink): void {
    this.localLinks.push(link);
    if (this.state === 'dead') this.runLinks();
  }

  addRemoteLink(link: RemoteLink): void {
    this.remoteLinks.push(link);
    if (this.state === 'dead') this.runLinks();
  }

  /** Removes the first link equal to `matches`; true if one was. */
  removeLink(matches: (link: LocalLink | RemoteLink) => boolean): boolean {
    for (const list of [this.localLinks, this.remoteLinks] as (LocalLink | RemoteLink)[][]) {
      const index = list.findIndex(matches);
      if (index >= 0) {
        list.splice(index, 1);
        return true;
      }
    }
    return false;
  }

  /** @internal The worker reported the job's outcome. */
  done(message: DoneMessage): void {
    const value = message.ok ? decodeValue(message.v) : decodeError(message.v as EncodedError);
    this.finish({ ok: message.ok, value });
  }

  /** @internal The worker died: the thread with it, unless its outcome had already arrived. */
  lost(error: Error): void {
    this.slot = null;
    if (this.arrivedOutcome !== null) this.done(this.arrivedOutcome);
    else this.finish({ ok: false, value: error }, true);
  }

  /** @internal The hub closed: release the thread with HubClosedError. */
  hubClosed(): void {
    const error = new HubClosedError();
    if (this.state !== 'running') {
      this.finish({ ok: false, value: error });
      return;
    }
    this.interrupt(error);
    this.slot?.setHubOpen(false);
    const slot = this.slot;
    const timer = setTimeout(() => {
      if (this.slot === slot && this.state === 'running') slot?.terminate();
    }, closeGrace.seconds * 1000);
    timer.unref();
  }

  /** Ends the thread; `abnormal`: it lost its worker (see ThreadExitListener). */
  private finish(outcome: Outcome, abnormal = false): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.outcome = outcome;
    this.clearKillTimer();
    this.startHandle?.cancel();
    this.startHandle = null;
    this.setComputing(false);
    const pending = this.pending;
    this.pending = null;
    pending?.timer?.cancel();
    if (!this.loop.isClosed()) pending?.future?.cancel();
    const slot = this.slot;
    this.slot = null;
    if (slot !== null) pool.release(slot);
    this.leaveImportGate();
    this.kill = null;
    this.hub.threads.delete(this);
    if (!threadHandles.isHeld(this.id)) threadsById.delete(this.id);
    this.releaseDeferredStarts();
    this.settle(outcome);
    this.settleKillWaiters();
    this.notifyExit(abnormal);
    const callbacks = this.exitCallbacks;
    this.exitCallbacks = [];
    for (const callback of callbacks) this.callSafely(callback, [this]);
    this.runLinks();
  }

  /** Gives up the thread's place at the import gate, or its turn waiting for one. */
  private leaveImportGate(): void {
    const gated = this.gatedSlot;
    if (gated !== null) {
      this.gatedSlot = null;
      importGate.withdraw(this.admitImport);
      pool.release(gated);
    }
    if (this.importingOn !== null) {
      this.importingOn = null;
      importGate.leave();
    }
  }

  /** Tells the exit listeners; what they released for a thread that died abnormally is reported. */
  private notifyExit(abnormal: boolean): void {
    const released: string[] = [];
    for (const listener of exitListeners) {
      try {
        released.push(...(listener(this, abnormal) ?? []));
      } catch (exception) {
        if (!this.loop.isClosed()) {
          this.loop.callExceptionHandler({ message: `Exception at the end of green thread ${this.id}`, exception });
        }
      }
    }
    if (released.length === 0 || this.loop.isClosed()) return;
    this.loop.callExceptionHandler({
      message:
        `Green thread ${this.id} (${this.ref.name}) died holding ${released.join(', ')}: ` +
        'released for the threads that wait for them',
      exception: this.outcome?.value,
      ...this.debugContext(),
    });
  }

  private settle(outcome: Outcome): void {
    if (this.loop.isClosed()) return;
    if (outcome.ok) {
      this.exit.setResult(outcome.value);
      return;
    }
    this.exit.setException(outcome.value);
    if (outcome.value instanceof GreenletExit) {
      this.exit.exception();
    } else if (this.detached) {
      this.exit.exception();
      this.loop.callExceptionHandler({
        message: `Unhandled error in green thread ${this.id} (${this.ref.name}, spawned with spawnN)`,
        exception: outcome.value,
        ...this.debugContext(),
      });
    }
  }

  private runLinks(): void {
    const local = this.localLinks;
    const remote = this.remoteLinks;
    this.localLinks = [];
    this.remoteLinks = [];
    for (const link of local) this.callSafely(link.callback, [this.facade, ...link.args]);
    for (const link of remote) {
      if (this.hub.closed) break;
      this.hub.spawnRef(link.ref, [encodeValue(this.facade), ...link.args], 0, true);
    }
  }

  private callSafely(callback: AnyFunction, args: unknown[]): void {
    try {
      (callback as (...values: unknown[]) => unknown)(...args);
    } catch (exception) {
      // Once the loop is closed, links and exit callbacks that need it cannot
      // run any more (the program is ending): they are dropped quietly.
      if (!this.loop.isClosed()) {
        this.loop.callExceptionHandler({
          message: `Exception in link of green thread ${this.id}`,
          exception,
          ...this.debugContext(),
        });
      }
    }
  }

  toString(): string {
    const parked = this.pending === null ? '' : ` in ${this.pending.op}()`;
    return `<GreenThread ${this.id} ${this.ref.name} ${this.state}${parked}>`;
  }

  /** Where the thread was spawned, for exception handler reports (debug mode). */
  private debugContext(): { source_traceback?: string[] } {
    return this.sourceTraceback === null ? {} : { source_traceback: this.sourceTraceback };
  }
}

/** The stack where a thread is spawned, without greenloop's own frames. */
function spawnSite(): string[] {
  return (new Error().stack ?? '')
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => !/[\\/](src|dist)[\\/](green|bridge|loop)[\\/]/.test(line));
}
