/**
 * The machinery the shared containers (SharedMap, SharedSet,
 * SharedCounter) share: every method is one operation on the hub-side
 * core, run the same way from a green thread and from async code.
 *
 * None of them waits for anything (each takes one short turn of the hub,
 * which runs one operation at a time), so each is atomic and there is no
 * `...Async` twin to call: async code on the loop's thread calls the same
 * methods, which run on the core at once. What differs is only how values
 * cross: from a green thread they cross by structured clone (codec.ts);
 * on the hub's thread they are copied the same way (shared-value.ts), so
 * a stored object is a copy on both sides.
 */
import { HubCore, HubObject, registerCoreOperation } from './hub-object.js';
import { decodeArgsAsync, hasFunctionArgs, type GreenCaller } from './runtime/index.js';
import { ValueList, copyValue } from './shared-value.js';

type SharedHandler = (core: HubCore, ...args: never[]) => unknown;

/** The handlers, by operation name, for calls made on the hub's thread. */
const handlers = new Map<string, SharedHandler>();

/**
 * Registers operation `name` of a shared container: `handler` runs on the
 * core with arguments that are already copies (crossed from a green thread,
 * or copied on the hub) and returns a stored value, or a ValueList for a
 * snapshot of several. Module-level functions among the arguments arrive
 * as functions (imported on the hub first when they come from a green
 * thread).
 */
export function registerSharedOperation<C extends HubCore, A extends unknown[]>(
  name: string,
  handler: (core: C, ...args: A) => unknown,
): void {
  handlers.set(name, handler as unknown as SharedHandler);
  registerCoreOperation(name, (_caller: GreenCaller, core: C, ...args: A) => {
    if (!hasFunctionArgs(args)) return handler(core, ...args);
    return decodeArgsAsync(args).then((decoded) => handler(core, ...(decoded as A)));
  });
}

/** A hub-owned container whose methods are the operations registered with `registerSharedOperation`. */
export abstract class SharedContainer<C extends HubCore> extends HubObject<C> {
  /**
   * @internal Runs operation `op` with `args` (checked by the caller): on
   * the core when it is on this thread, copying the arguments in and the
   * result out; else on the hub for this green thread.
   */
  protected _call<R>(op: string, args: readonly unknown[] = []): R {
    const core = this._core;
    if (core === null) return this._remote<R>(op, args);
    const handler = handlers.get(op);
    if (handler === undefined) throw new TypeError(`unknown shared container operation ${op}`);
    const result = handler(core, ...(args.map(copyValue) as never[]));
    return (result instanceof ValueList ? result.items.map(copyValue) : copyValue(result)) as R;
  }
}
