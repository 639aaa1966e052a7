/**
 * `Event` (eventlet's `event.Event`): one value (or error) sent once, for
 * any number of waiters, in any green thread of the process or in async
 * code (`waitAsync`).
 *
 * The event is owned by the hub (hub-object.ts): created anywhere and passed
 * to green threads, it is one event everywhere. The value crosses to each
 * green waiter by structured clone (an error keeps its class).
 *
 * Semantics follow eventlet:
 * - `send(value)` wakes every waiter with `value` and never blocks; a second
 *   `send()` raises RuntimeError ('Trying to re-send() an already-triggered
 *   event.') until `reset()`;
 * - `sendException(error)` makes every `wait()` raise `error`;
 * - `wait(timeout)` returns the value at once if it was sent, else blocks
 *   for it; after `timeout` seconds it returns undefined (eventlet returns
 *   None) instead of raising;
 * - `reset()` makes a sent event waitable again (RuntimeError on an event
 *   never sent); waiters blocked then wait for the next `send()`.
 * A blocked `wait()` is interrupted by `kill()` and by a green Timeout.
 */
import { RuntimeError } from '../loop/errors.js';
import type { EventLoop } from '../loop/event-loop.js';
import { toOperation, type Operation } from '../loop/operations.js';
import { getRunningLoop } from '../loop/running.js';
import { blockingOnHub, type GreenCaller } from './runtime/index.js';
import { HubCore, HubObject, checkTimeout, defineHubObject, registerCoreOperation } from './hub-object.js';
import { WaiterLine, awaitWaiter, type Waiter } from './waiters.js';

const MODULE = import.meta.url;

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

class EventCore extends HubCore {
  private outcome: Outcome | null = null;
  private readonly waiters = new WaiterLine<unknown>({ toString: () => `Event.wait() on <Event ${String(this)}>` });

  ready(): boolean {
    return this.outcome !== null;
  }

  hasException(): boolean {
    return this.outcome !== null && !this.outcome.ok;
  }

  hasResult(): boolean {
    return this.outcome !== null && this.outcome.ok;
  }

  send(outcome: Outcome): void {
    if (this.outcome !== null) throw new RuntimeError('Trying to re-send() an already-triggered event.');
    this.outcome = outcome;
    for (const waiter of this.waiters) {
      if (outcome.ok) waiter.resolve(outcome.value);
      else waiter.reject(outcome.error);
    }
  }

  reset(): void {
    if (this.outcome === null) throw new RuntimeError('Trying to re-reset() a fresh event.');
    this.outcome = null;
  }

  /** `{ now: value }` once sent (throws a sent error), else null. */
  settled(): { now: unknown } | null {
    const outcome = this.outcome;
    if (outcome === null) return null;
    if (!outcome.ok) throw outcome.error;
    return { now: outcome.value };
  }

  /** `settled()`, or a waiter woken by the next send (with undefined after `timeout` seconds). */
  wait(loop: EventLoop, timeout: number | null): { now: unknown } | Waiter<unknown> {
    return this.settled() ?? this.waiters.park(loop, undefined, timeout, (waiter) => waiter.resolve(undefined));
  }

  override toString(): string {
    const state = this.outcome === null ? 'unset' : this.outcome.ok ? 'sent' : 'sent exception';
    return this.waiters.length > 0 ? `${state}, waiters:${this.waiters.length}` : state;
  }
}

/** An event: see the module documentation. */
export class Event<T = unknown> extends HubObject<EventCore> {
  constructor() {
    super([]);
  }

  /** Sends `value` to every waiter, now and until `reset()`; RuntimeError if already sent. */
  send(value?: T): void {
    this.sendOutcome({ ok: true, value });
  }

  /** Makes every `wait()` raise `error`, now and until `reset()`; RuntimeError if already sent. */
  sendException(error: unknown): void {
    this.sendOutcome({ ok: false, error });
  }

  /** Whether `send()` or `sendException()` was called (so `wait()` returns at once). */
  ready(): boolean {
    return this._core !== null ? this._core.ready() : this._remote('event.ready');
  }

  /** Whether an error was sent. */
  hasException(): boolean {
    return this._core !== null ? this._core.hasException() : this._remote('event.hasException');
  }

  /** Whether a value was sent. */
  hasResult(): boolean {
    return this._core !== null ? this._core.hasResult() : this._remote('event.hasResult');
  }

  /** Makes the event waitable again; RuntimeError if it was never sent. */
  reset(): void {
    if (this._core !== null) this._core.reset();
    else this._remote('event.reset');
  }

  /**
   * The sent value, blocking until there is one; raises the sent error.
   * With `timeout`, returns undefined if nothing was sent within `timeout`
   * seconds. On the loop's thread it only answers for a sent event (use
   * `waitAsync()`).
   */
  wait(): T;
  wait(timeout: number | null): T | undefined;
  wait(timeout: number | null = null): T | undefined {
    const seconds = checkTimeout(timeout, 'Event.wait()');
    const core = this._core;
    if (core === null) return this._remote('event.wait', [seconds]);
    const settled = core.settled();
    if (settled === null) throw blockingOnHub('Event.wait()', 'use `await event.waitAsync()`');
    return settled.now as T;
  }

  /** The value if sent (raises a sent error), else `notready`, without blocking. */
  poll<D = undefined>(notready?: D): T | D {
    const core = this._core;
    if (core === null) return this._remote('event.poll', [notready]);
    const settled = core.settled();
    return settled === null ? (notready as D) : (settled.now as T);
  }

  /** `wait()` for async code on the loop's thread. */
  waitAsync(): Operation<T>;
  waitAsync(timeout: number | null): Operation<T | undefined>;
  waitAsync(timeout: number | null = null): Operation<T | undefined> {
    const core = this._asyncCore('waitAsync', 'wait');
    return toOperation(waitSteps<T>(core, checkTimeout(timeout, 'Event.waitAsync()')));
  }

  private sendOutcome(outcome: Outcome): void {
    if (this._core !== null) this._core.send(outcome);
    else this._remote('event.send', [outcome.ok, outcome.ok ? outcome.value : outcome.error]);
  }
}

defineHubObject(Event, { name: 'Event', module: MODULE, create: () => new EventCore() });

function* waitSteps<T>(core: EventCore, timeout: number | null): Generator<unknown, T | undefined, unknown> {
  const outcome = core.wait(core.bind(getRunningLoop()), timeout);
  if ('now' in outcome) return outcome.now as T;
  return (yield* awaitWaiter(outcome)) as T | undefined;
}

// ---- operations for green threads ----------------------------------------------------

registerCoreOperation('event.send', (_caller: GreenCaller, core: EventCore, ok: boolean, payload: unknown) =>
  core.send(ok ? { ok, value: payload } : { ok, error: payload }),
);

registerCoreOperation('event.wait', (caller: GreenCaller, core: EventCore, timeout: number | null) => {
  const outcome = core.wait(caller.loop, timeout);
  return 'now' in outcome ? outcome.now : outcome;
});

registerCoreOperation('event.poll', (_caller: GreenCaller, core: EventCore, notready: unknown) => {
  const settled = core.settled();
  return settled === null ? notready : settled.now;
});

registerCoreOperation('event.ready', (_caller: GreenCaller, core: EventCore) => core.ready());
registerCoreOperation('event.hasException', (_caller: GreenCaller, core: EventCore) => core.hasException());
registerCoreOperation('event.hasResult', (_caller: GreenCaller, core: EventCore) => core.hasResult());
registerCoreOperation('event.reset', (_caller: GreenCaller, core: EventCore) => core.reset());
