/**
 * Bridge settings: `configure()` and `bridgeEnabled()`.
 */
import { availableParallelism, constants as osConstants } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ValueError } from '../../loop/errors.js';
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
  /** How many workers `prestart()` starts by default. Default: cores, at least 2. */
  poolSize?: number;
  /**
   * The most workers kept idle and warm for the next green threads (the
   * memory cap of the warm pool: each idle worker holds about 10 MB, 40 MB
   * under tsx). Within it the warm pool follows demand: the workers a burst
   * used stay warm for the next burst, until `idleTimeout`. Default: 256.
   */
  maxIdleWorkers?: number;
  /** Seconds an idle worker is kept before it exits. Default: 30. */
  idleTimeout?: number;
  /**
   * Cap of the spin before a blocked green thread parks, in microseconds
   * (0: park at once). Default: 100.
   */
  spinLimit?: number;
  /** Debug mode: green threads remember where they were spawned, for error reports. */
  debug?: boolean;
  /**
   * Seconds a killed green thread (`kill()`, a green `Timeout`) may go on
   * computing without making a green call before its worker is terminated:
   * the thread then dies with the kill's error (GreenletExit by default)
   * without running its `finally` blocks, and the worker is never reused.
   * Default: 1.
   */
  killGrace?: number;
  /**
   * A signal that prints `dump()` to stderr (what every task and green
   * thread waits on): true for SIGUSR2, a signal name, or false for none.
   * Default: `GREENLOOP_DUMP` (`GREENLOOP_DUMP=SIGUSR2`, or `1`), else none.
   * Only the main thread receives signals, so it works where the loop runs
   * on the main thread (the hosted main flow, parked in a call, cannot
   * print: use debug mode's deadlock report or `dump()` there).
   */
  dumpSignal?: boolean | NodeJS.Signals | null;
}

/** Where the hub runs for green calls made on the main thread: see `BridgeOptions.hub`. */
export type HubPlacement = 'auto' | 'loop' | 'worker';

export interface BridgeSettings {
  bridge: boolean | null;
  hub: HubPlacement;
  poolSize: number;
  maxIdleWorkers: number;
  idleTimeout: number;
  spinLimit: number;
  debug: boolean;
  killGrace: number;
  dumpSignal: NodeJS.Signals | null;
}

/** @internal The current settings (`bridge` null: decided by the environment). */
export const settings: BridgeSettings = {
  bridge: null,
  hub: 'auto',
  poolSize: Math.max(2, availableParallelism()),
  maxIdleWorkers: 256,
  idleTimeout: 30,
  spinLimit: 100,
  debug: false,
  killGrace: 1,
  dumpSignal: dumpSignalFromEnvironment(),
};

const listeners = new Set<(settings: BridgeSettings) => void>();

/** @internal Calls `listener` after each `configure()`. */
export function onConfigure(listener: (settings: BridgeSettings) => void): void {
  listeners.add(listener);
}

const OPTION_NAMES: readonly (keyof BridgeOptions)[] = [
  'bridge',
  'hub',
  'poolSize',
  'maxIdleWorkers',
  'idleTimeout',
  'spinLimit',
  'debug',
  'killGrace',
  'dumpSignal',
];

/**
 * Changes bridge settings; omitted (or `undefined`) fields keep their values.
 * Every option is checked before anything changes:
 * - TypeError for an unknown option name (the message lists the valid ones)
 *   or a value of the wrong type: `bridge` and `debug` must be booleans (a
 *   string such as `'off'` is refused, not read as truthy), `hub` one of the
 *   strings `'auto'`, `'loop'`, `'worker'`, `poolSize`, `maxIdleWorkers`,
 *   `idleTimeout`, `spinLimit` and `killGrace` numbers, `dumpSignal` a
 *   boolean, a signal name or null;
 * - ValueError for a value of the right type out of range: a `hub` string
 *   other than the three above, a negative or fractional `poolSize`,
 *   `maxIdleWorkers` or `spinLimit`, a negative or NaN `idleTimeout` or
 *   `killGrace`, a `dumpSignal` naming no signal the process can catch.
 */
export function configure(options: BridgeOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`configure: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      throw new TypeError(`configure: unknown option ${JSON.stringify(key)}; valid options are ${OPTION_NAMES.join(', ')}`);
    }
  }
  const next = { ...settings };
  if (options.bridge !== undefined) next.bridge = checkBoolean('bridge', options.bridge);
  if (options.hub !== undefined) {
    if (typeof options.hub !== 'string') {
      throw new TypeError(`configure: hub must be 'auto', 'loop' or 'worker', got ${describe(options.hub)}`);
    }
    if (options.hub !== 'auto' && options.hub !== 'loop' && options.hub !== 'worker') {
      throw new ValueError(`configure: hub must be 'auto', 'loop' or 'worker', got ${JSON.stringify(options.hub)}`);
    }
    next.hub = options.hub;
  }
  if (options.poolSize !== undefined) next.poolSize = checkCount('poolSize', options.poolSize);
  if (options.maxIdleWorkers !== undefined) next.maxIdleWorkers = checkCount('maxIdleWorkers', options.maxIdleWorkers);
  if (options.idleTimeout !== undefined) next.idleTimeout = checkSeconds('idleTimeout', options.idleTimeout);
  if (options.spinLimit !== undefined) next.spinLimit = checkCount('spinLimit', options.spinLimit);
  if (options.debug !== undefined) next.debug = checkBoolean('debug', options.debug);
  if (options.killGrace !== undefined) next.killGrace = checkSeconds('killGrace', options.killGrace);
  if (options.dumpSignal !== undefined) next.dumpSignal = checkDumpSignal(options.dumpSignal);
  Object.assign(settings, next);
  for (const listener of listeners) listener(settings);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' || typeof value === 'function') return `a ${typeof value}`;
  return `${typeof value} ${String(value)}`;
}

function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`configure: ${name} must be a boolean (true or false), got ${describe(value)}`);
  }
  return value;
}

function checkNumber(name: string, value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`configure: ${name} must be a number (${what}), got ${describe(value)}`);
  }
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

/**
 * greenloop's own code: `src/` (or `dist/`), two levels up from this
 * module. Frames in files under it are skipped when naming a call site, so
 * a user's files in folders that happen to be named `src/green` or
 * `src/bridge` still count as theirs.
 */
const OWN_DIR = fileURLToPath(new URL('../..', import.meta.url));
const OWN_URL = pathToFileURL(OWN_DIR).href.replace(/\/?$/, '/');
const NODE_FRAME = /\(node:|^\s*at node:|\(native\)$/;

/** The file a stack line names, as a path, or null if none. */
function frameFile(line: string): string | null {
  const match = /\((.*):\d+:\d+\)$/.exec(line) ?? /^\s*at (?:async )?(.*):\d+:\d+$/.exec(line);
  if (match === null) return null;
  const file = match[1];
  if (file.startsWith('file://')) {
    try {
      return fileURLToPath(file.replace(/[?#].*$/, ''));
    } catch {
      return file;
    }
  }
  return file;
}

/** Whether a stack line is a frame of greenloop itself or of Node's internals. */
function isOwnFrame(line: string): boolean {
  if (NODE_FRAME.test(line)) return true;
  const file = frameFile(line);
  if (file === null) return false;
  return file.startsWith(OWN_DIR) || file.startsWith(OWN_URL);
}

/** @internal The current stack's frames outside greenloop (up to 50 deep), most recent first. */
export function userFrames(): string[] {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  let stack: string;
  try {
    stack = new Error().stack ?? '';
  } finally {
    Error.stackTraceLimit = limit;
  }
  return stack
    .split('\n')
    .slice(1)
    .filter((line) => !isOwnFrame(line));
}

/** The first stack frame outside greenloop: where the user made the call. */
export function callerSite(): string {
  return userFrames()[0]?.trim().replace(/^at /, '') ?? '';
}

function checkCount(name: string, value: unknown): number {
  checkNumber(name, value, 'a non-negative integer');
  if (!Number.isInteger(value) || value < 0) {
    throw new ValueError(`configure: ${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

function checkSeconds(name: string, value: unknown): number {
  checkNumber(name, value, 'non-negative seconds');
  if (Number.isNaN(value) || value < 0) {
    throw new ValueError(`configure: ${name} must be a non-negative number of seconds, got ${String(value)}`);
  }
  return value;
}

/** SIGUSR2 for true, the signal for a signal name, null for false: TypeError or ValueError otherwise. */
function checkDumpSignal(value: unknown): NodeJS.Signals | null {
  if (value === null) return null;
  if (typeof value === 'boolean') return value ? 'SIGUSR2' : null;
  if (typeof value !== 'string') {
    throw new TypeError(`configure: dumpSignal must be a boolean or a signal name, got ${describe(value)}`);
  }
  return dumpSignalFrom(value, 'configure: dumpSignal') ?? 'SIGUSR2';
}

/** `GREENLOOP_DUMP`'s signal; a value naming none is reported once and ignored. */
function dumpSignalFromEnvironment(): NodeJS.Signals | null {
  try {
    return dumpSignalFrom(process.env.GREENLOOP_DUMP ?? '', 'GREENLOOP_DUMP');
  } catch (error) {
    if (poolWorkerState() === null) process.emitWarning((error as Error).message, 'GreenloopWarning');
    return null;
  }
}

/**
 * The signal named by `value` ('SIGUSR2', 'usr2'; '1', 'on' or 'true' mean
 * SIGUSR2; '', '0', 'off' mean none). ValueError for an unknown signal, or
 * one a process cannot catch or that already has a meaning (SIGKILL,
 * SIGSTOP, SIGUSR1: Node's inspector).
 */
function dumpSignalFrom(value: string, what: string): NodeJS.Signals | null {
  const text = value.trim().toUpperCase();
  if (['', '0', 'OFF', 'FALSE', 'NO'].includes(text)) return null;
  if (['1', 'ON', 'TRUE', 'YES'].includes(text)) return 'SIGUSR2';
  const name = (text.startsWith('SIG') ? text : `SIG${text}`) as NodeJS.Signals;
  if (!(name in osConstants.signals) || ['SIGKILL', 'SIGSTOP', 'SIGUSR1'].includes(name)) {
    throw new ValueError(`${what} must name a signal the process can catch (e.g. SIGUSR2), got ${JSON.stringify(value)}`);
  }
  return name;
}
