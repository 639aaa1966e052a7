/**
 * Task (asyncio's `tasks.py`): a Future that drives a coroutine.
 *
 * Two kinds of coroutine run as Tasks and may await each other:
 * - async functions: the task calls the function (inside the task's async
 *   context) and follows its promise;
 * - Trollius-style generators: the task steps the generator; `yield x`
 *   waits for x (a Future, Task, promise or generator) and sends back its
 *   result, `return v` ends it, `yield*` delegates, a bare `yield` gives up
 *   exactly one loop iteration.
 *
 * Cancellation follows asyncio: `cancel(msg)` cancels the Future the task
 * waits on, so CancelledError is raised at that `await`/`yield` inside the
 * coroutine, which may catch it, clean up and even return a value. When the
 * task waits on nothing greenloop can cancel (it is running, or an async
 * function awaits a foreign promise), the cancel is kept and raised at the
 * task's next await of a greenloop awaitable; `task.signal` is aborted at
 * once so AbortSignal-aware APIs (fetch, timers/promises, streams) stop too.
 */
import { taskContext, type TaskWaiter } from './context.js';
import { describeValue, extractStack } from './debug.js';
import { CancelledError, RuntimeError, ValueError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import { Future, futureFromPromise, isThenable } from './futures.js';
import { _requireRunningLoop } from './running.js';

/** A started coroutine: a generator object (Trollius style) or a promise. */
export type Coroutine<T> = Generator<unknown, T, unknown> | PromiseLike<T>;
/** A coroutine function: an async function or a generator function. */
export type CoroutineFunction<T, A extends unknown[] = []> = (...args: A) => Coroutine<T>;
/** What a Task can run. */
export type CoroutineLike<T, A extends unknown[] = []> = CoroutineFunction<T, A> | Coroutine<T>;
/** Anything a coroutine can await: Futures, Tasks, promises, generator coroutines. */
export type Awaitable<T> = Future<T> | Coroutine<T>;

export interface TaskOptions {
  loop?: EventLoop;
  name?: string;
  args?: unknown[];
}

let taskCounter = 0;

/** Pending tasks per loop; weakly held in debug mode so leaks can be reported. */
const pendingTasks = new WeakMap<EventLoop, Set<Task<unknown>>>();
const weaklyHeldTasks = new WeakMap<EventLoop, Set<WeakRef<Task<unknown>>>>();

interface DestroyedTask {
  loop: EventLoop;
  description: string;
  sourceTraceback: string[] | null;
}

/** Debug mode: "Task was destroyed but it is pending!" (best-effort, at GC). */
const destroyedPending = new FinalizationRegistry<DestroyedTask>((held) => {
  if (held.loop.isClosed()) return;
  const context: Record<string, unknown> = { message: 'Task was destroyed but it is pending!', task: held.description };
  if (held.sourceTraceback !== null) context.source_traceback = held.sourceTraceback;
  held.loop.callExceptionHandler(context as { message: string });
});

export class Task<T = unknown> extends Future<T> {
  /** @internal */ _futWaiter: TaskWaiter | null = null;
  /** @internal Loop time when `_futWaiter` was set (dumps: for how long). */
  _waitStarted = 0;
  /** @internal */ _mustCancel = false;

  private readonly coro: CoroutineLike<T, unknown[]>;
  /** A promise the task was given, followed from the start. */
  private followed: Promise<T> | null = null;
  private readonly args: unknown[];
  /** Given, or made from `number` when first asked for (most tasks never are). */
  private name: string | null;
  private readonly number = ++taskCounter;
  private started = false;
  private generators: Generator<unknown, unknown, unknown>[] = [];
  private cancelRequests = 0;
  private cancelledExc: CancelledError | null = null;
  private abortController: AbortController | null = null;
  private weakRef: WeakRef<Task<unknown>> | null = null;

  constructor(coro: CoroutineLike<T, unknown[]>, options: TaskOptions = {}) {
    super({ loop: options.loop });
    if (!isCoroutineLike(coro)) {
      throw new TypeError(`a coroutine was expected, got ${describeValue(coro)}`);
    }
    this.coro = coro;
    // A promise that rejects before the first step must not be reported as
    // an unhandled rejection: follow it at once, the first step takes it up.
    if (!isGenerator(coro) && isThenable(coro) && !(coro instanceof Future)) {
      this.followed = Promise.resolve(coro);
      this.followed.then(undefined, ignore);
    }
    this.args = options.args ?? [];
    this.name = options.name ?? null;
    this.register();
    this._loop.callSoon(stepTask, this as Task<unknown>);
  }

  // ---- asyncio's Task API --------------------------------------------------

  getName(): string {
    return (this.name ??= `Task-${this.number}`);
  }

  setName(name: string): void {
    this.name = String(name);
  }

  /** The coroutine the task runs: the function, generator or promise it was given. */
  getCoro(): CoroutineLike<T, unknown[]> {
    return this.coro;
  }

  /** How many cancel requests are pending (asyncio's `cancelling()`). */
  cancelling(): number {
    return this.cancelRequests;
  }

  /** Takes back one cancel request; returns how many remain. */
  uncancel(): number {
    if (this.cancelRequests > 0) {
      this.cancelRequests--;
      if (this.cancelRequests === 0) this._mustCancel = false;
    }
    return this.cancelRequests;
  }

  /** Aborted when the task is cancelled, for AbortSignal-aware APIs (fetch...). */
  get signal(): AbortSignal {
    if (this.abortController === null) {
      this.abortController = new AbortController();
      if (this.cancelRequests > 0 || this.cancelled()) this.abortController.abort(this._makeCancelledError());
    }
    return this.abortController.signal;
  }

  /**
   * Requests cancellation: the coroutine gets CancelledError at the await it
   * is blocked on, or at its next one. Returns false if the task is done.
   */
  override cancel(message?: string): boolean {
    if (this.done()) return false;
    this.cancelRequests++;
    this.abortController?.abort(new CancelledError(message));
    this._cancelMessage = message;
    const waiter = this._futWaiter;
    if (waiter !== null && waiter.cancel(message)) {
      // The waiter may be a Task that ignores the cancel; keep it, a later
      // cancel() may need to cancel it again.
      this.cancelInFlight = true;
      waiter._onSettled(() => {
        this.cancelInFlight = false;
      });
      return true;
    }
    // A CancelledError already on its way to the coroutine absorbs this
    // request, as asyncio's step clears _must_cancel when it throws one.
    if (!this.cancelInFlight) this._mustCancel = true;
    return true;
  }

  private cancelInFlight = false;

  override setResult(): never {
    throw new RuntimeError('Task does not support setResult operation');
  }

  override setException(): never {
    throw new RuntimeError('Task does not support setException operation');
  }

  /** @internal The error a cancelled task raises: the coroutine's own if it raised one. */
  override _makeCancelledError(): CancelledError {
    return this.cancelledExc ?? new CancelledError(this._cancelMessage);
  }

  override toString(): string {
    const state = this.done() ? super.toString().replace(/^<Task /, '') : 'pending>';
    return `<Task ${JSON.stringify(this.getName())} ${state}`;
  }

  protected override describeForReport(): string {
    return 'Task';
  }

  // ---- stepping ------------------------------------------------------------

  /** @internal The first step, and each bare `yield` (run by the loop via stepTask). */
  _stepSoon(): void {
    this.step(undefined, undefined, false);
  }

  /** The done callback that resumes a generator: made on first use, async tasks never need it. */
  private wakeupCallback: ((future: Future<unknown>) => void) | null = null;
  private get wakeupBound(): (future: Future<unknown>) => void {
    return (this.wakeupCallback ??= (future) => this.wakeup(future));
  }

  private wakeup(future: Future<unknown>): void {
    if (!future.done()) {
      future.addDoneCallback(this.wakeupBound);
      return;
    }
    if (future._state === 2 && !future._hasException) {
      this.step(future.result(), undefined, false);
      return;
    }
    let error: unknown;
    try {
      future.result();
    } catch (err) {
      error = err;
    }
    this.step(undefined, error, true);
  }

  /** One step of the coroutine: start it, or resume it with a value or an error. */
  private step(value: unknown, error: unknown, hasError: boolean): void {
    if (this.done()) return;
    if (this._mustCancel) {
      if (!(error instanceof CancelledError)) error = this._makeCancelledError();
      hasError = true;
      this._mustCancel = false;
    }
    this._futWaiter = null;
    taskContext.run(this, runStep, this as Task<unknown>, value, error, hasError);
  }

  /** @internal The body of a step, run inside the task's async context. */
  _runStep(value: unknown, error: unknown, hasError: boolean): void {
    if (!this.started) this.start(error, hasError);
    else this.resumeGenerators(value, error, hasError);
  }

  private start(error: unknown, hasError: boolean): void {
    this.started = true;
    const coro = this.coro;
    if (typeof coro !== 'function') {
      this.generators.push(isGenerator(coro) ? coro : awaitPromise(this.followed ?? coro));
      this.resumeGenerators(undefined, error, hasError);
      return;
    }
    if (hasError) {
      // Cancelled before its first step: the function body never runs.
      this.finishWithError(error);
      return;
    }
    let started: unknown;
    try {
      started = coro(...this.args);
    } catch (err) {
      this.finishWithError(err);
      return;
    }
    if (isGenerator(started)) {
      this.generators.push(started);
      this.resumeGenerators(undefined, undefined, false);
    } else if (isThenable(started)) {
      started.then(
        (result) => this.finishWithResult(result),
        (err: unknown) => this.finishWithError(err),
      );
    } else {
      this.finishWithResult(started);
    }
  }

  /**
   * Sends a value (or throws an error) into the innermost generator, and
   * handles what it yields. A yielded generator is stepped inline on a stack,
   * as `yield from` does, so currentTask() stays right inside it.
   */
  private resumeGenerators(value: unknown, error: unknown, hasError: boolean): void {
    const stack = this.generators;
    for (;;) {
      const generator = stack[stack.length - 1];
      let next: IteratorResult<unknown, unknown>;
      try {
        next = hasError ? generator.throw(error) : generator.next(value);
      } catch (err) {
        stack.pop();
        if (stack.length === 0) return this.finishWithError(err);
        error = err;
        hasError = true;
        continue;
      }
      hasError = false;
      error = undefined;
      if (next.done === true) {
        stack.pop();
        if (stack.length === 0) return this.finishWithResult(next.value);
        value = next.value;
        continue;
      }
      if (isGenerator(next.value)) {
        stack.push(next.value);
        value = undefined;
        continue;
      }
      this.waitForYielded(next.value);
      return;
    }
  }

  /** What a generator yielded decides when its next step runs. */
  private waitForYielded(yielded: unknown): void {
    // An async function the generator called during this step may already
    // wait on a greenloop Future in this task's context: cancelling that one
    // reaches the innermost await, and its promise then settles the wrapper.
    const innerWaiter = this._futWaiter;
    if (yielded === undefined || yielded === null) {
      this._loop.callSoon(stepTask, this as Task<unknown>);
      return;
    }
    let future: Future<unknown>;
    if (yielded instanceof Future) {
      future = yielded;
    } else if (isThenable(yielded)) {
      future = futureFromPromise(yielded, this._loop);
    } else {
      const error = new RuntimeError(`Task got bad yield: ${describeValue(yielded)}`);
      this._loop.callSoon(() => this.step(undefined, error, true));
      return;
    }
    if (future._loop !== this._loop) {
      const error = new RuntimeError(`Task ${this} got Future ${future} attached to a different loop`);
      this._loop.callSoon(() => this.step(undefined, error, true));
      return;
    }
    if (future === this) {
      const error = new RuntimeError(`Task cannot await on itself: ${this}`);
      this._loop.callSoon(() => this.step(undefined, error, true));
      return;
    }
    if (future._yieldOnce) {
      // sleep(0): its result is set early next iteration, so wake up right
      // after it, in the same iteration, as asyncio's bare yield.
      this._loop.callSoon(this.wakeupBound, future);
    } else {
      future.addDoneCallback(this.wakeupBound);
    }
    const waiter: TaskWaiter = innerWaiter !== null && !(yielded instanceof Future) ? innerWaiter : future;
    if (waiter !== innerWaiter) this._waitStarted = this._loop.time();
    this._futWaiter = waiter;
    if (this._mustCancel && waiter.cancel(this._cancelMessage)) this._mustCancel = false;
  }

  // ---- finishing -----------------------------------------------------------

  private finishWithResult(result: unknown): void {
    if (this._mustCancel) {
      // Cancelled right before the coroutine returned: asyncio cancels anyway.
      this._mustCancel = false;
      this.finish(() => super.cancel(this._cancelMessage));
      return;
    }
    this.finish(() => super.setResult(result as T));
  }

  private finishWithError(error: unknown): void {
    if (error instanceof CancelledError) {
      this.cancelledExc = error;
      this.finish(() => super.cancel(error.message === '' ? this._cancelMessage : error.message));
      return;
    }
    this.finish(() => super.setException(error));
  }

  private finish(complete: () => void): void {
    if (this.done()) return;
    complete();
    this.unregister();
  }

  // ---- bookkeeping ---------------------------------------------------------

  private register(): void {
    if (!this._loop.getDebug()) {
      let set = pendingTasks.get(this._loop);
      if (set === undefined) pendingTasks.set(this._loop, (set = new Set()));
      set.add(this as Task<unknown>);
      return;
    }
    let set = weaklyHeldTasks.get(this._loop);
    if (set === undefined) weaklyHeldTasks.set(this._loop, (set = new Set()));
    this.weakRef = new WeakRef(this as Task<unknown>);
    set.add(this.weakRef);
    const sourceTraceback = this._sourceTraceback ?? extractStack();
    destroyedPending.register(this, { loop: this._loop, description: String(this), sourceTraceback }, this);
  }

  private unregister(): void {
    if (this.weakRef === null) {
      pendingTasks.get(this._loop)?.delete(this as Task<unknown>);
      return;
    }
    weaklyHeldTasks.get(this._loop)?.delete(this.weakRef);
    this.weakRef = null;
    destroyedPending.unregister(this);
  }

  /** @internal Pending tasks of `loop`, for allTasks(). */
  static _pendingOf(loop: EventLoop): Set<Task<unknown>> {
    const result = new Set<Task<unknown>>();
    for (const task of pendingTasks.get(loop) ?? []) if (!task.done()) result.add(task);
    for (const ref of weaklyHeldTasks.get(loop) ?? []) {
      const task = ref.deref();
      if (task !== undefined && !task.done()) result.add(task);
    }
    return result;
  }
}

function ignore(): void {}

/** Module-level, so scheduling a step allocates no closure. */
function stepTask(task: Task<unknown>): void {
  task._stepSoon();
}

function runStep(task: Task<unknown>, value: unknown, error: unknown, hasError: boolean): void {
  task._runStep(value, error, hasError);
}

/** A generator that waits for a promise: how a Task runs a promise it was given. */
function* awaitPromise<T>(promise: PromiseLike<T>): Generator<unknown, T, unknown> {
  return (yield promise) as T;
}

/** True for generator objects (started or not). */
export function isGenerator(value: unknown): value is Generator<unknown, unknown, unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Generator).next === 'function' &&
    typeof (value as Generator).throw === 'function' &&
    typeof (value as Generator)[Symbol.iterator] === 'function'
  );
}

function isCoroutineLike(value: unknown): boolean {
  return typeof value === 'function' || isGenerator(value) || isThenable(value);
}

// ---- module-level task API ---------------------------------------------------

/**
 * Starts `fn(...args)` as a Task on the running loop. The call happens inside
 * the task on the next iteration, so currentTask() is right from its first line.
 */
export function createTask<T, A extends unknown[]>(fn: CoroutineLike<T, A>, ...args: A): Task<T> {
  return _requireRunningLoop('createTask()').createTask(fn, { args });
}

/** The task running now (in this async context), or null. */
export function currentTask(loop?: EventLoop): Task<unknown> | null {
  const task = taskContext.getStore();
  if (!(task instanceof Task) || task.done()) return null;
  if (loop !== undefined && task._loop !== loop) return null;
  return task;
}

/** The tasks of `loop` (the running loop by default) that are not done. */
export function allTasks(loop?: EventLoop): Set<Task<unknown>> {
  const target = loop ?? _requireRunningLoop('allTasks()');
  return Task._pendingOf(target);
}

/**
 * A Future for any awaitable: a Future is returned as is, a generator or a
 * promise is wrapped in a Task. TypeError for anything else.
 */
export function ensureFuture<T>(awaitable: Awaitable<T>, options: { loop?: EventLoop } = {}): Future<T> {
  if (awaitable instanceof Future) {
    if (options.loop !== undefined && awaitable._loop !== options.loop) {
      throw new ValueError('The future belongs to a different loop than the one specified as the loop argument');
    }
    return awaitable;
  }
  if (isGenerator(awaitable) || isThenable(awaitable)) {
    const loop = options.loop ?? _requireRunningLoop('ensureFuture()');
    return loop.createTask(awaitable as Coroutine<T>);
  }
  throw new TypeError(`An asyncio.Future, a coroutine or an awaitable is required, got ${describeValue(awaitable)}`);
}
