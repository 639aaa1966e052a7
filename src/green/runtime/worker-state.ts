/**
 * Which thread this is, for the green API: the hub (any thread that is not
 * a greenloop worker), or a worker, and then which job it runs.
 *
 * The state lives on `globalThis` under a registered symbol, so that every
 * copy of greenloop loaded in a worker (the runtime's, and the one an
 * application module imports, e.g. from dist/ while the runtime came from
 * src/) sees the same channel and the same current green thread.
 */
import { NotInGreenThreadError, RecursiveSpawnError } from './errors.js';
import type { Channel } from './channel.js';
import type { JobKind } from './protocol.js';
import { _setGreenThreadProbe } from '../../loop/running.js';

export interface WorkerJob {
  readonly id: number;
  readonly kind: JobKind;
}

export interface WorkerState {
  readonly channel: Channel;
  /** The job running now, or null between jobs. */
  job: WorkerJob | null;
  /** True while the job's module is being imported (its top-level code runs). */
  importing: boolean;
}

const KEY = Symbol.for('greenloop.workerState');
/** Supplies the main thread's state while it is hosted (hosted.ts); shared like the state itself. */
const MAIN_PROVIDER = Symbol.for('greenloop.mainStateProvider');
/** Set on the thread that hosts the hub for a hosted main thread (hub-worker.ts). */
const HOSTED_HUB = Symbol.for('greenloop.hostedHub');
const holder = globalThis as unknown as Record<symbol, unknown>;

/** @internal Installed once by the worker runtime, before any application module loads. */
export function installWorkerState(state: WorkerState): void {
  holder[KEY] = state;
}

/**
 * The state of the green thread this thread is: a worker's, or the main
 * thread's while it runs as a green thread of a hosted hub (hosted.ts:
 * only while no loop runs on it, in `hub: 'auto'`); null on a hub's thread.
 */
export function workerState(): WorkerState | null {
  const own = holder[KEY] as WorkerState | undefined;
  if (own !== undefined) return own;
  const provider = holder[MAIN_PROVIDER] as (() => WorkerState | null) | undefined;
  return provider === undefined ? null : provider();
}

/** This thread's state if it is a greenloop worker (never the hosted main thread's), else null. */
export function poolWorkerState(): WorkerState | null {
  return (holder[KEY] as WorkerState | undefined) ?? null;
}

/** @internal Installs the main thread's state provider (hosted.ts). */
export function installMainStateProvider(provider: () => WorkerState | null): void {
  holder[MAIN_PROVIDER] ??= provider;
}

/** @internal Marks this thread as the one hosting the hub of a hosted main thread. */
export function markHostedHub(): void {
  holder[HOSTED_HUB] = true;
}

/** Whether this thread hosts the hub of a hosted main thread. */
export function isHostedHub(): boolean {
  return holder[HOSTED_HUB] === true;
}

/**
 * Whether this is the program's own thread rather than a green worker: the
 * guard for a module's entry code, as Python's `if __name__ == '__main__'`.
 *
 * A green thread runs a function of some module, so that module is imported
 * into the worker and its top-level code runs there too. Code that starts
 * the program (`run(main)`, starting servers, spawning) must run once:
 *
 *     export function handle(conn) { ... }          // runs in green threads
 *     if (isMainGreenThread()) await run(main);     // runs once
 *
 * True on the program's own thread (hosted or not), false in green
 * workers and in the worker hosting the hub of a hosted program (which
 * imports the modules of the async functions it runs).
 */
export function isMainGreenThread(): boolean {
  return poolWorkerState() === null && !isHostedHub();
}

/**
 * The state of the green thread running here. `call` names the green call
 * for the error raised outside a green thread: in a thread-pool call, between
 * jobs, or (for spawn-like calls, `spawning`) in module top-level code.
 */
export function currentGreenThread(call: string, spawning = false): WorkerState & { job: WorkerJob } {
  const state = workerState() as WorkerState;
  const job = state.job;
  if (spawning && (state.importing || job === null)) {
    throw new RecursiveSpawnError(
      `${call}() was called by module top-level code running in a green worker: importing a green ` +
        `function's module runs its top-level code in the worker too, and spawning from there starts the ` +
        `program again in every green thread. Guard the program's entry code with ` +
        `\`if (isMainGreenThread()) { ... }\` (greenloop/bridge), or move the green functions to a module ` +
        `without side effects`,
    );
  }
  if (job === null) {
    throw new NotInGreenThreadError(`${call}() was called in a green worker outside any green thread`);
  }
  if (job.kind !== 'green') {
    throw new NotInGreenThreadError(
      `${call}() was called in a thread-pool call (runInExecutor/execute): thread-pool threads are not ` +
        `green threads and cannot block on the hub; return a value instead, or spawn a green thread`,
    );
  }
  return state as WorkerState & { job: WorkerJob };
}

_setGreenThreadProbe(() => workerState() !== null);
