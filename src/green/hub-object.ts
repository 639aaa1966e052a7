/**
 * Hub-owned objects: the green primitives (queues, events, semaphores) that
 * every green thread of the process and async code on the loop share.
 *
 * Each such object lives on the hub (the thread running the event loop):
 * there its *core* holds the state and the waiting lines. Everywhere else
 * it is a handle: an object of the same class whose methods are operations
 * on the hub (see runtime/hub.ts for the protocol). So:
 * - `new Queue()` in async code builds the object on the hub; in a green
 *   thread it asks the hub to build it and gets a handle back;
 * - the object crosses threads as a handle (an argument of `spawn`, a
 *   queue item at the top level of `put`, a green thread's result): every
 *   thread that receives it works on the one object on the hub;
 * - the hub keeps the object while any worker holds a handle to it (the
 *   counted handles of runtime/lent-handles.ts), and as long as it is reachable
 *   on the hub itself.
 *
 * A class becomes hub-owned with `defineHubObject(cls, { name, module,
 * create })` at the top level of its module (`module`: that module's URL,
 * which also registers the class's operations, so a hub that has not
 * imported it loads it on first use). A handle can only be rebuilt in a
 * worker that has imported the class's module, which is the case whenever
 * the green code imports greenloop/green.
 */
import type { EventLoop } from '../loop/event-loop.js';
import { RuntimeError, ValueError } from '../loop/errors.js';
import { Future } from '../loop/futures.js';
import {
  callHub,
  checkBridge,
  type GreenCaller,
  HandleTable,
  inGreenWorker,
  type OperationHandler,
  registerOperation,
  registerValueCodec,
  RemoteHandles,
  workerState,
  threadOf,
} from './runtime/index.js';

/** The hub-side state of a hub-owned object: bound to the first event loop it waits on. */
export class HubCore {
  private boundLoop: EventLoop | null = null;

  /** The loop its waiters belong to, once bound. */
  get loop(): EventLoop | null {
    return this.boundLoop;
  }

  /** Binds to `loop` on first use; RuntimeError if already bound to another loop. */
  bind(loop: EventLoop): EventLoop {
    if (this.boundLoop === null) this.boundLoop = loop;
    else if (this.boundLoop !== loop) throw new RuntimeError(`${String(this)} is bound to a different event loop`);
    return loop;
  }
}

interface KindSpec<C extends HubCore> {
  /** The class's name, unique among hub-owned classes. */
  readonly name: string;
  /** URL of the module that defines the class and registers its operations. */
  readonly module: string;
  /** Validates the constructor's arguments and builds the core (on the hub). */
  create(args: readonly unknown[]): C;
}

interface Kind<C extends HubCore = HubCore> extends KindSpec<C> {
  readonly cls: HubObjectClass;
  /** Proxies for handles received by this worker. */
  readonly remote: RemoteHandles<HubObject>;
}

type HubObjectClass = abstract new (...args: never[]) => HubObject;

const kindsByName = new Map<string, Kind>();
const kindsByClass = new Map<HubObjectClass, Kind>();

/** The registered class `cls` is, or extends. */
function kindOf(cls: unknown): Kind {
  for (let c = cls; typeof c === 'function'; c = Object.getPrototypeOf(c)) {
    const kind = kindsByClass.get(c as HubObjectClass);
    if (kind !== undefined) return kind;
  }
  throw new TypeError(`${String((cls as { name?: string }).name)} is not a registered hub-owned class`);
}

let objectCounter = 0;

/**
 * An object owned by the hub; see the module documentation. Subclasses
 * pass their constructor's arguments to `super(args)` and use `_core` on
 * the hub's thread, `_remote(op, args)` elsewhere.
 */
export abstract class HubObject<C extends HubCore = HubCore> {
  /** @internal The state, on the hub's thread; null for a handle in a green thread. */
  declare _core: C | null;
  /** @internal Unique in the process. */
  declare _id: number;

  protected constructor(args: readonly unknown[]) {
    const kind = kindOf(new.target) as Kind<C>;
    checkBridge(kind.name);
    if (workerState() !== null) {
      // In a green thread: the hub builds the object, this becomes a handle to it.
      return callHub<HubObject<C>>(`${kind.name}.create`, args, { module: kind.module });
    }
    this._core = kind.create(args);
    this._id = ++objectCounter;
    trackOnHub(this);
  }

  /** @internal Runs operation `op` on this object for the current green thread. */
  protected _remote<R>(op: string, args: readonly unknown[] = []): R {
    if (!inGreenWorker()) throw this.foreign(`${op}()`);
    return callHub<R>(op, [this, ...args], { module: kindOf(this.constructor).module });
  }

  /**
   * @internal The core, for an `...Async` twin: those run on the event
   * loop's thread, where the object lives.
   */
  protected _asyncCore(method: string, greenMethod: string): C {
    if (this._core === null) {
      if (!inGreenWorker()) throw this.foreign(`${this.constructor.name}.${method}()`);
      throw new RuntimeError(
        `${this.constructor.name}.${method}() is for async code on the event loop's thread; green code uses ${greenMethod}()`,
      );
    }
    return this._core;
  }

  /**
   * The error for a handle used on a thread whose event loop does not own
   * it: made by the program's green main flow (green code on the main
   * thread before a loop ran there), it lives on that flow's hub.
   */
  private foreign(call: string): RuntimeError {
    return new RuntimeError(
      `${call} on ${String(this)}: this object was made by green code of the program's main flow, before an event ` +
        `loop ran on this thread, so it lives on that flow's hub and not on this event loop. Create it in the async ` +
        `code that uses it (inside the coroutine given to run()), and pass it to green threads from there`,
    );
  }

  toString(): string {
    const core = this._core;
    return core === null ? `<${this.constructor.name} #${this._id}>` : `<${this.constructor.name} #${this._id} ${String(core)}>`;
  }
}

/** A handle in this worker for object `id` of `kind`. */
function makeProxy(kind: Kind, id: number): HubObject {
  const proxy = Object.create(kind.cls.prototype as object) as HubObject;
  proxy._core = null;
  proxy._id = id;
  return proxy;
}

/**
 * Makes `cls` hub-owned (see the module documentation). Call it at the top
 * level of the module that defines `cls`, with that module's URL. The
 * constructor of `cls` must pass its own arguments, in order, to
 * `super(args)`: a green thread's `new cls(...)` is replayed on the hub
 * with those arguments.
 */
export function defineHubObject<C extends HubCore>(
  cls: abstract new (...args: never[]) => HubObject<C>,
  spec: KindSpec<C>,
): void {
  const kind: Kind = {
    ...(spec as unknown as KindSpec<HubCore>),
    cls,
    remote: new RemoteHandles<HubObject>(TAG, (id) => makeProxy(kind, id), releaseHandles),
  };
  kindsByName.set(spec.name, kind);
  kindsByClass.set(cls, kind);
  // A green thread's `new cls(...)`: built here, returned as a handle.
  registerOperation(`${spec.name}.create`, (caller: GreenCaller, ...args: unknown[]) => {
    const object = Reflect.construct(cls, args) as HubObject<C>;
    object._core?.bind(caller.loop);
    return object;
  });
}

// ---- crossing threads ----------------------------------------------------------

const TAG = 'hobj';

/** On the hub: objects some worker may hold a handle to (or was just sent one). */
const held = new Map<number, HubObject>();
/** On the hub: every object still reachable, by id. */
const live = new Map<number, WeakRef<HubObject>>();
const collected = new FinalizationRegistry<number>((id) => {
  if (live.get(id)?.deref() === undefined) live.delete(id);
});

function trackOnHub(object: HubObject): void {
  live.set(object._id, new WeakRef(object));
  collected.register(object, object._id);
}

const handleTable = new HandleTable(TAG, (id) => held.delete(id));

function releaseHandles(tag: string, ids: [number, number][]): void {
  workerState()?.channel.release(tag, ids);
}

registerValueCodec<HubObject>({
  tag: TAG,
  matches: (value): value is HubObject => value instanceof HubObject,
  encode: (object) => {
    // Held from now on: the handle may sit in a spawned thread's arguments
    // for a while before it reaches its worker (and is counted there).
    if (object._core !== null) held.set(object._id, object);
    return [kindOf(object.constructor).name, object._id];
  },
  decode: (data) => {
    const [name, id] = data as [string, number];
    const kind = kindsByName.get(name);
    if (kind === undefined) throw new RuntimeError(`a green ${name} arrived, but its module is not loaded here`);
    if (workerState() !== null) return kind.remote.get(id, true);
    const object = held.get(id) ?? live.get(id)?.deref();
    if (object === undefined) throw new RuntimeError(`green ${name} #${id} no longer exists`);
    return object;
  },
  lend: (data, peer) => {
    const id = (data as [string, number])[1];
    // Held again if a handle forwarded by a worker (a spawn argument) reaches
    // a worker after every earlier holder let go.
    const object = held.get(id) ?? live.get(id)?.deref();
    if (object !== undefined) held.set(id, object);
    handleTable.lend(peer, id);
  },
});

// ---- operations ------------------------------------------------------------------

/**
 * Registers operation `name` on objects of one class: the handler gets the
 * caller, the object's core (bound to the caller's loop) and the arguments
 * that followed the object in `_remote(name, args)`.
 */
export function registerCoreOperation<C extends HubCore, A extends unknown[]>(
  name: string,
  handler: (caller: GreenCaller, core: C, ...args: A) => unknown,
): void {
  const serve = (caller: GreenCaller, object: HubObject<C>, ...args: A): unknown => {
    if (!(object instanceof HubObject) || object._core === null) {
      throw new RuntimeError(`${name}(): not a green object owned by this hub`);
    }
    object._core.bind(caller.loop);
    const result = handler(caller, object._core, ...args);
    // Dumps name the operation and the object a parked thread waits on (formatted only then).
    if (result instanceof Future && !result.done()) result._label = { toString: () => `${name}() on ${String(object)}` };
    return result;
  };
  registerOperation(name, serve as unknown as OperationHandler);
}

/**
 * For an operation handler that returns the pending `future`: if the future
 * gets a result that never reaches its green thread (the call was
 * interrupted, by a kill or a Timeout, after the result was set and before
 * the reply left), `undo(result)` runs, so that what the result took (an
 * item, a permit) goes back. Call it last, once the future is pending.
 */
export function onUndelivered<T>(caller: GreenCaller, future: Future<T>, undo: (result: T) => void): void {
  // Runs before the hub's own done callback (added after the handler
  // returned), and the two run back to back: if the thread still waits for
  // this future now, the hub's reply will carry the result.
  future.addDoneCallback(() => {
    if (future.cancelled() || future.exception() !== null) return;
    if (threadOf(caller).pending?.future === future) return;
    undo(future.result());
  });
}

/** A timeout argument: null (or undefined) for none, else seconds >= 0; ValueError otherwise. */
export function checkTimeout(timeout: number | null | undefined, call: string): number | null {
  if (timeout === null || timeout === undefined) return null;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
    throw new ValueError(`${call}: timeout must be null or a non-negative number of seconds, got ${String(timeout)}`);
  }
  return timeout;
}
