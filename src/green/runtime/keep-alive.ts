/**
 * The hub's own hold on the process.
 *
 * Worker threads and their ports are unref'd: an idle pool, or a green
 * thread parked on an operation the loop may never serve (the loop stopped),
 * never keeps Node alive by itself. But a green thread that is computing (or
 * starting) will come back with an operation or a result, so while at least
 * one does, one ref'd timer keeps the process alive. A parked thread is kept
 * alive by whatever its operation waits on (the running loop's own handles).
 */
import { setInterval } from 'node:timers';

let holders = 0;
let handle: NodeJS.Timeout | null = null;

/** One more computing green thread. */
export function holdAlive(): void {
  if (holders++ > 0) return;
  handle ??= setInterval(() => undefined, 2 ** 30);
  handle.ref();
}

/** One computing green thread less. */
export function releaseAlive(): void {
  if (holders === 0) return;
  if (--holders === 0) handle?.unref();
}

/** @internal How many holds are taken (tests). */
export function aliveHolders(): number {
  return holders;
}
