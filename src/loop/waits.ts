/**
 * What each task waits on right now, for dumps (`dump()` in greenloop/bridge).
 *
 * A task knows the greenloop Future it awaits (`_futWaiter`, as asyncio's
 * `_fut_waiter`) and since when; the primitives that create such Futures
 * label them (`future._label`: a lock's acquire, a queue's get, a stream's
 * read with its peer, a sleep), so a dump can say "Queue.get() on <Queue
 * maxsize=0 qsize=0 getters[1]>" rather than "a Future". Labels are strings
 * or objects formatted only here, so labelling costs one assignment.
 *
 * Guarantees:
 * - Reading a dump changes nothing: no Future, task or transport is touched
 *   beyond reading its state.
 * - A task that awaits no greenloop Future is "running" (it is the current
 *   task, or it awaits a foreign promise: JavaScript cannot tell which).
 */
import type { TaskWaiter } from './context.js';
import type { EventLoop } from './event-loop.js';
import { Future } from './futures.js';
import { allTasks, Task } from './tasks.js';

/** One task in a dump. */
export interface TaskDump {
  /** `task.getName()`. */
  readonly name: string;
  /** The coroutine: its function's name, or what it was given. */
  readonly coro: string;
  /** Where the task was created (most recent call first), in debug mode; else null. */
  readonly createdAt: readonly string[] | null;
  /** What it awaits now (a labelled Future), or null while it runs or awaits a foreign promise. */
  readonly waitingOn: string | null;
  /** Seconds it has waited on `waitingOn` (0 when null). */
  readonly waitingFor: number;
}

/** Every pending task of `loop`, oldest first, with what it awaits. */
export function dumpTasks(loop: EventLoop): TaskDump[] {
  const now = loop.time();
  return [...allTasks(loop)].map((task) => {
    const waiter = task._futWaiter;
    return {
      name: task.getName(),
      coro: describeCoro(task.getCoro()),
      createdAt: task._sourceTraceback,
      waitingOn: waiter === null ? null : describeWaiter(waiter),
      waitingFor: waiter === null ? 0 : Math.max(0, now - task._waitStarted),
    };
  });
}

/**
 * What waiting on `future` means: its label if it has one; for a Task,
 * the task and what it awaits in turn; else the Future and, in debug mode,
 * where it was created.
 */
export function describeFuture(future: Future<unknown>, depth = 0): string {
  if (future._label !== null) return String(future._label);
  if (future instanceof Task) {
    const inner = future._futWaiter;
    const awaiting = inner === null || depth > 4 ? '' : ` awaiting ${describeWaiter(inner, depth + 1)}`;
    return `task ${JSON.stringify(future.getName())} (${describeCoro(future.getCoro())})${awaiting}`;
  }
  const site = future._sourceTraceback?.[0];
  return site === undefined ? 'a Future' : `a Future created ${site}`;
}

/** What waiting on `waiter` means: a Future as above, else the waiter's label (a stream's read). */
export function describeWaiter(waiter: TaskWaiter, depth = 0): string {
  if (waiter instanceof Future) return describeFuture(waiter, depth);
  return waiter._label === null ? String(waiter) : String(waiter._label);
}

/** "host:port" of a transport's peer, or "an unknown peer". */
export function describePeer(transport: { getExtraInfo(name: 'peername'): unknown } | null): string {
  const peer = transport?.getExtraInfo('peername');
  if (Array.isArray(peer) && peer.length >= 2) return `${String(peer[0])}:${String(peer[1])}`;
  if (typeof peer === 'string' && peer !== '') return peer;
  return 'an unknown peer';
}

function describeCoro(coro: unknown): string {
  if (typeof coro === 'function') return `${coro.name || '<anonymous>'}()`;
  if (coro instanceof Future) return String(coro);
  if (coro !== null && typeof coro === 'object' && typeof (coro as { next?: unknown }).next === 'function') {
    return 'a generator';
  }
  return 'a promise';
}
