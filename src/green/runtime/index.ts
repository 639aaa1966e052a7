/**
 * The green runtime's seam: the names the eventlet-style API (src/green) and
 * authors of new green operations build on. Nothing else in src/green
 * reaches into the runtime's modules; the linter enforces it.
 *
 * The runtime (this folder) runs green threads in pooled workers parked in
 * `Atomics.wait`, carries their blocking calls to the hub (the event loop's
 * thread) and their values across threads. It knows nothing of the API above
 * it: green modules register their operations, error classes and handle
 * kinds here, as eventlet's modules build on its hub.
 */
export { Hub, registerOperation, type OperationHandler } from './hub.js';
export { dump, printDump, type Dump, type GreenThreadDump, type TaskDump } from './dump.js';
// Side effects: the deadlock watch of debug mode, and the dump on a signal.
import './deadlock.js';
import './dump-signal.js';
export {
  HubThread,
  onThreadExit,
  setFacadeFactory,
  threadHandles,
  threadOf,
  type GreenCaller,
  type LocalLink,
  type RemoteLink,
} from './hub-thread.js';
export { blockingOnHub, callHub, drainPushes, inGreenWorker, onPush, sendHub, type CallOptions, type PushHandler } from './call-hub.js';
export {
  decodeArgs,
  decodeArgsAsync,
  decodeError,
  decodeValue,
  encodeArgs,
  encodeError,
  encodeValue,
  hasFunctionArgs,
  isHandleValue,
  lendValue,
  registerErrorClass,
  registerErrorReviver,
  registerValueCodec,
  type EncodedError,
} from './codec.js';
export { bridgeEnabled, checkBridge, configure, settings, type BridgeOptions, type HubPlacement } from './config.js';
export {
  BlockingOnHubError,
  BridgeDisabledError,
  DeadlockError,
  GreenletExit,
  HubClosedError,
  NotInGreenThreadError,
  NotModuleLevelError,
  RecursiveSpawnError,
  WorkerCrashedError,
} from './errors.js';
export { hostedHubStarted } from './hosted-main.js';
export { HandleTable, RemoteHandles } from './lent-handles.js';
export { poolStats, prestart, shutdownWorkers, warmAhead, type PoolStats, type WorkerSlot } from './pool.js';
export { ThreadPoolExecutor, type ThreadPoolExecutorOptions } from './thread-pool-executor.js';
export { functionRef, resolveRef, resolveRefSync, type AnyFunction, type FunctionRef } from './reference.js';
export { currentGreenThread, isMainGreenThread, workerState } from './worker-state.js';
