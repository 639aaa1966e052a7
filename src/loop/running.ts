/**
 * Which loop is running, and the current loop of this thread (asyncio's
 * `events.py` module-level functions).
 *
 * A thread runs at most one loop at a time. The loop class registers itself as
 * the factory, so this module needs no import of it.
 */
import { RuntimeError } from './errors.js';
import type { EventLoop } from './event-loop.js';

let runningLoop: EventLoop | null = null;
let currentLoop: EventLoop | null = null;
let loopFactory: (() => EventLoop) | null = null;

/** @internal Called by EventLoop's module so this one can create loops. */
export function _registerLoopFactory(factory: () => EventLoop): void {
  loopFactory = factory;
}

/** @internal Called by the loop when it starts and stops running. */
export function _setRunningLoop(loop: EventLoop | null): void {
  runningLoop = loop;
}

let greenThreadProbe: (() => boolean) | null = null;

/** @internal The green runtime tells the loop how to know a green thread (no loop of its own runs there). */
export function _setGreenThreadProbe(probe: () => boolean): void {
  greenThreadProbe = probe;
}

/** @internal Whether this thread runs green code: its event loop is the hub's, on another thread. */
export function inGreenThread(): boolean {
  return greenThreadProbe?.() ?? false;
}

/** The running loop, or null when none runs. */
export function _getRunningLoop(): EventLoop | null {
  return runningLoop;
}

/**
 * What to write instead, appended to every "no running event loop" error: an
 * async function runs up to its first await when called, so `run(main())`
 * and `createTask(fn())` start it before any loop runs.
 */
const NO_RUNNING_LOOP_HINT =
  'no running event loop: if you called run(main()) or createTask(fn()), pass the function instead: run(main) / run(fn, ...args)';

/**
 * @internal The running loop, for `api` (the public call that needs one,
 * e.g. 'openConnection()'); a RuntimeError naming `api` and the fix of the
 * usual cause when no loop is running.
 */
export function _requireRunningLoop(api: string): EventLoop {
  if (runningLoop === null) throw new RuntimeError(`${api}: ${NO_RUNNING_LOOP_HINT}`);
  return runningLoop;
}

/**
 * The running loop; a RuntimeError when no loop is running (its message
 * says how to fix the usual cause, `run(main())` instead of `run(main)`).
 */
export function getRunningLoop(): EventLoop {
  return _requireRunningLoop('getRunningLoop()');
}

/**
 * The running loop if there is one; otherwise the loop set with
 * `setEventLoop`, created on first use.
 */
export function getEventLoop(): EventLoop {
  if (runningLoop !== null) return runningLoop;
  if (currentLoop === null || currentLoop.isClosed()) currentLoop = newEventLoop();
  return currentLoop;
}

/** Makes `loop` the current loop returned by `getEventLoop()` when none runs. */
export function setEventLoop(loop: EventLoop | null): void {
  currentLoop = loop;
}

/** A new, not yet running loop. */
export function newEventLoop(): EventLoop {
  if (loopFactory === null) throw new RuntimeError('greenloop: the EventLoop module is not loaded');
  return loopFactory();
}
