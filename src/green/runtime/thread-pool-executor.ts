/**
 * `ThreadPoolExecutor`: runs blocking module-level functions on the pooled
 * worker threads (concurrent.futures.ThreadPoolExecutor), for
 * `loop.runInExecutor`. It is the loops' default executor (loaded by
 * src/loop/executor.ts on first use); it works with the bridge off
 * (`GREENLOOP_BRIDGE=off`), as the pool it uses is not the bridge's.
 *
 * A call is a plain function call in a worker, not a green thread: green
 * calls there raise NotInGreenThreadError, as eventlet's tpool threads
 * cannot use green primitives. The executor runs at most `maxWorkers` calls
 * at once and queues the rest; while calls run, the process stays alive (as
 * Python waits for executor threads at exit).
 */
import { CancelledError, RuntimeError, ValueError } from '../../loop/errors.js';
import type { Executor } from '../../loop/executor.js';
import { availableParallelism } from 'node:os';
import { decodeError, decodeValue, encodeArgs, lendArgs, type EncodedError } from './codec.js';
import type { WorkerCrashedError } from './errors.js';
import { holdAlive, releaseAlive } from './keep-alive.js';
import { pool, type SlotOwner, type WorkerSlot } from './pool.js';
import type { DoneMessage, OpMessage } from './protocol.js';
import { functionRef, type FunctionRef } from './reference.js';

export interface ThreadPoolExecutorOptions {
  /** Calls run at once at most. Default: min(32, cores + 4), as Python's. */
  maxWorkers?: number;
}

interface Call {
  readonly id: number;
  readonly ref: FunctionRef;
  readonly args: unknown[];
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

let callCounter = 0;

export class ThreadPoolExecutor implements Executor, SlotOwner {
  readonly maxWorkers: number;
  private readonly queue: Call[] = [];
  private readonly running = new Map<WorkerSlot, Call>();
  private starting = 0;
  private shut = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: ThreadPoolExecutorOptions = {}) {
    const max = options.maxWorkers ?? Math.min(32, availableParallelism() + 4);
    if (!Number.isInteger(max) || max <= 0) {
      throw new ValueError(`maxWorkers must be a positive integer, got ${String(max)}`);
    }
    this.maxWorkers = max;
  }

  /**
   * Runs `fn(...args)` on a pooled thread; settles with its result or error.
   * `fn` must be a module-level exported function (NotModuleLevelError).
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Promise<Awaited<R>> {
    if (this.shut) return Promise.reject(new RuntimeError('cannot schedule new futures after shutdown'));
    let ref: FunctionRef;
    let encoded: unknown[];
    try {
      ref = functionRef(fn, 'the function run in the executor');
      encoded = encodeArgs(args);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Awaited<R>>((resolve, reject) => {
      this.queue.push({ id: ++callCounter, ref, args: encoded, resolve: resolve as (value: unknown) => void, reject });
      this.pump();
    });
  }

  /**
   * Stops accepting calls and drops the queued ones (they fail with
   * CancelledError). With `wait`, settles once the running calls are done.
   */
  async shutdown(wait = true): Promise<void> {
    this.shut = true;
    for (const call of this.queue.splice(0)) call.reject(new CancelledError('executor shut down'));
    if (!wait || this.busy() === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  onSlotMessage(slot: WorkerSlot, message: OpMessage | DoneMessage): void {
    if (!('d' in message)) return; // a plain call makes no operations (refused in the worker)
    const call = this.running.get(slot);
    if (call === undefined || call.id !== message.d) return;
    this.finish(slot, call);
    pool.release(slot);
    if (message.ok) call.resolve(decodeValue(message.v));
    else call.reject(decodeError(message.v as EncodedError));
    this.pump();
  }

  onSlotLost(slot: WorkerSlot, error: WorkerCrashedError): void {
    const call = this.running.get(slot);
    if (call === undefined) return;
    this.finish(slot, call);
    call.reject(error);
    this.pump();
  }

  private busy(): number {
    return this.running.size + this.starting;
  }

  private pump(): void {
    while (this.queue.length > 0 && this.busy() < this.maxWorkers) {
      const call = this.queue.shift() as Call;
      holdAlive();
      const acquired = pool.acquire();
      if (!(acquired instanceof Promise)) {
        this.post(acquired, call);
        continue;
      }
      this.starting++;
      acquired.then(
        (slot) => {
          this.starting--;
          this.post(slot, call);
        },
        (error: unknown) => {
          this.starting--;
          releaseAlive();
          call.reject(error);
          this.pump();
          this.notifyIdle();
        },
      );
    }
  }

  private post(slot: WorkerSlot, call: Call): void {
    slot.owner = this;
    slot.tenant = call;
    this.running.set(slot, call);
    lendArgs(call.args, slot);
    slot.postJob({ id: call.id, kind: 'call', ref: call.ref, args: call.args });
  }

  private finish(slot: WorkerSlot, call: Call): void {
    if (this.running.get(slot) !== call) return;
    this.running.delete(slot);
    releaseAlive();
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.busy() > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
