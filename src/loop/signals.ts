/**
 * Signal handlers on the loop (asyncio's `loop.add_signal_handler` and
 * `loop.remove_signal_handler` in `unix_events.py`).
 *
 * Guarantees:
 * - A handler runs through the loop (`callSoon`), never inside Node's signal
 *   callback, so it sees the loop's state between callbacks, as in asyncio.
 * - One handler per signal and loop: adding another replaces it.
 * - `removeSignalHandler` removes greenloop's process listener; when no other
 *   listener is left, Node restores the default action (SIGINT and SIGTERM
 *   end the process again, SIGWINCH is ignored again...).
 * - Closing the loop removes every handler it registered.
 *
 * Node delivers signals to the main thread only, so handlers can only be
 * added there (asyncio has the same rule). Several loops may each handle
 * the same signal: each gets its own listener, and all run.
 */
import { constants as osConstants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { taskContext } from './context.js';
import { isCoroutine, isCoroutineFunction } from './coroutines.js';
import { RuntimeError, ValueError } from './errors.js';
import type { EventLoop } from './event-loop.js';

/** A signal given by name ('SIGINT') or number (`os.constants.signals.SIGINT`). */
export type SignalSpec = NodeJS.Signals | number;

interface Registration {
  callback: (...args: unknown[]) => unknown;
  args: unknown[];
  readonly listener: () => void;
}

interface LoopSignals {
  readonly handlers: Map<NodeJS.Signals, Registration>;
  readonly releaseCloseHook: () => void;
}

/** These can be neither caught nor ignored (signal(7)). */
const UNCATCHABLE = new Set<string>(['SIGKILL', 'SIGSTOP']);

const SIGNAL_NUMBERS = osConstants.signals as Readonly<Record<string, number>>;

/** Number → name; for aliases (SIGIOT/SIGABRT, SIGPOLL/SIGIO) the first listed name. */
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>();
for (const [name, number] of Object.entries(SIGNAL_NUMBERS)) {
  if (!SIGNAL_NAMES.has(number)) SIGNAL_NAMES.set(number, name as NodeJS.Signals);
}

const signalsByLoop = new WeakMap<EventLoop, LoopSignals>();

/**
 * The name of signal `sig` (asyncio's `_check_signal`): a TypeError when it is
 * neither a name nor a number, a ValueError when no such signal exists.
 */
export function signalName(sig: unknown): NodeJS.Signals {
  if (typeof sig === 'string') {
    if (!Object.hasOwn(SIGNAL_NUMBERS, sig)) throw new ValueError(`invalid signal name ${JSON.stringify(sig)}`);
    return sig as NodeJS.Signals;
  }
  if (typeof sig === 'number') {
    const name = Number.isInteger(sig) ? SIGNAL_NAMES.get(sig) : undefined;
    if (name === undefined) throw new ValueError(`invalid signal number ${sig}`);
    return name;
  }
  throw new TypeError(`sig must be a signal name or number, not ${sig === null ? 'null' : typeof sig}`);
}

function checkCallback(callback: unknown): void {
  if (isCoroutine(callback) || isCoroutineFunction(callback)) {
    throw new TypeError('coroutines cannot be used with addSignalHandler()');
  }
  if (typeof callback !== 'function') {
    throw new TypeError(`addSignalHandler(): callback must be a function, got ${typeof callback}`);
  }
}

function signalsOf(loop: EventLoop): LoopSignals {
  let state = signalsByLoop.get(loop);
  if (state === undefined) {
    const releaseCloseHook = loop._onClose(() => removeAllSignalHandlers(loop));
    state = { handlers: new Map(), releaseCloseHook };
    signalsByLoop.set(loop, state);
  }
  return state;
}

function listen(name: NodeJS.Signals, listener: () => void): void {
  try {
    // The listener must not run inside the async context of whichever task
    // happened to add the first handler.
    taskContext.exit(() => process.on(name, listener));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') throw new RuntimeError(`sig ${name} cannot be caught`);
    throw err;
  }
}

/**
 * Calls `callback(...args)` through `loop` whenever signal `sig` arrives,
 * replacing the loop's previous handler for it. TypeError for a coroutine
 * (function) callback or a signal of the wrong type, ValueError for an
 * unknown signal, RuntimeError for SIGKILL/SIGSTOP, a closed loop, or a call
 * off the main thread.
 */
export function addSignalHandler<A extends unknown[]>(
  loop: EventLoop,
  sig: SignalSpec,
  callback: (...args: A) => unknown,
  ...args: A
): void {
  checkCallback(callback);
  const name = signalName(sig);
  if (loop.isClosed()) throw new RuntimeError('Event loop is closed');
  if (!isMainThread) {
    throw new RuntimeError('addSignalHandler() only works in the main thread: Node delivers signals there only');
  }
  if (UNCATCHABLE.has(name)) throw new RuntimeError(`sig ${name} cannot be caught`);
  const state = signalsOf(loop);
  const existing = state.handlers.get(name);
  if (existing !== undefined) {
    existing.callback = callback as Registration['callback'];
    existing.args = args;
    return;
  }
  const registration: Registration = {
    callback: callback as Registration['callback'],
    args,
    listener: () => {
      if (!loop.isClosed()) loop.callSoon(registration.callback, ...registration.args);
    },
  };
  listen(name, registration.listener);
  state.handlers.set(name, registration);
}

/**
 * Removes the loop's handler for `sig`: true if there was one, false if not.
 * Errors for a bad `sig` as in `addSignalHandler`.
 */
export function removeSignalHandler(loop: EventLoop, sig: SignalSpec): boolean {
  const name = signalName(sig);
  const state = signalsByLoop.get(loop);
  const registration = state?.handlers.get(name);
  if (state === undefined || registration === undefined) return false;
  state.handlers.delete(name);
  process.removeListener(name, registration.listener);
  if (state.handlers.size === 0) {
    state.releaseCloseHook();
    signalsByLoop.delete(loop);
  }
  return true;
}

function removeAllSignalHandlers(loop: EventLoop): void {
  const state = signalsByLoop.get(loop);
  if (state === undefined) return;
  for (const name of [...state.handlers.keys()]) removeSignalHandler(loop, name);
}
