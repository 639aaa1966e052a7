/**
 * The pool of worker threads shared by every hub and executor of the process.
 *
 * A worker costs megabytes and tens of milliseconds to start (hundreds with
 * tsx), so workers are kept warm: a worker whose job ended waits, idle, for
 * the next one; the most recently used is reused first. The warm pool is
 * sized by demand: a worker whose job ended stays idle while fewer than
 * `maxIdleWorkers` wait, so a program that ran 50 green threads at once
 * finds 50 warm workers for its next burst; an idle worker exits after
 * `idleTimeout` seconds unused, so the pool shrinks back to nothing when
 * demand stops. A job that finds no idle worker starts a new one: the pool
 * does not cap how many run at once (executors and green pools do).
 *
 * Workers and ports are unref'd: the pool never keeps the process alive.
 * A worker that dies (crash, `process.exit()` in green code, terminate) is
 * reported to its owner and dropped; its slot is never reused.
 */
import { availableParallelism } from 'node:os';
import { clearTimeout, setTimeout } from 'node:timers';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { encodeError, encodeValue, lendValue } from './codec.js';
import { onConfigure, settings } from './config.js';
import { createReadyMap, Doorbell, type Mailbox } from './doorbell.js';
import { WorkerCrashedError } from './errors.js';
import { channelEnds, createChannelMemory, type PipeReceiver, type PipeSender } from './pipe.js';
import {
  CTL_HUB,
  CTL_KILL,
  CTL_PARKED,
  CTL_REPLY,
  CTL_SLOTS,
  HUB_CLOSED,
  HUB_OPEN,
  SHARED_MAX_SPINNERS,
  SHARED_SLOTS,
  SHARED_SPINNERS,
  SHARED_SPIN_LIMIT,
  type JobMessage,
  type ReleaseMessage,
  type ReplyMessage,
  type WorkerBoot,
  type WorkerToHub,
} from './protocol.js';
import { aliveHolders } from './keep-alive.js';
import { releaseSpinner, SpinPolicy } from './spin.js';
import { dropRefusedExecArgv, tsxApiUrl, workerEntryUrl, workerExecArgv, workerRuntimeUrl, workerPreloadUrl } from './worker-boot.js';

/** Who uses a busy worker: a hub (green threads) or an executor (plain calls). */
export interface SlotOwner {
  /** A message from the worker's channel (an operation or a job outcome). */
  onSlotMessage(slot: WorkerSlot, message: Exclude<WorkerToHub, ReleaseMessage>): void;
  /** The worker died while the owner held it. */
  onSlotLost(slot: WorkerSlot, error: WorkerCrashedError): void;
}

/** What handles were lent to a worker, by kind: see handles.ts. */
export type ReleaseListener = (slot: WorkerSlot, message: ReleaseMessage) => void;

const releaseListeners = new Set<ReleaseListener>();
const lostListeners = new Set<(slot: WorkerSlot) => void>();

/** @internal Hears every worker's handle releases, and every worker's end. */
export function onWorkerHandles(onRelease: ReleaseListener, onGone: (slot: WorkerSlot) => void): void {
  releaseListeners.add(onRelease);
  lostListeners.add(onGone);
}

const shared = new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * 4));
/** Messages taken from one worker per look, so that one sending without pause cannot hold the hub. */
const POLL_BATCH = 256;
/** Rung by every pooled worker of this thread. */
const doorbell = new Doorbell(shared, createReadyMap());
let slotCounter = 0;

function applySpinSettings(): void {
  Atomics.store(shared, SHARED_SPIN_LIMIT, settings.spinLimit);
  Atomics.store(shared, SHARED_MAX_SPINNERS, Math.max(1, availableParallelism() - 1));
}
applySpinSettings();

/** The hub's side of one worker thread. */
export class WorkerSlot implements Mailbox {
  readonly id = ++slotCounter;
  readonly ctl: Int32Array;
  /** The current user, null while idle. */
  owner: SlotOwner | null = null;
  /** The owner's record of the job running here (a green thread...). */
  tenant: unknown = null;
  alive = true;
  /** @internal When it became idle (ms, performance.now()). */
  idleSince = 0;
  /** @internal Handles lent to this worker: tag -> id -> count. */
  readonly handles = new Map<string, Map<number, number>>();
  /** @internal URLs of the modules green threads' functions came from here: loaded (import-gate.ts). */
  readonly loadedModules = new Set<string>();
  private readonly port: MessagePort;
  private readonly sender: PipeSender;
  private readonly receiver: PipeReceiver;
  private readonly doorbell: Doorbell;
  /** The worker; null for an attached thread (the hosted main thread), which the pool never owns. */
  readonly worker: Worker | null;

  /**
   * A new pooled worker, or, given `attached`, the hub's side of a thread
   * that is not the pool's (the hosted main thread): its channel (port and
   * rings), `ctl` buffer, and the buffer with its doorbell. An attached
   * slot is never pooled nor terminated.
   */
  constructor(attached?: { port: MessagePort; rings: SharedArrayBuffer; ctl: Int32Array; shared: Int32Array }) {
    let rings: SharedArrayBuffer;
    if (attached !== undefined) {
      this.ctl = attached.ctl;
      this.worker = null;
      this.port = attached.port;
      rings = attached.rings;
      this.doorbell = new Doorbell(attached.shared);
      this.doorbell.add(this);
    } else {
      this.ctl = new Int32Array(new SharedArrayBuffer(CTL_SLOTS * 4));
      rings = createChannelMemory();
      this.doorbell = doorbell;
      const bit = doorbell.add(this);
      const { port1, port2 } = new MessageChannel();
      const boot: WorkerBoot = {
        greenloopWorker: true,
        runtimeUrl: workerRuntimeUrl,
        tsxApiUrl: tsxApiUrl(),
        preloadUrl: workerPreloadUrl(),
        port: port1,
        rings,
        ctl: this.ctl.buffer as SharedArrayBuffer,
        shared: shared.buffer as SharedArrayBuffer,
        ready: bit === null ? null : { map: bit.map.buffer as SharedArrayBuffer, index: bit.index },
      };
      this.worker = startWorker(boot, port1);
      this.worker.unref();
      this.port = port2;
    }
    this.port.unref();
    ({ sender: this.sender, receiver: this.receiver } = channelEnds(rings, this.port, 'hub'));
  }

  /** Sends a job to the idle worker. */
  postJob(job: JobMessage): void {
    this.worker?.postMessage(job);
  }

  /** Answers call `seq` and wakes the worker if it is parked. */
  reply(seq: number, ok: boolean, value: unknown): void {
    try {
      let encoded: unknown;
      if (ok) {
        encoded = encodeValue(value);
        lendValue(encoded, this);
      } else {
        encoded = encodeError(value);
      }
      this.sender.send({ r: seq, ok, v: encoded } satisfies ReplyMessage);
    } catch (error) {
      const failure = new TypeError(`the result cannot cross threads: ${(error as Error).message}`);
      this.sender.send({ r: seq, ok: false, v: encodeError(failure) } satisfies ReplyMessage);
    }
    this.wake();
  }

  /** Pushes data for the green side's handler of `kind`, ahead of any request. */
  push(kind: string, payload: unknown): void {
    this.sender.send({ p: kind, v: encodeValue(payload) });
  }

  /** Takes and handles the messages the worker sent (its doorbell rang), at most POLL_BATCH; true if it stopped there. */
  poll(): boolean {
    for (let taken = 0; taken < POLL_BATCH; taken++) {
      const message = this.receiver.receive() as WorkerToHub | undefined;
      if (message === undefined) return false;
      this.onMessage(message);
    }
    return true;
  }

  /** Tells the worker whether the hub of its current job is open; wakes it so a parked call sees it. */
  setHubOpen(open: boolean): void {
    Atomics.store(this.ctl, CTL_HUB, open ? HUB_OPEN : HUB_CLOSED);
    if (!open) this.wake();
  }

  /** Flags (or clears) a kill waiting for the current green thread's next blocking call. */
  setKillFlag(pending: boolean): void {
    Atomics.store(this.ctl, CTL_KILL, pending ? 1 : 0);
  }

  /** Stops the worker; its owner hears of it through onSlotLost. */
  terminate(): void {
    if (this.worker !== null) void this.worker.terminate();
  }

  private wake(): void {
    Atomics.add(this.ctl, CTL_REPLY, 1);
    if (Atomics.load(this.ctl, CTL_PARKED) !== 0) Atomics.notify(this.ctl, CTL_REPLY);
  }

  private onMessage(message: WorkerToHub): void {
    if ('x' in message) {
      for (const listener of releaseListeners) listener(this, message);
      return;
    }
    this.owner?.onSlotMessage(this, message);
  }

  /** @internal The worker is gone. */
  _lost(error: WorkerCrashedError): void {
    if (!this.alive) return;
    // What the worker sent before it died still counts (its job's outcome).
    while (this.poll());
    this.alive = false;
    this.doorbell.delete(this);
    releaseSpinner(this.ctl, shared);
    this.port.close();
    const owner = this.owner;
    this.owner = null;
    owner?.onSlotLost(this, error);
    for (const listener of lostListeners) listener(this);
    this.tenant = null;
  }
}

function startWorker(boot: WorkerBoot, port: MessagePort): Worker {
  for (;;) {
    try {
      return new Worker(workerEntryUrl, { workerData: boot, transferList: [port], execArgv: workerExecArgv() });
    } catch (error) {
      if (!dropRefusedExecArgv(error)) throw error;
    }
  }
}

class WorkerPool {
  private readonly idle: WorkerSlot[] = [];
  /** Workers started ahead of demand (prestart) that no job has claimed yet. */
  private readonly warming: Promise<WorkerSlot>[] = [];
  private readonly live = new Set<WorkerSlot>();
  private starting = 0;
  private sweepTimer: NodeJS.Timeout | null = null;

  /** An idle worker now, or a new one once it has started. */
  acquire(): WorkerSlot | Promise<WorkerSlot> {
    const slot = this.idle.pop();
    if (slot !== undefined) return slot;
    // A worker already starting ahead of demand is nearer than a new one.
    return this.warming.shift() ?? this.start();
  }

  /** Takes back a worker whose job ended: kept idle, or stopped when enough are. */
  release(slot: WorkerSlot): void {
    slot.owner = null;
    slot.tenant = null;
    slot.setKillFlag(false);
    if (!slot.alive || slot.worker === null) return;
    if (this.idle.length >= settings.maxIdleWorkers) {
      slot.terminate();
      return;
    }
    slot.idleSince = performance.now();
    this.idle.push(slot);
    this.armSweep();
  }

  /**
   * Starts workers until `count` (at most maxIdleWorkers) are idle or
   * starting; a job that comes meanwhile takes one still starting.
   */
  async prestart(count: number): Promise<void> {
    const missing = Math.max(0, Math.min(count, settings.maxIdleWorkers) - this.idle.length - this.warming.length);
    await Promise.all(Array.from({ length: missing }, () => this.startAhead()));
  }

  private startAhead(): Promise<WorkerSlot> {
    const starting = this.start();
    this.warming.push(starting);
    const unclaimed = (): boolean => {
      const index = this.warming.indexOf(starting);
      if (index >= 0) this.warming.splice(index, 1);
      return index >= 0;
    };
    starting.then(
      (slot) => {
        if (unclaimed()) this.release(slot);
      },
      unclaimed,
    );
    return starting;
  }

  /** Stops every idle worker and waits until they have exited. */
  async shutdownIdle(): Promise<void> {
    const stopping = this.idle.splice(0).map((slot) => (slot.worker as Worker).terminate());
    await Promise.all(stopping);
  }

  stats(): PoolStats {
    const live = this.live.size;
    return { live, idle: this.idle.length, busy: live - this.idle.length - this.starting, starting: this.starting };
  }

  /** Applies a new maxIdleWorkers: stops the idle workers beyond it, oldest first. */
  trim(): void {
    while (this.idle.length > settings.maxIdleWorkers) (this.idle.shift() as WorkerSlot).terminate();
    this.armSweep();
  }

  private start(): Promise<WorkerSlot> {
    this.starting++;
    let slot: WorkerSlot;
    try {
      slot = new WorkerSlot();
    } catch (error) {
      this.starting--;
      return Promise.reject(error);
    }
    this.live.add(slot);
    const worker = slot.worker as Worker;
    worker.on('exit', (code) => this.onExit(slot, code));
    return new Promise<WorkerSlot>((resolve, reject) => {
      const onReady = (): void => {
        cleanup();
        this.starting--;
        worker.on('error', (error) => this.onError(slot, error));
        resolve(slot);
      };
      const onFailure = (error: unknown): void => {
        cleanup();
        this.starting--;
        reject(new WorkerCrashedError(`a green worker failed to start: ${describe(error)}`, null, { cause: error }));
        slot.terminate();
      };
      const onEarlyExit = (code: number): void => onFailure(new Error(`it exited with code ${code}`));
      const cleanup = (): void => {
        worker.off('message', onReady);
        worker.off('error', onFailure);
        worker.off('exit', onEarlyExit);
      };
      worker.once('message', onReady);
      worker.once('error', onFailure);
      worker.once('exit', onEarlyExit);
    });
  }

  private onError(slot: WorkerSlot, error: Error): void {
    slot._lost(new WorkerCrashedError(`a green worker died of an uncaught error: ${describe(error)}`, null, { cause: error }));
  }

  private onExit(slot: WorkerSlot, code: number): void {
    this.live.delete(slot);
    const index = this.idle.indexOf(slot);
    if (index >= 0) this.idle.splice(index, 1);
    slot._lost(new WorkerCrashedError(`a green worker exited (code ${code}) while running a job`, code));
  }

  /** One timer for the oldest idle worker (the first in `idle`). */
  private armSweep(): void {
    if (this.sweepTimer !== null) clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
    const oldest = this.idle[0];
    if (oldest === undefined) return;
    const due = oldest.idleSince + settings.idleTimeout * 1000 - performance.now();
    this.sweepTimer = setTimeout(() => this.sweep(), Math.max(0, due));
    this.sweepTimer.unref();
  }

  private sweep(): void {
    this.sweepTimer = null;
    const limit = performance.now() - settings.idleTimeout * 1000;
    while (this.idle.length > 0 && this.idle[0].idleSince <= limit) (this.idle.shift() as WorkerSlot).terminate();
    this.armSweep();
  }
}

/** Counts of the pool's workers. */
export interface PoolStats {
  /** Worker threads alive: starting, idle or busy. */
  live: number;
  idle: number;
  busy: number;
  /** Workers being started. */
  starting: number;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- the hub waiting briefly for mail ------------------------------------------

/** The hub's own spin budget, learned as a worker's is (spin.ts). */
const hubSpin = new SpinPolicy(shared);
const IDLE_WAIT = 'hub idle';

/**
 * Run by a hub's loop when it has nothing to do (`loop._onIdle`). While a
 * green thread computes, its next message is usually microseconds away:
 * spinning on the doorbells catches it without the hub's thread going to
 * sleep and being woken, which costs tens of microseconds. Bounded like a
 * worker's spin: the budget follows how soon messages came, spinning is
 * only probed now and then while they usually come later, and it counts
 * among the process's spinning threads.
 */
export function awaitMailBriefly(): void {
  if (aliveHolders() === 0) return;
  const budget = hubSpin.budget(IDLE_WAIT);
  if (budget === 0) return;
  const seen = Doorbell.totalRings();
  const rang = (): boolean => Doorbell.totalRings() !== seen;
  const started = performance.now();
  // Spinning, the hub sees rings without being notified of them: see doorbell.ts.
  const caught = Doorbell.watchWithoutWaking(() => hubSpin.spin(rang, started + budget / 1000, null));
  // A miss says "later than the budget": recorded as late enough to stop spinning if it goes on.
  hubSpin.record(IDLE_WAIT, caught ? (performance.now() - started) * 1000 : 3 * Atomics.load(shared, SHARED_SPIN_LIMIT));
  // A ring after the spin's last look, before the doorbells were marked waiting again, notified no one.
  if (caught || rang()) Doorbell.pollEvery();
}

/** @internal The process's pool. */
export const pool = new WorkerPool();

onConfigure(() => {
  applySpinSettings();
  pool.trim();
});

/** Counts of the process's green workers (live, idle, busy, starting). */
export function poolStats(): PoolStats {
  return pool.stats();
}

/**
 * Starts workers until `count` (default: poolSize; at most maxIdleWorkers)
 * wait idle, so the next green threads start at once.
 */
export function prestart(count: number = settings.poolSize): Promise<void> {
  return pool.prestart(count);
}

/**
 * @internal Starts one worker in the background so that the program's
 * first green thread finds it warm; a failure to start is left to the
 * first spawn to report.
 */
export function warmAhead(): void {
  pool.prestart(1).catch(() => undefined);
}

/** @internal How many threads count as spinning now (tests: 0 once every worker is idle). */
export function spinningThreads(): number {
  return Atomics.load(shared, SHARED_SPINNERS);
}

/** Stops every idle worker and waits for them to exit; busy ones finish their job first. */
export function shutdownWorkers(): Promise<void> {
  return pool.shutdownIdle();
}
