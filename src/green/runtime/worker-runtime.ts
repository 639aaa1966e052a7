/**
 * The runtime of a greenloop worker thread (imported by worker-entry.mjs).
 *
 * It installs the worker's state (its channel to the hub), tells the pool it
 * is ready, then runs jobs one at a time as they arrive on the control port:
 * import the function by reference, decode the arguments, call it (blocking
 * green calls go through the channel), and report the outcome on the
 * channel. Between jobs the worker's own event loop runs as usual.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Channel } from './channel.js';
import { decodeArgsAsync } from './codec.js';
import { CTL_KILL, type JobMessage, type WorkerBoot } from './protocol.js';
import { resolveRef } from './reference.js';
import { installWorkerState, type WorkerState } from './worker-state.js';

const boot = workerData as WorkerBoot;
const ctl = new Int32Array(boot.ctl);
const ready = boot.ready === null ? null : { map: new Int32Array(boot.ready.map), index: boot.ready.index };
const channel = new Channel(boot.port, boot.rings, ctl, new Int32Array(boot.shared), ready);
const state: WorkerState = { channel, job: null, importing: false };
installWorkerState(state);

/** Checks for a kill that arrived before the body started: raised by the hub's answer. */
const CHECK_KILL = '$checkKill';

async function runJob(job: JobMessage): Promise<void> {
  state.job = { id: job.id, kind: job.kind };
  let ok = false;
  let outcome: unknown;
  try {
    state.importing = true;
    const fn = await resolveRef(job.ref);
    const args = await decodeArgsAsync(job.args);
    state.importing = false;
    if (job.kind === 'green' && Atomics.load(ctl, CTL_KILL) !== 0) channel.call(CHECK_KILL, [], { spin: false });
    let result = (fn as (...values: unknown[]) => unknown)(...args);
    // An async green function: its promise settles on this worker's loop.
    // Other thenables (a GreenThread) are results like any value.
    if (result instanceof Promise) result = await result;
    ok = true;
    outcome = result;
  } catch (error) {
    outcome = error;
  } finally {
    state.importing = false;
    state.job = null;
  }
  channel.done(job.id, ok, outcome);
}

const control = parentPort;
if (control === null) throw new Error('greenloop worker runtime loaded outside a worker thread');
control.on('message', (job: JobMessage) => void runJob(job));
control.postMessage('ready');
