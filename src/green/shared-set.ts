/**
 * `SharedSet`: a set that every green thread of the process and async code
 * on the loop share, for the module-level sets legacy green code keeps
 * (names online, ids in progress), which green threads, being workers,
 * would otherwise each have a copy of.
 *
 * It lives on the hub and crosses threads as a handle, like SharedMap
 * (shared-map.ts): create it once and pass it along.
 *
 * Guarantees:
 * - every method is one atomic operation on the hub; `add()` says whether
 *   the member was new and `delete()` whether it was there, so "claim this
 *   id unless someone has" is one call;
 * - members are primitives (strings, numbers, bigints, booleans, null,
 *   undefined), compared as a JS Set does; anything else is refused with
 *   NotShareableError (an object would be a new copy at every crossing);
 * - snapshots (`values()`, iteration) are arrays taken in one step;
 * - the set is released once no green thread holds a handle to it and
 *   async code cannot reach it.
 */
import { HubCore, defineHubObject } from './hub-object.js';
import { SharedContainer, registerSharedOperation } from './shared-container.js';
import { ValueList, checkKey, type SharedKey } from './shared-value.js';

const MODULE = import.meta.url;

class SetCore extends HubCore {
  readonly set: Set<SharedKey>;

  constructor(members: readonly unknown[]) {
    super();
    this.set = new Set(members as SharedKey[]);
  }

  override toString(): string {
    return `size=${this.set.size}`;
  }
}

/** A set shared by green threads and async code: see the module documentation. */
export class SharedSet<T extends SharedKey = SharedKey> extends SharedContainer<SetCore> {
  /** A set holding `members`, if given. */
  constructor(members: Iterable<T> = []) {
    super([[...members].map((member) => checkKey(member, 'SharedSet()'))]);
  }

  /** How many members the set has. */
  get size(): number {
    return this._call('sset.size');
  }

  /** Whether `member` is in the set. */
  has(member: T): boolean {
    return this._call('sset.has', [checkKey(member, 'SharedSet.has()')]);
  }

  /** Adds `member`; true if it was not in the set (unlike Set.add, which returns the set). */
  add(member: T): boolean {
    return this._call('sset.add', [checkKey(member, 'SharedSet.add()')]);
  }

  /** Removes `member`; whether it was in the set. */
  delete(member: T): boolean {
    return this._call('sset.delete', [checkKey(member, 'SharedSet.delete()')]);
  }

  /** Removes and returns the oldest member (Python's `set.pop`), or undefined when empty. */
  pop(): T | undefined {
    return this._call('sset.pop');
  }

  /** Removes every member. */
  clear(): void {
    this._call('sset.clear');
  }

  /** The members, in insertion order (a snapshot). */
  values(): T[] {
    return this._call('sset.values');
  }

  /** Iterates over a snapshot of `values()`. */
  [Symbol.iterator](): Iterator<T> {
    return this.values()[Symbol.iterator]();
  }
}

defineHubObject(SharedSet, {
  name: 'SharedSet',
  module: MODULE,
  create: ([members]) => new SetCore(members as unknown[]),
});

// ---- operations ----------------------------------------------------------------------

registerSharedOperation('sset.size', (core: SetCore) => core.set.size);
registerSharedOperation('sset.has', (core: SetCore, member: SharedKey) => core.set.has(member));
registerSharedOperation('sset.add', (core: SetCore, member: SharedKey) => {
  if (core.set.has(member)) return false;
  core.set.add(member);
  return true;
});
registerSharedOperation('sset.delete', (core: SetCore, member: SharedKey) => core.set.delete(member));
registerSharedOperation('sset.pop', (core: SetCore) => {
  for (const member of core.set) {
    core.set.delete(member);
    return member;
  }
  return undefined;
});
registerSharedOperation('sset.clear', (core: SetCore) => core.set.clear());
registerSharedOperation('sset.values', (core: SetCore) => new ValueList([...core.set]));
