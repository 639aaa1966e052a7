/**
 * `dump()`: what every task and every green thread waits on right now.
 *
 * Migrations stall on hangs nobody can see. The hub knows each green
 * thread's parked call (`HubThread.pending`: the operation, the Future it
 * waits for, since when), and each task knows the Future it awaits
 * (loop/waits.ts); primitives label those Futures (a queue's get, a socket's
 * recv with its peer, a sleep), so one report says who waits on what, and
 * for how long. It is collected on the loop's thread: called from green code
 * (a worker, or a hosted main flow) it is an operation the hub answers.
 *
 * Guarantees:
 * - Taking a dump changes nothing (no wake-up, no Future touched) and costs
 *   nothing until asked: creation sites are recorded in debug mode only.
 * - With the bridge off, or before any green thread, it lists tasks alone.
 */
import { isMainThread } from 'node:worker_threads';
import type { EventLoop } from '../../loop/event-loop.js';
import { _getRunningLoop } from '../../loop/running.js';
import { describeFuture, dumpTasks, type TaskDump } from '../../loop/waits.js';
import { callHub } from './call-hub.js';
import { hostedHubStarted } from './hosted-main.js';
import { Hub, registerOperation } from './hub.js';
import type { HubThread } from './hub-thread.js';
import { poolStats } from './pool.js';
import { workerState } from './worker-state.js';

export type { TaskDump };

const MODULE = import.meta.url;

/** One green thread in a dump. */
export interface GreenThreadDump {
  readonly id: number;
  /** The function it runs ('main' for a hosted main flow). */
  readonly name: string;
  /** 'parked': in a call to the hub; 'running': computing; 'starting': waiting for its start or a worker. */
  readonly state: 'starting' | 'running' | 'parked';
  /** Where it was spawned (most recent call first), in debug mode; else null. */
  readonly spawnedAt: readonly string[] | null;
  /** The operation it is parked in (`queue.get`, `sock.recv`...), or null. */
  readonly operation: string | null;
  /** What that operation waits for (`queue.get() on <Queue #3 ...>`), or null. */
  readonly waitingOn: string | null;
  /** Seconds it has been parked in `operation` (0 when not parked). */
  readonly waitingFor: number;
}

/** What `dump()` returns: the data, and `text`, the readable report. */
export interface Dump {
  readonly tasks: readonly TaskDump[];
  readonly greenThreads: readonly GreenThreadDump[];
  /** Pooled workers idle and warm, waiting for green threads. */
  readonly idleWorkers: number;
  /** The report, as `printDump()` writes it. */
  readonly text: string;
}

/**
 * Every pending task and every green thread of the loop running on this
 * thread, with what each waits on and for how long (see `Dump`). From green
 * code, the hub's loop is dumped. Never blocks for long: in green code it is
 * one call to the hub.
 */
export function dump(): Dump {
  const state = workerState();
  if (state !== null) {
    // A hosted main flow whose hub has not started has nothing to show yet.
    if (isMainThread && !hostedHubStarted()) return collect(null);
    return callHub<Dump>('runtime.dump', [], { module: MODULE });
  }
  return collect(_getRunningLoop());
}

/** Writes `dump().text` to stderr (synchronously, so it shows even if the process dies next) and returns the dump. */
export function printDump(): Dump {
  const taken = dump();
  process.stderr.write(taken.text);
  return taken;
}

/** @internal The dump of `loop` (null: no loop, so no task and no green thread). */
export function collect(loop: EventLoop | null, caller: HubThread | null = null): Dump {
  const tasks = loop === null ? [] : dumpTasks(loop);
  const hub = loop === null ? undefined : Hub.existing(loop);
  const greenThreads = hub === undefined ? [] : [...hub.threads].map((thread) => describeThread(thread, caller));
  const idleWorkers = hub === undefined ? 0 : poolStats().idle;
  return { tasks, greenThreads, idleWorkers, text: format(tasks, greenThreads, idleWorkers) };
}

function describeThread(thread: HubThread, caller: HubThread | null): GreenThreadDump {
  const pending = thread.pending;
  const base = { id: thread.id, name: thread.ref.name, spawnedAt: thread.sourceTraceback };
  if (thread.state === 'scheduled' || thread.state === 'starting') {
    return { ...base, state: 'starting', operation: null, waitingOn: null, waitingFor: 0 };
  }
  if (pending === null || thread === caller) {
    const operation = thread === caller ? 'runtime.dump' : null;
    return { ...base, state: 'running', operation, waitingOn: null, waitingFor: 0 };
  }
  const waitingOn = pending.future === null ? pending.op : describeFuture(pending.future);
  return { ...base, state: 'parked', operation: pending.op, waitingOn, waitingFor: thread.loop.time() - pending.since };
}

// ---- the report ------------------------------------------------------------------

function format(tasks: readonly TaskDump[], threads: readonly GreenThreadDump[], idleWorkers: number): string {
  const lines = [
    `greenloop dump (pid ${process.pid}, ${new Date().toISOString()}): ` +
      `${count(tasks.length, 'task')}, ${count(threads.length, 'green thread')}, ${count(idleWorkers, 'idle worker')}`,
  ];
  if (tasks.length > 0) lines.push('Tasks:');
  for (const task of tasks) {
    const what = task.waitingOn === null ? 'running (or awaiting a promise)' : `waits ${seconds(task.waitingFor)} on ${task.waitingOn}`;
    lines.push(`  ${JSON.stringify(task.name)} ${task.coro} ${what}`);
    lines.push(...site('created', task.createdAt));
  }
  if (threads.length > 0) lines.push('Green threads:');
  for (const thread of threads) {
    let what: string = thread.state;
    if (thread.state === 'parked') what = `parked ${seconds(thread.waitingFor)} in ${parkedIn(thread)}`;
    else if (thread.operation !== null) what = `running (${thread.operation})`;
    lines.push(`  #${thread.id} ${thread.name}() ${what}`);
    lines.push(...site('spawned', thread.spawnedAt));
  }
  return `${lines.join('\n')}\n`;
}

/** The operation, and what it waits on unless its label already starts with it. */
function parkedIn(thread: GreenThreadDump): string {
  const operation = thread.operation ?? '?';
  const on = thread.waitingOn;
  return on === null || on.startsWith(operation) ? (on ?? operation) : `${operation}(): ${on}`;
}

function site(verb: string, stack: readonly string[] | null): string[] {
  const frame = stack?.[0];
  return frame === undefined ? [] : [`      ${verb} ${frame}`];
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function seconds(value: number): string {
  return `${value.toFixed(value < 10 ? 2 : 0)} s`;
}

registerOperation('runtime.dump', (caller) => collect(caller.loop, caller as HubThread));
