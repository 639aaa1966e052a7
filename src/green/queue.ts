/**
 * Green queues (eventlet's `queue` module): `LightQueue`, `Queue`,
 * `PriorityQueue`, `LifoQueue`, usable from every green thread of the
 * process and, through `getAsync`/`putAsync`/`joinAsync`, from async code.
 *
 * A queue is owned by the hub (hub-object.ts): created anywhere, passed to
 * green threads (as a `spawn` argument, a queue item, a result), it is one
 * queue everywhere. Items cross threads by structured clone (top-level
 * errors keep their class, green threads and green primitives cross as
 * handles); between async code on the loop's thread they are not copied.
 *
 * Semantics follow eventlet:
 * - `maxsize` null (the default) or negative: unbounded; `0`: a channel,
 *   where `put()` blocks until a getter takes the item (unlike Python's
 *   queue module, where 0 means unbounded); n > 0: `put()` blocks while n
 *   items are queued. On a channel, `putNowait()` succeeds when a getter is
 *   waiting and `getNowait()` when a putter is.
 * - `get(block = true, timeout = null)` and `put(item, block, timeout)`
 *   raise Empty / Full when they cannot proceed without blocking
 *   (`block` false) or within `timeout` seconds.
 * - Blocked getters are served in FIFO order, and so are blocked putters,
 *   whatever thread or task they come from; a newcomer never overtakes them.
 * - Every blocking call is interrupted by `kill()` and by a green Timeout of
 *   its thread; an interrupted getter takes nothing (an item it was handed
 *   at that very moment goes back to the head of the queue), an interrupted
 *   putter puts nothing unless its item was already taken.
 * - Queue adds `taskDone()` and `join()`: every item put (or handed over
 *   on a channel) is a task until `taskDone()` is called for it.
 *
 * On the event loop's thread the blocking methods work when they need not
 * wait (and otherwise throw BlockingOnHubError): use the `...Async` twins,
 * which return an Operation (`await q.getAsync()`, or `yield` it in a
 * generator coroutine) and are cancelled with their task.
 */
import { getRunningLoop } from '../loop/running.js';
import { toOperation, type Operation } from '../loop/operations.js';
import { blockingOnHub, type GreenCaller } from './runtime/index.js';
import { HubObject, checkTimeout, defineHubObject, onUndelivered, registerCoreOperation } from './hub-object.js';
import { NOTHING, QueueCore, checkMaxsize, type QueueOrder } from './queue-core.js';
import { awaitWaiter } from './waiters.js';

export { Empty, Full } from './errors.js';

const MODULE = import.meta.url;

type AnyQueueCore = QueueCore<unknown>;

/**
 * A FIFO queue without `taskDone()`/`join()` (eventlet's LightQueue): see
 * the module documentation.
 */
export class LightQueue<T = unknown> extends HubObject<QueueCore<T>> {
  /** `maxsize`: null or negative for unbounded (the default), 0 for a channel, else the capacity. */
  constructor(maxsize: number | null = null) {
    super([maxsize]);
  }

  /** The capacity: null when unbounded, 0 for a channel. */
  get maxsize(): number | null {
    return this._core !== null ? this._core.maxsize : this._remote('queue.maxsize');
  }

  /** How many items are queued. */
  qsize(): number {
    return this._core !== null ? this._core.qsize() : this._remote('queue.qsize');
  }

  /** Whether no item is queued (a channel always is). */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /** Whether `maxsize` items are queued (a channel always is; an unbounded queue never). */
  full(): boolean {
    return this._core !== null ? this._core.full() : this._remote('queue.full');
  }

  /** How many callers are blocked in `get()` (green threads and tasks). */
  getting(): number {
    return this._core !== null ? this._core.getting() : this._remote('queue.getting');
  }

  /** How many callers are blocked in `put()`. */
  putting(): number {
    return this._core !== null ? this._core.putting() : this._remote('queue.putting');
  }

  /** Changes `maxsize`; a larger one lets blocked putters in at once. Queued items stay. */
  resize(size: number | null): void {
    const checked = checkMaxsize(size, 'resize()');
    if (this._core !== null) this._core.resize(checked);
    else this._remote('queue.resize', [checked]);
  }

  /**
   * Puts `item`, blocking while there is no free slot (on a channel: until a
   * getter takes it). Full at once if `block` is false, or after `timeout`
   * seconds.
   */
  put(item: T, block = true, timeout: number | null = null): void {
    const seconds = checkTimeout(timeout, 'put()');
    const core = this._core;
    if (core === null) {
      this._remote('queue.put', [item, Boolean(block), seconds]);
      return;
    }
    if (core.tryPut(item)) return;
    if (!block) throw core.fullError();
    throw blockingOnHub(`${this.constructor.name}.put()`, 'use `await queue.putAsync(item)`');
  }

  /** Puts `item` if that needs no waiting; Full otherwise. */
  putNowait(item: T): void {
    this.put(item, false);
  }

  /**
   * Removes and returns the next item, blocking until there is one. Empty at
   * once if `block` is false, or after `timeout` seconds.
   */
  get(block = true, timeout: number | null = null): T {
    const seconds = checkTimeout(timeout, 'get()');
    const core = this._core;
    if (core === null) return this._remote('queue.get', [Boolean(block), seconds]);
    const item = core.tryGet();
    if (item !== NOTHING) return item;
    if (!block) throw core.emptyError();
    throw blockingOnHub(`${this.constructor.name}.get()`, 'use `await queue.getAsync()`');
  }

  /** Removes and returns the next item if there is one now; Empty otherwise. */
  getNowait(): T {
    return this.get(false);
  }

  /**
   * `get()` for async code on the loop's thread: resolves to the next item,
   * waiting in line with green getters; Empty after `timeout` seconds.
   * Cancelling the task takes nothing from the queue.
   */
  getAsync(timeout: number | null = null): Operation<T> {
    const core = this._asyncCore('getAsync', 'get');
    return toOperation(getSteps(core, checkTimeout(timeout, 'getAsync()')));
  }

  /** `put()` for async code on the loop's thread; Full after `timeout` seconds. */
  putAsync(item: T, timeout: number | null = null): Operation<void> {
    const core = this._asyncCore('putAsync', 'put');
    return toOperation(putSteps(core, item, checkTimeout(timeout, 'putAsync()')));
  }
}

/** A FIFO queue with `taskDone()` and `join()` (eventlet's Queue): see the module documentation. */
export class Queue<T = unknown> extends LightQueue<T> {
  /** How many items were put (or handed over) and not yet marked done. */
  get unfinishedTasks(): number {
    return this._core !== null ? this._core.unfinishedTasks : this._remote('queue.unfinished');
  }

  /**
   * Marks one item taken with `get()` as processed; `join()` returns once
   * every item is. ValueError if called more times than items were put.
   */
  taskDone(): void {
    if (this._core !== null) this._core.taskDone();
    else this._remote('queue.taskDone');
  }

  /**
   * Blocks until every item put has been marked done; true then, or false
   * after `timeout` seconds (returns true at once when nothing is unfinished).
   */
  join(timeout: number | null = null): boolean {
    const seconds = checkTimeout(timeout, 'join()');
    const core = this._core;
    if (core === null) return this._remote('queue.join', [seconds]);
    if (core.unfinishedTasks === 0) return true;
    throw blockingOnHub(`${this.constructor.name}.join()`, 'use `await queue.joinAsync()`');
  }

  /** `join()` for async code on the loop's thread. */
  joinAsync(timeout: number | null = null): Operation<boolean> {
    const core = this._asyncCore('joinAsync', 'join');
    return toOperation(joinSteps(core, checkTimeout(timeout, 'joinAsync()')));
  }
}

/**
 * A Queue that returns the lowest item first, in greenloop/loop's
 * PriorityQueue order (`compareItems`: numbers, strings, and arrays
 * compared element by element like Python tuples, so `[priority, data]`
 * entries work); equal items come out in the order they were put.
 */
export class PriorityQueue<T = unknown> extends Queue<T> {}

/** A Queue that returns the most recently put item first. */
export class LifoQueue<T = unknown> extends Queue<T> {}

function defineQueue(cls: typeof LightQueue, order: QueueOrder): void {
  defineHubObject(cls, {
    name: cls.name,
    module: MODULE,
    create: ([maxsize]) => new QueueCore(checkMaxsize(maxsize, `${cls.name}()`), order),
  });
}

defineQueue(LightQueue, 'fifo');
defineQueue(Queue, 'fifo');
defineQueue(PriorityQueue, 'priority');
defineQueue(LifoQueue, 'lifo');

// ---- async twins -------------------------------------------------------------------

function* getSteps<T>(core: QueueCore<T>, timeout: number | null): Generator<unknown, T, unknown> {
  const loop = core.bind(getRunningLoop());
  const item = core.tryGet();
  if (item !== NOTHING) return item;
  return yield* awaitWaiter(core.parkGetter(loop, timeout), (taken) => core.restore(taken));
}

function* putSteps<T>(core: QueueCore<T>, item: T, timeout: number | null): Generator<unknown, void, unknown> {
  const loop = core.bind(getRunningLoop());
  if (core.tryPut(item)) return;
  yield* awaitWaiter(core.parkPutter(loop, item, timeout));
}

function* joinSteps(core: AnyQueueCore, timeout: number | null): Generator<unknown, boolean, unknown> {
  const joined = core.join(core.bind(getRunningLoop()), timeout);
  if (joined === true) return true;
  return yield* awaitWaiter(joined);
}

// ---- operations for green threads ----------------------------------------------------

registerCoreOperation('queue.get', (caller: GreenCaller, core: AnyQueueCore, block: boolean, timeout: number | null) => {
  const item = core.tryGet();
  if (item !== NOTHING) return item;
  if (!block) throw core.emptyError();
  const waiter = core.parkGetter(caller.loop, timeout);
  onUndelivered(caller, waiter, (taken) => core.restore(taken));
  return waiter;
});

registerCoreOperation(
  'queue.put',
  (caller: GreenCaller, core: AnyQueueCore, item: unknown, block: boolean, timeout: number | null) => {
    if (core.tryPut(item)) return undefined;
    if (!block) throw core.fullError();
    return core.parkPutter(caller.loop, item, timeout);
  },
);

registerCoreOperation('queue.join', (caller: GreenCaller, core: AnyQueueCore, timeout: number | null) =>
  core.join(caller.loop, timeout),
);

registerCoreOperation('queue.maxsize', (_caller: GreenCaller, core: AnyQueueCore) => core.maxsize);
registerCoreOperation('queue.qsize', (_caller: GreenCaller, core: AnyQueueCore) => core.qsize());
registerCoreOperation('queue.full', (_caller: GreenCaller, core: AnyQueueCore) => core.full());
registerCoreOperation('queue.getting', (_caller: GreenCaller, core: AnyQueueCore) => core.getting());
registerCoreOperation('queue.putting', (_caller: GreenCaller, core: AnyQueueCore) => core.putting());
registerCoreOperation('queue.unfinished', (_caller: GreenCaller, core: AnyQueueCore) => core.unfinishedTasks);
registerCoreOperation('queue.resize', (_caller: GreenCaller, core: AnyQueueCore, size: number | null) =>
  core.resize(size),
);
registerCoreOperation('queue.taskDone', (_caller: GreenCaller, core: AnyQueueCore) => core.taskDone());
