/**
 * Handles: a callback scheduled on the loop, as returned by `callSoon`
 * (`Handle`) and `callLater`/`callAt` (`TimerHandle`).
 */
import { describeCallback, extractStack } from './debug.js';
import type { EventLoop, ExceptionContext } from './event-loop.js';

export type Callback<A extends unknown[]> = (...args: A) => void;

/** A callback scheduled with `callSoon`; `cancel()` keeps it from running. */
export class Handle {
  /** @internal */ _cancelled = false;
  /** @internal */ readonly _sourceTraceback: string[] | null;
  /** @internal */ _callback: ((...args: never[]) => unknown) | null;
  /** @internal */ _args: unknown[] | null;

  constructor(
    callback: (...args: never[]) => unknown,
    args: unknown[],
    protected readonly loop: EventLoop,
  ) {
    this._callback = callback;
    this._args = args;
    this._sourceTraceback = loop.getDebug() ? extractStack() : null;
  }

  /** Keeps the callback from running. Cancelling twice does nothing. */
  cancel(): void {
    if (this._cancelled) return;
    this._cancelled = true;
    // Drop references so a cancelled handle does not keep its arguments alive.
    this._callback = null;
    this._args = null;
  }

  cancelled(): boolean {
    return this._cancelled;
  }

  /** @internal Runs the callback; an error goes to the loop's exception handler. */
  _run(): void {
    const callback = this._callback as ((...args: unknown[]) => unknown) | null;
    if (callback === null) return;
    try {
      callback(...(this._args as unknown[]));
    } catch (exception) {
      const context: ExceptionContext = {
        message: `Exception in callback ${describeCallback(callback)}`,
        exception,
        handle: this,
      };
      if (this._sourceTraceback !== null) context.source_traceback = this._sourceTraceback;
      this.loop.callExceptionHandler(context);
    }
  }

  toString(): string {
    const state = this._cancelled ? ' cancelled' : '';
    return `<${this.constructor.name}${state} ${describeCallback(this._callback)}>`;
  }
}

/** A callback scheduled for a point in time with `callLater` or `callAt`. */
export class TimerHandle extends Handle {
  /** @internal Tie-breaker: equal deadlines run in scheduling order. */
  readonly _sequence: number;
  /** @internal Whether the handle is still in the loop's timer heap. */
  _scheduled = false;

  constructor(
    private readonly _when: number,
    sequence: number,
    callback: (...args: never[]) => unknown,
    args: unknown[],
    loop: EventLoop,
  ) {
    super(callback, args, loop);
    this._sequence = sequence;
  }

  /** The loop time (seconds) at which the callback is due. */
  when(): number {
    return this._when;
  }

  override cancel(): void {
    if (!this._cancelled && this._scheduled) this.loop._timerHandleCancelled(this);
    super.cancel();
  }
}
