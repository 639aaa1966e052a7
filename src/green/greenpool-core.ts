/**
 * The hub's side of GreenPool and GreenPile: slot counting, the line of
 * spawns waiting for a slot, and results handed out in spawn order.
 *
 * These objects live on the event loop's thread and are only touched there:
 * by async code directly, and by green threads through operations
 * (greenpool.ts). Every wait is a Waiter (waiters.ts); cancelling it (the
 * waiting thread is killed or times out, the awaiting task is cancelled)
 * withdraws the wait at once and leaves the counts as if it was never made.
 *
 * Guarantees:
 * - at most `size` member threads run at once; a spawn that finds the pool
 *   full waits, and waiting spawns get slots in the order they asked;
 * - a member spawning into its own full pool does not wait for a slot it
 *   holds itself: the child starts at once as a guest on the parent's slot,
 *   and the parent waits for it (eventlet runs the child inline for the
 *   same reason; the green side does the waiting, see greenpool.ts);
 * - a pile hands out each result once, in spawn order, and only to a reader
 *   still waiting: a reader that gives up leaves the result for the next.
 */
import type { EventLoop } from '../loop/event-loop.js';
import { RuntimeError } from '../loop/errors.js';
import { Future } from '../loop/futures.js';
import { type FunctionRef, type GreenCaller, Hub, type HubThread } from './runtime/index.js';
import { GreenletExit } from './errors.js';
import { HubCore } from './hub-object.js';
import { WaiterLine, type Waiter } from './waiters.js';

/** A request to start a green thread in a pool. */
export interface SpawnRequest {
  readonly ref: FunctionRef;
  /** The arguments, encoded for crossing threads (codec.ts). */
  readonly args: unknown[];
  /** spawnN: nobody waits for the thread; an error it raises goes to the exception handler. */
  readonly detached: boolean;
  /** The green thread asking, or null for async code on the loop's thread. */
  readonly caller: GreenCaller | null;
  /** The thread, once started. */
  started?: HubThread;
  /** Whether it started as a guest: a child on its parent's slot, which the parent must wait for. */
  guest?: boolean;
}

/** What a spawn gives its caller once the thread started (the GreenThread, or nothing). */
type Present<V> = (thread: HubThread) => V;

interface SlotRequest {
  readonly request: SpawnRequest;
  readonly present: Present<unknown>;
}

const noExpiry = (): void => undefined;

/** Shared by every copy of this module in the thread, so the end marker is one object. */
const holder = globalThis as unknown as Record<symbol, object | undefined>;

/** What a pile's next() gives once every result was handed out (never a thread's result). */
export const EXHAUSTED: object = (holder[Symbol.for('greenloop.pileExhausted')] ??= Object.freeze({}));

/** What `PileCore.tryNext` gives when the next result is not there yet. */
export const PENDING: object = Object.freeze({});

export class PoolCore extends HubCore {
  /** Threads holding a slot. */
  private readonly members = new Set<GreenCaller>();
  /** Children of members of a full pool, running on their parent's slot. */
  private readonly guests = new Set<GreenCaller>();
  private readonly slotWaiters = new WaiterLine<unknown, SlotRequest>();
  private readonly idleWaiters = new WaiterLine<void>();

  constructor(public size: number) {
    super();
  }

  running(): number {
    return this.members.size;
  }

  /** Free slots; negative after a shrinking resize, until enough members finish. */
  free(): number {
    return this.size - this.members.size;
  }

  /** Spawns waiting for a slot. */
  waiting(): number {
    return this.slotWaiters.length;
  }

  /** Whether some thread runs in the pool (what waitall waits for). */
  busy(): boolean {
    return this.members.size > 0 || this.guests.size > 0;
  }

  /** Whether `thread` runs in this pool (as a member or a guest). */
  contains(thread: GreenCaller): boolean {
    return this.members.has(thread) || this.guests.has(thread);
  }

  /** Starts the thread now if a slot is free; null if the pool is full. */
  trySpawn(request: SpawnRequest): HubThread | null {
    return this.free() > 0 ? this.startMember(request) : null;
  }

  /**
   * Starts the thread, now if a slot is free (returning `present(thread)`),
   * else once one is (returning a Future of it). A member of the full pool
   * starts its child at once as a guest (`request.guest`).
   */
  spawn<V>(request: SpawnRequest, present: Present<V>): V | Future<V> {
    if (this.free() > 0) return present(this.startMember(request));
    if (request.caller !== null && this.contains(request.caller)) return present(this.startGuest(request));
    return this.slotWaiters.park(this.hubLoop(), { request, present }, null, noExpiry) as Future<V>;
  }

  /** Changes the number of slots; growing starts waiting spawns, shrinking lets members finish. */
  resize(size: number): void {
    this.size = size;
    this.grantSlots();
  }

  /** A Future completed once no thread runs in the pool; null if none runs now. */
  waitall(): Future<void> | null {
    return this.busy() ? this.idleWaiters.park(this.hubLoop(), undefined, null, noExpiry) : null;
  }

  override toString(): string {
    return `size=${this.size} running=${this.running()} waiting=${this.waiting()}`;
  }

  private hubLoop(): EventLoop {
    const loop = this.loop;
    if (loop === null) throw new RuntimeError('this green pool is not bound to an event loop yet');
    return loop;
  }

  /** The request's thread, started once its green spawner parks (eventlet's start order). */
  private spawnFor(request: SpawnRequest): HubThread {
    const thread = Hub.for(this.hubLoop()).spawnRef(request.ref, request.args, 0, request.detached);
    // The caller is the spawning thread itself, null for async code.
    if (request.caller !== null) thread.startAfterSpawnerParks(request.caller as HubThread);
    return thread;
  }

  private startMember(request: SpawnRequest): HubThread {
    const thread = this.spawnFor(request);
    request.started = thread;
    this.members.add(thread);
    thread.onExit(() => {
      this.members.delete(thread);
      this.grantSlots();
      this.settleIfIdle();
    });
    return thread;
  }

  private startGuest(request: SpawnRequest): HubThread {
    const thread = this.spawnFor(request);
    request.started = thread;
    request.guest = true;
    this.guests.add(thread);
    thread.onExit(() => {
      this.guests.delete(thread);
      this.settleIfIdle();
    });
    return thread;
  }

  /** Gives free slots to waiting spawns, oldest first. */
  private grantSlots(): void {
    if (this.loop === null || this.loop.isClosed()) return;
    for (let waiter = this.slotWaiters.first(); waiter !== undefined && this.free() > 0; waiter = this.slotWaiters.first()) {
      try {
        waiter.resolve(waiter.data.present(this.startMember(waiter.data.request)));
      } catch (error) {
        waiter.reject(error);
      }
    }
  }

  private settleIfIdle(): void {
    if (this.busy() || this.loop === null || this.loop.isClosed()) return;
    for (const waiter of this.idleWaiters) waiter.resolve(undefined);
  }
}

export class PileCore<P extends object = object> extends HubCore {
  /** Spawns made (including those still waiting for a slot) whose result was not handed out. */
  counter = 0;
  /** Whether spawn() was ever called. */
  used = false;
  /** Started threads, in spawn order, whose result was not handed out. */
  private readonly threads: HubThread[] = [];
  private readonly readers = new WaiterLine<unknown>();
  /** The thread each reader was handed (to put it back if the result never reached the reader). */
  private readonly handed = new WeakMap<Future<unknown>, HubThread>();
  private watched: HubThread | null = null;
  private abandoned = false;

  /** A pile spawning through `pool` (`poolObject` is the pool's public object). */
  constructor(
    readonly pool: PoolCore,
    readonly poolObject: P,
  ) {
    super();
  }

  /** Binds the pile and its pool to `loop`. */
  override bind(loop: EventLoop): EventLoop {
    this.pool.bind(loop);
    return super.bind(loop);
  }

  /** Spawns through the pool: now, or a Future completed once the thread started. */
  spawn(request: SpawnRequest): void | Future<void> {
    this.used = true;
    this.counter++;
    let started: void | Future<void>;
    try {
      started = this.pool.spawn(request, (thread) => this.add(thread));
    } catch (error) {
      this.dropSpawn();
      throw error;
    }
    if (started instanceof Future) {
      const future = started;
      future.addDoneCallback(() => {
        if (future.cancelled() || future.exception() !== null) this.dropSpawn();
      });
    }
    return started;
  }

  /** Takes back a started thread whose spawn never reached its caller: it is killed, its place dropped. */
  withdraw(thread: HubThread): void {
    const index = this.threads.indexOf(thread);
    if (index >= 0) {
      this.threads.splice(index, 1);
      this.counter--;
    }
    thread.onExit(() => thread.retrieve());
    thread.killWith(new GreenletExit());
    this.pump();
  }

  /**
   * The next result if it needs no wait: the value (EXHAUSTED when every
   * result was handed out), or throws the thread's error; PENDING otherwise.
   */
  tryNext(): unknown {
    if (this.readers.length > 0) return PENDING;
    if (this.threads.length === 0) return this.counter === 0 ? EXHAUSTED : PENDING;
    return this.threads[0].dead ? this.take() : PENDING;
  }

  /** The next result (see tryNext), or a Future of it. */
  next(): unknown {
    const ready = this.tryNext();
    if (ready !== PENDING) return ready;
    const loop = this.pool.loop;
    if (loop === null) throw new RuntimeError('this green pile is not bound to an event loop yet');
    const reader = this.readers.park(loop, undefined, null, noExpiry);
    this.pump();
    return reader;
  }

  /** Puts back the result `reader` was handed, which never reached it (its thread was killed meanwhile). */
  restore(reader: Future<unknown>): void {
    const thread = this.handed.get(reader);
    if (thread === undefined || this.abandoned) return;
    this.handed.delete(reader);
    this.threads.unshift(thread);
    this.counter++;
    this.pump();
  }

  /** Drops every result not handed out yet (the iteration was abandoned); the threads run on. */
  abandon(): void {
    this.abandoned = true;
    for (const thread of this.threads.splice(0)) thread.onExit(() => thread.retrieve());
    this.counter = 0;
    this.pump();
  }

  override toString(): string {
    return `counter=${this.counter}`;
  }

  private add(thread: HubThread): void {
    if (this.abandoned) {
      thread.onExit(() => thread.retrieve());
      return;
    }
    this.threads.push(thread);
    this.pump();
  }

  private dropSpawn(): void {
    this.counter = Math.max(0, this.counter - 1);
    this.pump();
  }

  /** Hands out results to waiting readers, in order, while there are some. */
  private pump(): void {
    for (let reader = this.readers.first(); reader !== undefined; reader = this.readers.first()) {
      if (this.threads.length === 0 && this.counter > 0) return;
      const head = this.threads[0];
      if (head !== undefined && !head.dead) {
        this.watch(head);
        return;
      }
      this.hand(reader, head);
    }
  }

  private hand(reader: Waiter<unknown>, head: HubThread | undefined): void {
    if (head === undefined) {
      reader.resolve(EXHAUSTED);
      return;
    }
    this.handed.set(reader, head);
    try {
      reader.resolve(this.take());
    } catch (error) {
      reader.reject(error);
    }
  }

  private watch(thread: HubThread): void {
    if (this.watched === thread) return;
    this.watched = thread;
    thread.onExit(() => {
      this.watched = null;
      if (!thread.loop.isClosed()) this.pump();
    });
  }

  /** Removes the head (a dead thread) and returns its result or throws its error. */
  private take(): unknown {
    const thread = this.threads.shift() as HubThread;
    this.counter--;
    const outcome = thread.retrieve();
    if (outcome.ok) return outcome.value;
    throw outcome.value;
  }
}
