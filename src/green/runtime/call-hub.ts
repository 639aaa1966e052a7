/**
 * The green side of operations: how green code calls the hub (see hub.ts
 * for the protocol and `registerOperation`, its hub side).
 */
import { BlockingOnHubError } from './errors.js';
import type { CallOptions, PushHandler } from './channel.js';
import { currentGreenThread, workerState } from './worker-state.js';
// The main thread's green calls may go to a hosted hub (hosted.ts installs that).
import './hosted-main.js';

export type { CallOptions, PushHandler };

/** Whether this thread is a greenloop worker (green code blocks here by parking). */
export function inGreenWorker(): boolean {
  return workerState() !== null;
}

/**
 * Runs operation `name` on the hub for the current green thread and blocks
 * until it answers; returns its result or throws its error (as its own
 * class). TimeoutError after `options.timeout` seconds; HubClosedError if the
 * loop closes. Only in a green thread: on the hub's thread it would block
 * the loop that must answer, so BlockingOnHubError is thrown instead.
 */
export function callHub<R = unknown>(name: string, args: readonly unknown[] = [], options?: CallOptions): R {
  if (!inGreenWorker()) throw blockingOnHub(`${name}()`, 'await the async API instead');
  return currentGreenThread(name).channel.call(name, args, options) as R;
}

/** Posts operation `name` without waiting for it (its errors go to the loop's exception handler). */
export function sendHub(name: string, args: readonly unknown[] = [], module?: string): void {
  if (!inGreenWorker()) throw blockingOnHub(`${name}()`, 'await the async API instead');
  currentGreenThread(name).channel.send(name, args, module);
}

/**
 * Routes the data the hub pushes with `kind` (`caller.push(kind, payload)`)
 * to `handler`, called during the thread's next call or `drainPushes()`;
 * null removes the handler. Only in a green worker.
 */
export function onPush(kind: string, handler: PushHandler | null): void {
  const state = workerState();
  if (state === null) throw blockingOnHub('onPush()', 'pushed data only flows to green workers');
  state.channel.onPush(kind, handler);
}

/** Delivers the data pushed so far to its handlers, without blocking. */
export function drainPushes(): void {
  workerState()?.channel.drainPushes();
}

/** The error for a blocking green call made on the hub's thread. */
export function blockingOnHub(call: string, alternative: string): BlockingOnHubError {
  return new BlockingOnHubError(
    `${call} blocks, and this is the event loop's own thread, which must keep running to serve it; ` +
      `${alternative}, or run the green code in a green thread (spawn/runGreen)`,
  );
}
