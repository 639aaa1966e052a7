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
} from './errors.js';
export { configure, bridgeEnabled, type BridgeOptions, type HubPlacement } from './config.js';
export { hostedHubStarted } from './hosted.js';
export { runGreen } from './run-green.js';
export { callAsync, runAsync, AsyncHandle, type CoroutineResult } from './async-call.js';
export { isMainGreenThread } from './worker-state.js';
export { poolStats, prestart, shutdownWorkers, type PoolStats } from './pool.js';
export { ThreadPoolExecutor, type ThreadPoolExecutorOptions } from './executor.js';
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
} from './report.js';

// Building green operations (see hub.ts for the protocol).
export { registerOperation, type OperationHandler } from './hub.js';
export type { GreenCaller } from './thread.js';
export { callHub, sendHub, onPush, drainPushes, type CallOptions, type PushHandler } from './call.js';
export { registerErrorClass } from './codec.js';
