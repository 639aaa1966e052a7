/**
 * greenloop/bridge: where green code runs, and crossing between green and
 * async code.
 */
export {
  BridgeDisabledError,
  NotModuleLevelError,
  RecursiveSpawnError,
  HubClosedError,
  WorkerCrashedError,
  BlockingOnHubError,
  NotInGreenThreadError,
  DeadlockError,
} from '../green/runtime/index.js';
export { dump, printDump, type Dump, type GreenThreadDump, type TaskDump } from '../green/runtime/index.js';
export { configure, bridgeEnabled, type BridgeOptions, type HubPlacement } from '../green/runtime/index.js';
export { hostedHubStarted } from '../green/runtime/index.js';
export { runGreen } from './run-green.js';
export { callAsync, runAsync, AsyncHandle, type CoroutineResult } from './async-call.js';
export { toStreams, toGreenSocket, handOver, type StreamHandler } from './hand-over.js';
export { HandedOverError } from '../green/socket-errors.js';
export { isMainGreenThread } from '../green/runtime/index.js';
export { poolStats, prestart, shutdownWorkers, type PoolStats } from '../green/runtime/index.js';
export { ThreadPoolExecutor, type ThreadPoolExecutorOptions } from '../green/runtime/index.js';
export {
  scanProject,
  scanSource,
  ReportPathError,
  TypeScriptUnavailableError,
  GREEN_BRIDGE_HELPERS,
  type MigrationReport,
  type ModuleReport,
  type GreenUse,
  type GreenUseKind,
  type GreenEntryPoint,
  type ScanOptions,
} from '../report/scan.js';

// Building green operations (see hub.ts for the protocol).
export { registerOperation, type OperationHandler } from '../green/runtime/index.js';
export type { GreenCaller } from '../green/runtime/index.js';
export { callHub, sendHub, onPush, drainPushes, type CallOptions, type PushHandler } from '../green/runtime/index.js';
export { registerErrorClass } from '../green/runtime/index.js';
