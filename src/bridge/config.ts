/**
 * Bridge settings: `configure()` and `bridgeEnabled()`.
 */
import { availableParallelism } from 'node:os';
import { ValueError } from '../loop/errors.js';
import { BridgeDisabledError } from './errors.js';
import { poolWorkerState } from './worker-state.js';

/** Options of `configure()`; every field is optional and keeps its value when omitted. */
export interface BridgeOptions {
  /**
   * False drops the bridge: no hub and no green worker start, and every
   * green call throws BridgeDisabledError naming its call site. Default:
   * true, unless the environment has `GREENLOOP_BRIDGE=off`.
   */
  bridge?: boolean;
  /**
   * Where the hub (the loop serving green threads) runs for green calls
   * made on the main thread (docs/placements.md):
   * - 'loop': on the thread running the event loop; a blocking green call
   *   on that thread throws BlockingOnHubError;
   * - 'worker': on a worker thread started by the first green call; the
   *   main thread is then a green thread, always (a loop running on it is
   *   blocked by its green calls);
   * - 'auto' (default): 'worker' for a green call made while no loop runs
   *   on the main thread, 'loop' while one runs.
   */
  hub?: HubPlacement;
  /** How many idle workers are kept warm for the next green threads. Default: cores, at least 2. */
  poolSize?: number;
  /** Seconds an idle worker is kept before it exits. Default: 30. */
  idleTimeout?: number;
  /**
   * Cap of the spin before a blocked green thread parks, in microseconds
   * (0: park at once). Default: 100.
   */
  spinLimit?: number;
  /** Debug mode: green threads remember where they were spawned, for error reports. */
  debug?: boolean;
}

/** Where the hub runs for green calls made on the main thread: see `BridgeOptions.hub`. */
export type HubPlacement = 'auto' | 'loop' | 'worker';

export interface BridgeSettings {
  bridge: boolean | null;
  hub: HubPlacement;
  poolSize: number;
  idleTimeout: number;
  spinLimit: number;
  debug: boolean;
}

/** @internal The current settings (`bridge` null: decided by the environment). */
export const settings: BridgeSettings = {
  bridge: null,
  hub: 'auto',
  poolSize: Math.max(2, availableParallelism()),
  idleTimeout: 30,
  spinLimit: 100,
  debug: false,
};

const listeners = new Set<(settings: BridgeSettings) => void>();

/** @internal Calls `listener` after each `configure()`. */
export function onConfigure(listener: (settings: BridgeSettings) => void): void {
  listeners.add(listener);
}

/**
 * Changes bridge settings; omitted fields keep their values. ValueError for
 * a value out of range (nothing is changed then).
 */
export function configure(options: BridgeOptions): void {
  const next = { ...settings };
  if (options.bridge !== undefined) next.bridge = Boolean(options.bridge);
  if (options.hub !== undefined) {
    if (options.hub !== 'auto' && options.hub !== 'loop' && options.hub !== 'worker') {
      throw new ValueError(`configure: hub must be 'auto', 'loop' or 'worker', got ${JSON.stringify(options.hub)}`);
    }
    next.hub = options.hub;
  }
  if (options.poolSize !== undefined) next.poolSize = checkCount('poolSize', options.poolSize);
  if (options.idleTimeout !== undefined) next.idleTimeout = checkSeconds('idleTimeout', options.idleTimeout);
  if (options.spinLimit !== undefined) next.spinLimit = checkCount('spinLimit', options.spinLimit);
  if (options.debug !== undefined) next.debug = Boolean(options.debug);
  Object.assign(settings, next);
  for (const listener of listeners) listener(settings);
}

/**
 * Whether the bridge is on: `configure({ bridge })` if given, else not
 * `GREENLOOP_BRIDGE=off`. Always true in a green worker: workers only run
 * while the hub's thread has the bridge on.
 */
export function bridgeEnabled(): boolean {
  if (poolWorkerState() !== null) return true;
  if (settings.bridge !== null) return settings.bridge;
  const value = (process.env.GREENLOOP_BRIDGE ?? '').trim().toLowerCase();
  return !['off', '0', 'false', 'no', 'disabled'].includes(value);
}

/** @internal Throws BridgeDisabledError for green call `call` when the bridge is off. */
export function checkBridge(call: string): void {
  if (!bridgeEnabled()) throw new BridgeDisabledError(call, callerSite());
}

/** Frames of greenloop's green and bridge layers, skipped when naming a call site. */
const OWN_FRAME = /[\\/](src|dist)[\\/](green|bridge)[\\/]|\(node:|^\s*at node:/;

/** The first stack frame outside greenloop: where the user made the call. */
export function callerSite(): string {
  const lines = (new Error().stack ?? '').split('\n').slice(1);
  for (const line of lines) {
    if (OWN_FRAME.test(line)) continue;
    return line.trim().replace(/^at /, '');
  }
  return '';
}

function checkCount(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new ValueError(`configure: ${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

function checkSeconds(name: string, value: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new ValueError(`configure: ${name} must be a non-negative number of seconds, got ${String(value)}`);
  }
  return value;
}
