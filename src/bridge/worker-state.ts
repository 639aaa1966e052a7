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
const holder = globalThis as unknown as Record<symbol, WorkerState | undefined>;

/** @internal Installed once by the worker runtime, before any application module loads. */
export function installWorkerState(state: WorkerState): void {
  holder[KEY] = state;
}

/** This worker's state, or null on any thread that is not a greenloop worker. */
export function workerState(): WorkerState | null {
  return holder[KEY] ?? null;
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
 * True on every thread that is not a greenloop worker.
 */
export function isMainGreenThread(): boolean {
  return workerState() === null;
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
