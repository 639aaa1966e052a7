/**
 * The messages between the hub and a worker, and the shared memory beside
 * them. See hub.ts for how operations use them.
 *
 * Each worker has:
 * - a control port (the worker's parentPort): jobs to run, from the hub;
 * - a channel: operations and job outcomes from the worker, replies and
 *   pushed data from the hub. Its messages travel through two rings in
 *   shared memory (`rings`, pipe.ts), with a MessagePort pair for those
 *   the rings do not take; neither side listens for messages: both take
 *   them synchronously, the worker so it can block for a reply, the hub
 *   when the doorbell rings (doorbell.ts);
 * - a small SharedArrayBuffer (`ctl`): the hub bumps REPLY after sending a
 *   reply, which is what a blocked worker spins on or waits on with
 *   `Atomics.wait` (PARKED says it waits, so the hub notifies only then);
 *   HUB and KILL flag the hub's state to the worker.
 * All workers of a pool also share one buffer (`shared`): the counter of
 * spinning threads, the spin settings, and the hub's doorbell.
 */
import type { MessagePort } from 'node:worker_threads';
import type { EncodedError } from './codec.js';
import type { BridgeSettings } from './config.js';
import type { FunctionRef } from './reference.js';

// ---- shared memory -------------------------------------------------------------

/** Int32 slots of a worker's `ctl` buffer. */
export const CTL_REPLY = 0;
/** HUB_OPEN or HUB_CLOSED: whether the hub serving the current job is still there. */
export const CTL_HUB = 1;
/** 1 while a kill waits for the current green thread's next blocking call. */
export const CTL_KILL = 2;
/** 1 while the worker is parked in Atomics.wait: only then does a reply need Atomics.notify. */
export const CTL_PARKED = 3;
/** 1 while the worker counts among the spinning threads (given back if it dies spinning). */
export const CTL_SPINNING = 4;
export const CTL_SLOTS = 8;

export const HUB_OPEN = 0;
export const HUB_CLOSED = 1;

/** Int32 slots of the buffer shared by every worker: threads spinning now, and the spin settings. */
export const SHARED_SPINNERS = 0;
/** Spin budget cap in microseconds (0: never spin). */
export const SHARED_SPIN_LIMIT = 1;
/** How many threads may spin at once. */
export const SHARED_MAX_SPINNERS = 2;
/** Bumped by a worker after it sent the hub a message (doorbell.ts). */
export const SHARED_BELL = 3;
/** 1 while the hub waits for the doorbell: only then does a worker notify it. */
export const SHARED_HUB_WAITING = 4;
export const SHARED_SLOTS = 8;

// ---- hub -> worker: jobs (control port) ---------------------------------------

/** What a job runs as: a green thread, or a plain call on a thread-pool worker. */
export type JobKind = 'green' | 'call';

export interface JobMessage {
  /** The green thread's id, or the executor call's id. */
  readonly id: number;
  readonly kind: JobKind;
  readonly ref: FunctionRef;
  /** Encoded arguments (codec.ts). */
  readonly args: unknown[];
}

// ---- worker -> hub: channel ---------------------------------------------------

/** An operation. `s` is 0 for an operation that wants no reply. */
export interface OpMessage {
  /** Sequence number of the call, echoed by the reply (0: no reply). */
  readonly s: number;
  /** Operation name. */
  readonly o: string;
  /** Encoded arguments. */
  readonly a: readonly unknown[];
  /** Timeout in seconds, when the call has one. */
  readonly t?: number;
  /** URL of the module that registers the operation's handler, if the hub may need to load it. */
  readonly m?: string;
}

/** A job's outcome: the green function returned (`ok`) or threw. */
export interface DoneMessage {
  /** The job's id. */
  readonly d: number;
  readonly ok: boolean;
  /** Encoded result, or encoded error. */
  readonly v: unknown;
}

/** Dropping this worker's handles to hub-side objects (see handles in green threads). */
export interface ReleaseMessage {
  /** Tag of the handle kind. */
  readonly x: string;
  /** id -> how many times the worker received it. */
  readonly ids: readonly (readonly [number, number])[];
}

export type WorkerToHub = OpMessage | DoneMessage | ReleaseMessage;

// ---- hub -> worker: channel ---------------------------------------------------

export interface ReplyMessage {
  /** The call's sequence number. */
  readonly r: number;
  readonly ok: boolean;
  /** Encoded result, or EncodedError when !ok. */
  readonly v: unknown;
}

/** Data pushed ahead of a request, for the green side's push handler of kind `p`. */
export interface PushMessage {
  readonly p: string;
  readonly v: unknown;
}

export type HubToWorker = ReplyMessage | PushMessage;

export type { EncodedError };

// ---- boot ----------------------------------------------------------------------

/** What every greenloop worker gets: how to start, and one channel. */
interface ChannelBoot {
  readonly greenloopWorker: true;
  /** The runtime module to import (.ts or .js). */
  readonly runtimeUrl: string;
  /** tsx's ESM API to register before importing the runtime, or null. */
  readonly tsxApiUrl: string | null;
  /** greenloop's compiled modules to load before tsx is registered, or null (see worker-boot.ts). */
  readonly preloadUrl: string | null;
  /** This side's port of the channel. */
  readonly port: MessagePort;
  /** The channel's rings (pipe.ts). */
  readonly rings: SharedArrayBuffer;
  /** The green side's `ctl` buffer. */
  readonly ctl: SharedArrayBuffer;
  /** The green side's spin settings and doorbell. */
  readonly shared: SharedArrayBuffer;
}

/** workerData of a green worker (runtime: worker-runtime). */
export interface WorkerBoot extends ChannelBoot {
  /** The worker's bit in its doorbell's ready map (doorbell.ts), or null: the hub polls it on every ring. */
  readonly ready: { readonly map: SharedArrayBuffer; readonly index: number } | null;
}

/**
 * workerData of the worker hosting the hub of a hosted main thread
 * (hosted.ts; runtime: hub-worker): the channel is the main thread's.
 */
export interface HostedHubBoot extends ChannelBoot {
  /** The main thread's bridge settings. */
  readonly settings: BridgeSettings;
  /** The id the main thread has among the hub's green threads. */
  readonly mainId: number;
}
