/**
 * Debug mode's deadlock watch: a program whose green threads all wait on
 * each other (an Event nobody will set, two threads each waiting on the
 * other's queue) would otherwise hang silently, or end with the loop's
 * promise unsettled. Go reports "all goroutines are asleep" and gevent
 * raises `LoopExit` in the blocked greenlet; here the hub, once it is sure,
 * logs the dump through the loop's exception handler and raises
 * DeadlockError (carrying the dump) at the call every parked thread waits
 * in, so `finally` blocks run, and whoever waits for those threads (a
 * `runGreen` awaiter, `wait()`, the hosted main flow) gets the error.
 *
 * A deadlock is: every green thread of the hub parked in a call whose
 * answer is a pending Future; the loop with no ready callback and no timer
 * (a green Timeout, a call's timeout, `sleep`, `callLater` are timers); and
 * the process with no other handle or request that could call back (a
 * socket, a server, a subprocess, an fs or DNS request, a Node timer, a
 * worker computing for the executor, stdin being read). stdout and stderr
 * do not count, nor does the loop's own keep-alive timer.
 *
 * Guarantees:
 * - Only in debug mode (`GREENLOOP_DEBUG=1`, `run(main, { debug: true })`,
 *   `loop.setDebug(true)` or `configure({ debug: true })`); otherwise the
 *   watch costs one flag test per idle spell of the loop.
 * - No false positive from a transient state: the same threads must be
 *   parked in the same calls, with nothing else alive, at two checks
 *   CONFIRM_DELAY apart, both while the loop idles. A process with an open
 *   server, a socket or a subprocess is never reported: something may come.
 * - The watch's own timer is unref'd: it never keeps the process alive.
 */
import { clearTimeout, setTimeout } from 'node:timers';
import type { EventLoop } from '../../loop/event-loop.js';
import { settings } from './config.js';
import { collect } from './dump.js';
import { DeadlockError } from './errors.js';
import { onHubCreated, type Hub } from './hub.js';
import type { HubThread } from './hub-thread.js';

/** Seconds between the two checks that confirm a deadlock. */
const CONFIRM_DELAY = 0.25;
/** Seconds between checks while something else is alive (an open server...) and every thread is parked. */
const POLL_DELAY = 1;

class DeadlockWatch {
  private timer: NodeJS.Timeout | null = null;
  /** The parked calls seen at the last check, or null. */
  private seen: string | null = null;

  constructor(private readonly hub: Hub) {
    hub.loop._onIdle(() => this.onIdle());
  }

  /** The loop went idle: if every green thread is parked, start checking. */
  private onIdle(): void {
    if (this.timer !== null || !debugMode(this.hub.loop) || parkedCalls(this.hub) === null) return;
    this.seen = null;
    this.schedule(CONFIRM_DELAY);
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => this.check(), delay * 1000);
    this.timer.unref();
  }

  private check(): void {
    this.timer = null;
    const loop = this.hub.loop;
    const parked = parkedCalls(this.hub);
    // The loop has work or some thread computes: the next idle spell starts over.
    if (loop.isClosed() || !loop.isRunning() || loop._hasWork() || parked === null || !debugMode(loop)) return;
    if (otherActivity(loop)) {
      this.seen = null;
      this.schedule(POLL_DELAY);
    } else if (parked !== this.seen) {
      this.seen = parked;
      this.schedule(CONFIRM_DELAY);
    } else {
      this.seen = null;
      this.report();
    }
  }

  /** Logs the dump once and raises DeadlockError in every parked thread. */
  private report(): void {
    const loop = this.hub.loop;
    const { text } = collect(loop);
    loop.callExceptionHandler({
      message: 'Deadlock: every green thread is parked and nothing on the loop can wake them (debug mode)',
      dump: `\n${text}`,
    });
    for (const thread of [...this.hub.threads]) {
      const pending = thread.pending;
      if (pending === null) continue;
      const error = new DeadlockError(
        `deadlock: green thread #${thread.id} (${thread.ref.name}) waits in ${pending.op}(), and every green ` +
          'thread is parked with nothing on the loop to wake them (timers, I/O, computing threads: none)',
        text,
      );
      thread.interrupt(error);
    }
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

function debugMode(loop: EventLoop): boolean {
  return settings.debug || loop.getDebug();
}

/**
 * A key of every thread's parked call (thread id and call sequence) if
 * every thread of the hub is parked on a pending Future, else null.
 */
function parkedCalls(hub: Hub): string | null {
  if (hub.threads.size === 0) return null;
  const keys: string[] = [];
  for (const thread of hub.threads) {
    if (!isParked(thread)) return null;
    keys.push(`${thread.id}:${(thread.pending as { seq: number }).seq}`);
  }
  return keys.join(',');
}

function isParked(thread: HubThread): boolean {
  const pending = thread.pending;
  // A call answered by a promise (a module loading...) may settle by itself.
  return thread.state === 'running' && !thread.computing && pending !== null && pending.future !== null && !pending.future.done();
}

/**
 * Whether anything outside the loop's own timers could call back: Node's
 * active handles and requests, minus stdout/stderr and the running loop's
 * keep-alive timer (see the module documentation).
 */
function otherActivity(loop: EventLoop): boolean {
  const resources = process.getActiveResourcesInfo();
  let timers = 0;
  for (const resource of resources) if (resource === 'Timeout') timers++;
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  const output = handles.filter((handle) => handle === process.stdout || handle === process.stderr).length;
  const ownTimers = loop.isRunning() ? 1 : 0;
  return timers > ownTimers || resources.length - timers - output > 0;
}

const watches = new WeakMap<Hub, DeadlockWatch>();

onHubCreated((hub) => {
  const watch = new DeadlockWatch(hub);
  watches.set(hub, watch);
  hub.loop._onClose(() => watch.stop());
});
