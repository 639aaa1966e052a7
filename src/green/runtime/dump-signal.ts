/**
 * The dump on a signal: `kill -USR2 <pid>` prints what every task and green
 * thread waits on, to see a hang in a running service without stopping it
 * (as faulthandler.register(SIGUSR2) does for Python's tracebacks).
 * Enabled by `configure({ dumpSignal: true })` or `GREENLOOP_DUMP=SIGUSR2`.
 *
 * Guarantees:
 * - Only the main thread installs a handler (Node delivers signals to it
 *   alone); the handler never keeps the process alive.
 * - Changing or disabling the signal removes the previous handler.
 */
import { isMainThread } from 'node:worker_threads';
import { onConfigure, settings } from './config.js';
import { printDump } from './dump.js';

let installed: NodeJS.Signals | null = null;

function onSignal(): void {
  try {
    printDump();
  } catch (error) {
    process.stderr.write(`greenloop: the dump failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
}

/** Installs the handler for `signal` (null: none), replacing the previous one. */
function follow(signal: NodeJS.Signals | null): void {
  if (!isMainThread || signal === installed) return;
  if (installed !== null) process.off(installed, onSignal);
  installed = signal;
  if (signal !== null) process.on(signal, onSignal);
}

follow(settings.dumpSignal);
onConfigure((changed) => follow(changed.dumpSignal));
