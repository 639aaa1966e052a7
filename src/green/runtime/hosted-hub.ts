/**
 * The hosted placement, hub side: the runtime of the worker thread that
 * hosts the hub for a main thread whose main flow is green (hosted.ts).
 *
 * It creates an event loop and runs it forever; the main thread is served
 * as the hub's first green thread, through the channel it brought; green
 * threads it spawns run in the pool this thread starts; async functions
 * it starts (`runAsync`, `callAsync`) run as tasks on this loop. Operation
 * modules load on first use, as on any hub.
 *
 * If this thread ends (it cannot start, or dies), the main thread's `ctl`
 * is flagged closed and woken, so its parked call throws HubClosedError
 * instead of waiting forever.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EventLoop } from '../../loop/event-loop.js';
import { setEventLoop } from '../../loop/running.js';
import { configure, type BridgeSettings } from './config.js';
import { Hub } from './hub.js';
// The deadlock watch of debug mode, for the hub created below.
import './deadlock.js';
import { WorkerSlot, warmAhead } from './pool.js';
import { CTL_HUB, CTL_REPLY, HUB_CLOSED, type HostedHubBoot } from './protocol.js';
import { markHostedHub } from './worker-state.js';

const boot = workerData as HostedHubBoot;
const mainCtl = new Int32Array(boot.ctl);

/** Releases the main thread for good: its parked call and every later one throw HubClosedError. */
function releaseMain(): void {
  Atomics.store(mainCtl, CTL_HUB, HUB_CLOSED);
  Atomics.add(mainCtl, CTL_REPLY, 1);
  Atomics.notify(mainCtl, CTL_REPLY);
}

process.on('exit', releaseMain);

function applySettings(settings: BridgeSettings): void {
  const { bridge: _bridge, ...rest } = settings;
  configure({ ...rest, bridge: true, hub: 'loop' });
}

// A green Timeout's clock runs from its creation: its hub side must not wait
// for its module to load on first use, as other operations do.
await import('../timeout.js').catch(() => undefined);

try {
  markHostedHub();
  applySettings(boot.settings);
  parentPort?.on('message', (message: { settings?: BridgeSettings }) => {
    if (message.settings !== undefined) applySettings(message.settings);
  });
  parentPort?.unref();
  const loop = new EventLoop();
  setEventLoop(loop);
  const slot = new WorkerSlot({ port: boot.port, rings: boot.rings, ctl: mainCtl, shared: new Int32Array(boot.shared) });
  const main = Hub.for(loop).attachThread(slot, 'main');
  if (main.id !== boot.mainId) throw new Error(`the main thread got id ${main.id}, expected ${boot.mainId}`);
  void loop.runForever();
  // The main flow spawns its first green thread soon: have a worker ready.
  warmAhead();
  // Green operations load with their modules on first use: load them all
  // now, in the background, so that first uses find them ready.
  import('../index.js').catch(() => undefined);
} catch (error) {
  console.error('greenloop: the hub for the main thread could not start:', error);
  releaseMain();
}
