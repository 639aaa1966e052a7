/**
 * Green code calling async code: `callAsync` and `runAsync`.
 *
 * Both run a module-level coroutine function (async function or generator
 * function) as a Task on the hub's loop, where it shares everything async
 * code shares. `callAsync` blocks the green thread for the result;
 * `runAsync` returns an AsyncHandle at once. Killing the green thread
 * while it blocks in `callAsync`, or the call's timeout, cancels the task;
 * `handle.wait()` only stops waiting (`handle.cancel()` stops the task).
 */
import type { EventLoop } from '../loop/event-loop.js';
import { CancelledError, RuntimeError, ValueError } from '../loop/errors.js';
import type { Future } from '../loop/futures.js';
import { isGenerator, type Coroutine, type Task } from '../loop/tasks.js';
import {
  blockingOnHub,
  callHub,
  checkBridge,
  currentGreenThread,
  decodeArgs,
  decodeArgsAsync,
  encodeArgs,
  functionRef,
  type FunctionRef,
  type GreenCaller,
  HandleTable,
  hasFunctionArgs,
  inGreenWorker,
  registerOperation,
  registerValueCodec,
  RemoteHandles,
  resolveRef,
  resolveRefSync,
  workerState,
} from '../green/runtime/index.js';

const MODULE = import.meta.url;

/** The result type of a coroutine function's return value (a promise or a generator). */
export type CoroutineResult<R> = R extends Generator<unknown, infer T, unknown> ? T : Awaited<R>;

/**
 * Runs `fn(...args)` as a task on the hub's loop and blocks the green
 * thread until it finishes; returns its result or throws its error
 * (CancelledError if the task was cancelled). `fn` must be a module-level
 * exported async (or generator) function. Only in green code.
 */
export function callAsync<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): CoroutineResult<R> {
  checkBridge('callAsync');
  if (!inGreenWorker()) throw blockingOnHub('callAsync()', 'await the function directly');
  currentGreenThread('callAsync');
  const ref = functionRef(fn, 'the callAsync() target');
  return callHub<CoroutineResult<R>>('async.call', [ref, encodeArgs(args)], { module: MODULE });
}

/**
 * Starts `fn(...args)` as a task on the hub's loop and returns its handle
 * at once; `handle.wait()` blocks for the result. Only in green code.
 */
export function runAsync<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): AsyncHandle<CoroutineResult<R>> {
  checkBridge('runAsync');
  if (!inGreenWorker()) {
    throw new RuntimeError('runAsync() is for green code; async code starts tasks with createTask()');
  }
  currentGreenThread('runAsync');
  const ref = functionRef(fn, 'the runAsync() target');
  return callHub<AsyncHandle<CoroutineResult<R>>>('async.start', [ref, encodeArgs(args)], { module: MODULE });
}

/** A task started by `runAsync`, seen from green code. */
export class AsyncHandle<T = unknown> {
  /** @internal The task, on the hub's thread; null in a worker. */
  readonly _task: Task<T> | null;

  /** @internal */
  constructor(
    readonly id: number,
    task: Task<T> | null,
  ) {
    this._task = task;
  }

  /**
   * Blocks until the task finishes; returns its result or throws its error
   * (CancelledError if cancelled). TimeoutError after `timeout` seconds;
   * a timeout or a kill of the waiting thread ends the wait, not the task.
   */
  wait(timeout?: number): T {
    const task = this._task;
    if (task !== null) {
      if (!task.done()) throw blockingOnHub('AsyncHandle.wait()', 'await the task');
      return task.result();
    }
    if (timeout !== undefined && (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0)) {
      throw new ValueError(`timeout must be a non-negative number of seconds, got ${String(timeout)}`);
    }
    return callHub<T>('async.wait', [this], { timeout, module: MODULE });
  }

  /** Requests cancellation of the task (see Task.cancel); false if it is done. */
  cancel(message?: string): boolean {
    if (this._task !== null) return this._task.cancel(message);
    return callHub<boolean>('async.cancel', [this, message ?? null], { module: MODULE });
  }

  /** Whether the task is done. */
  done(): boolean {
    if (this._task !== null) return this._task.done();
    return callHub<boolean>('async.done', [this], { module: MODULE });
  }

  toString(): string {
    return `<AsyncHandle ${this.id}>`;
  }
}

// ---- hub side --------------------------------------------------------------------

let handleCounter = 0;
const handlesById = new Map<number, AsyncHandle>();
const taskHandles = new HandleTable('task', (id) => {
  if (handlesById.get(id)?._task?.done() === true) handlesById.delete(id);
});

const remoteHandles = new RemoteHandles<AsyncHandle>(
  'task',
  (id) => new AsyncHandle(id, null),
  (tag, ids) => workerState()?.channel.release(tag, ids),
);

registerValueCodec<AsyncHandle>({
  tag: 'task',
  matches: (value): value is AsyncHandle => value instanceof AsyncHandle,
  encode: (handle) => handle.id,
  decode: (id) => {
    if (workerState() !== null) return remoteHandles.get(id as number, true);
    const handle = handlesById.get(id as number);
    if (handle === undefined) throw new RuntimeError(`unknown async task handle ${String(id)}`);
    return handle;
  },
  lend: (id, peer) => taskHandles.lend(peer, id as number),
});

/**
 * @internal A task on `loop` running the function `ref` names with `args`
 * (encoded), after the values `lead` resolves to if given. The first call
 * of a function imports it: the task does that first.
 */
export function startTask(loop: EventLoop, ref: FunctionRef, args: unknown[], lead?: Promise<unknown[]>): Task<unknown> {
  const fn = resolveRefSync(ref) as ((...values: unknown[]) => Coroutine<unknown>) | null;
  if (lead === undefined) {
    const decoded = decodeArgs(args);
    if (fn !== null && !hasFunctionArgs(decoded)) return loop.createTask(fn, { args: decoded });
  }
  return loop.createTask(async () => {
    const [target, values, first] = await Promise.all([resolveRef(ref), decodeArgsAsync(args), lead ?? []]);
    const started = (target as (...values: unknown[]) => unknown)(...first, ...values);
    return await (isGenerator(started) ? loop.createTask(started) : started);
  });
}

/** A Future that follows `task`; cancelling it (a timed-out wait) leaves the task alone. */
function follow(loop: EventLoop, task: Future<unknown>): Future<unknown> {
  const follower = loop.createFuture<unknown>();
  const copy = (): void => {
    if (follower.done()) return;
    if (task.cancelled()) follower.setException(new CancelledError());
    else if (task.exception() !== null) follower.setException(task.exception());
    else follower.setResult(task.result());
  };
  task.addDoneCallback(copy);
  follower.addDoneCallback(() => task.removeDoneCallback(copy));
  return follower;
}

function taskOf(handle: AsyncHandle): Task<unknown> {
  if (handle._task === null) throw new RuntimeError(`unknown async task handle ${handle.id}`);
  return handle._task;
}

// callAsync: the task is the call; interrupting the call (kill, timeout) cancels it.
registerOperation('async.call', (caller: GreenCaller, ref: FunctionRef, args: unknown[]) =>
  startTask(caller.loop, ref, args),
);

/**
 * @internal The handle green code gets for `task` (runAsync, handOver):
 * known by id while the task runs or a worker holds the handle.
 */
export function handleFor<T>(task: Task<T>): AsyncHandle<T> {
  const handle = new AsyncHandle<T>(++handleCounter, task);
  handlesById.set(handle.id, handle as AsyncHandle);
  task.addDoneCallback(() => {
    if (!taskHandles.isHeld(handle.id)) handlesById.delete(handle.id);
  });
  return handle;
}

registerOperation('async.start', (caller: GreenCaller, ref: FunctionRef, args: unknown[]) =>
  handleFor(startTask(caller.loop, ref, args)),
);

// handle.wait(): only the wait ends on a kill or timeout; the task goes on (cancel() stops it).
registerOperation('async.wait', (caller: GreenCaller, handle: AsyncHandle) => {
  const task = taskOf(handle);
  return task.done() ? task.result() : follow(caller.loop, task);
});

registerOperation('async.cancel', (_caller: GreenCaller, handle: AsyncHandle, message: string | null) =>
  taskOf(handle).cancel(message ?? undefined),
);

registerOperation('async.done', (_caller: GreenCaller, handle: AsyncHandle) => taskOf(handle).done());
