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

/** The running loop, or null when none runs. */
export function _getRunningLoop(): EventLoop | null {
  return runningLoop;
}

/** The running loop; a RuntimeError when no loop is running. */
export function getRunningLoop(): EventLoop {
  if (runningLoop === null) throw new RuntimeError('no running event loop');
  return runningLoop;
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
