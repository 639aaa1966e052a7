/**
 * The hosted placement, main side: a program whose main flow is green.
 *
 * A legacy program calls `sleep(0.1)` or `spawn(f).wait()` at its top
 * level, where no event loop runs. Its first such call starts the hub on a
 * worker thread (hub-worker.ts: a loop that runs forever and serves green
 * threads, whose pool it starts from there), and the main thread becomes a
 * green thread of that hub: it has a channel like any green worker, and
 * parks on it while the hub works. Async code joins the loop by reference
 * (`runAsync`, `callAsync`).
 *
 * When: `configure({ hub })`. 'auto' (default) hosts the calls made while
 * no loop runs on the main thread, so a program that owns its loop
 * (`run(main)`) keeps the loop placement; 'worker' hosts every call; 'loop'
 * none. With the bridge off nothing here starts.
 *
 * Lifetime: the hub's worker is unref'd, so it never keeps the process
 * alive: as in eventlet, the program ends when its main flow ends (green
 * threads still running end with it). If the hub's thread dies, every call
 * of the main thread throws HubClosedError.
 *
 * The main thread does not own the hub's worker: parked in Atomics.wait, it
 * would never see the worker's 'exit' or 'error' event, and a hub that dies
 * without running any JavaScript (V8 heap out of memory) could not release
 * it. A small watcher worker (plain JavaScript, no TypeScript support
 * loaded) starts the hub's worker as its child, and when that child exits
 * or fails, flags the main thread's `ctl` closed and wakes it, so its parked
 * call throws HubClosedError. `GREENLOOP_HUB_MAX_HEAP_MB` caps the hub
 * worker's V8 heap (its `resourceLimits.maxOldGenerationSizeMb`).
 */
import { isMainThread, MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { _getRunningLoop } from '../../loop/running.js';
import { Channel, type CallOptions } from './channel.js';
import { bridgeEnabled, onConfigure, settings, type BridgeSettings } from './config.js';
import { createChannelMemory } from './pipe.js';
import { ValueError } from '../../loop/errors.js';
import {
  CTL_HUB,
  CTL_REPLY,
  CTL_SLOTS,
  HUB_CLOSED,
  SHARED_MAX_SPINNERS,
  SHARED_SLOTS,
  SHARED_SPIN_LIMIT,
  type HostedHubBoot,
} from './protocol.js';
import { dropRefusedExecArgv, tsxApiUrl, workerEntryUrl, workerExecArgv, workerHubRuntimeUrl, workerPreloadUrl } from './worker-boot.js';
import { installMainStateProvider, type WorkerState } from './worker-state.js';

/** The id of the main thread among the hub's green threads: the first it serves. */
export const HOSTED_MAIN_ID = 1;

/** The main thread's channel: it starts the hub's worker on its first use. */
class HostedChannel extends Channel {
  private worker: Worker | null = null;

  constructor(
    private readonly hubPort: MessagePort,
    private readonly rings: SharedArrayBuffer,
    private readonly hubCtl: Int32Array,
    private readonly spin: Int32Array,
    ownPort: MessagePort,
  ) {
    super(ownPort, rings, hubCtl, spin);
  }

  override call(op: string, args: readonly unknown[], options?: CallOptions): unknown {
    this.ensureHub();
    return super.call(op, args, options);
  }

  override send(op: string, args: readonly unknown[], module?: string): void {
    this.ensureHub();
    super.send(op, args, module);
  }

  override release(tag: string, ids: readonly (readonly [number, number])[]): void {
    // Handles can only have come from a started hub.
    if (this.worker !== null) super.release(tag, ids);
  }

  /** Whether the hub's worker was started. */
  get started(): boolean {
    return this.worker !== null;
  }

  private ensureHub(): void {
    if (this.worker !== null || Atomics.load(this.hubCtl, CTL_HUB) === HUB_CLOSED) return;
    const boot: HostedHubBoot = {
      greenloopWorker: true,
      runtimeUrl: workerHubRuntimeUrl,
      tsxApiUrl: tsxApiUrl(),
      preloadUrl: workerPreloadUrl(),
      port: this.hubPort,
      rings: this.rings,
      ctl: this.hubCtl.buffer as SharedArrayBuffer,
      shared: this.spin.buffer as SharedArrayBuffer,
      settings: { ...settings, bridge: true },
      mainId: HOSTED_MAIN_ID,
    };
    this.worker = startHubWorker(boot);
    // Never keeps the process alive: the program ends with its main flow.
    this.worker.unref();
    const worker = this.worker;
    onConfigure((changed) => worker.postMessage({ settings: { ...changed, bridge: true } }));
  }
}

/**
 * The watcher (an eval'd CommonJS worker: nothing to load, no TypeScript
 * support): starts the hub's worker as its child, forwards settings to it,
 * and releases the main thread for good when it ends, as releaseMain() in
 * hub-worker.ts does when the hub's own JavaScript still runs.
 */
const WATCHER_SOURCE = `
const { Worker, parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { hubBoot, entryUrl, execArgv, resourceLimits, slots } = workerData;
const ctl = new Int32Array(hubBoot.ctl);
const releaseMain = () => {
  Atomics.store(ctl, slots.hub, slots.closed);
  Atomics.add(ctl, slots.reply, 1);
  Atomics.notify(ctl, slots.reply);
};
let hub;
try {
  hub = new Worker(new URL(entryUrl), { workerData: hubBoot, transferList: [hubBoot.port], execArgv, resourceLimits });
} catch (error) {
  writeSync(2, 'greenloop: the hub for the main thread could not start: ' + ((error && error.stack) || error) + '\\n');
  releaseMain();
  throw error;
}
hub.on('error', (error) => {
  writeSync(2, "greenloop: the hub's thread died: " + ((error && error.stack) || error) + '\\n');
  releaseMain();
});
hub.on('exit', () => {
  releaseMain();
  parentPort.close();
});
parentPort.on('message', (message) => hub.postMessage(message));
`;

/** The hub worker's heap cap in MB from GREENLOOP_HUB_MAX_HEAP_MB, or undefined for V8's default. */
function hubHeapLimit(): number | undefined {
  const value = (process.env.GREENLOOP_HUB_MAX_HEAP_MB ?? '').trim();
  if (value === '') return undefined;
  const mb = Number(value);
  if (!Number.isFinite(mb) || mb <= 0) {
    throw new ValueError(`GREENLOOP_HUB_MAX_HEAP_MB must be a positive number of megabytes, got ${JSON.stringify(value)}`);
  }
  return mb;
}

/** Starts the watcher, which starts the hub's worker (see the module documentation). */
function startHubWorker(boot: HostedHubBoot): Worker {
  const heap = hubHeapLimit();
  for (;;) {
    const execArgv = workerExecArgv();
    try {
      const workerData = {
        hubBoot: boot,
        entryUrl: workerEntryUrl.href,
        execArgv,
        resourceLimits: heap === undefined ? undefined : { maxOldGenerationSizeMb: heap },
        slots: { hub: CTL_HUB, reply: CTL_REPLY, closed: HUB_CLOSED },
      };
      return new Worker(WATCHER_SOURCE, { eval: true, workerData, transferList: [boot.port], execArgv });
    } catch (error) {
      if (!dropRefusedExecArgv(error)) throw error;
    }
  }
}

let hosted: (WorkerState & { channel: HostedChannel }) | null = null;

function createHostedState(): WorkerState & { channel: HostedChannel } {
  const { port1, port2 } = new MessageChannel();
  port2.unref();
  const ctl = new Int32Array(new SharedArrayBuffer(CTL_SLOTS * 4));
  // The main thread spins on its own budget: the pool's shared counters live on the hub's thread.
  const spin = new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * 4));
  Atomics.store(spin, SHARED_SPIN_LIMIT, settings.spinLimit);
  Atomics.store(spin, SHARED_MAX_SPINNERS, Math.max(1, availableParallelism() - 1));
  onConfigure((changed: BridgeSettings) => Atomics.store(spin, SHARED_SPIN_LIMIT, changed.spinLimit));
  const channel = new HostedChannel(port1, createChannelMemory(), ctl, spin, port2);
  return { channel, job: { id: HOSTED_MAIN_ID, kind: 'green' }, importing: false };
}

/**
 * The main thread's green-thread state when its green calls go to a hosted
 * hub now (see the module documentation), else null. Creating the state
 * costs nothing; the hub's worker starts with the first call.
 */
function mainState(): WorkerState | null {
  if (!isMainThread || settings.hub === 'loop') return null;
  if (settings.hub === 'auto' && _getRunningLoop() !== null) return null;
  if (!bridgeEnabled()) return null;
  hosted ??= createHostedState();
  return hosted;
}

/** Whether this process's main thread started a hosted hub. */
export function hostedHubStarted(): boolean {
  return hosted?.channel.started ?? false;
}

installMainStateProvider(mainState);
