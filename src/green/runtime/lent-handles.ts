/**
 * Handles: hub-side objects (green threads, later sockets...) that workers
 * refer to by id.
 *
 * The hub keeps such an object reachable by id while any worker may still
 * use it. It counts how many times it sent each id to each worker
 * (`HandleTable.lend`, called by the codec); a worker keeps one proxy per id
 * and, once the proxy is garbage collected, gives the count back in one
 * release message (`RemoteHandles`). A worker that dies gives back all it
 * held. When an object's count reaches zero the table tells its owner,
 * which may then forget it.
 */
import { onWorkerHandles, type WorkerSlot } from './pool.js';

const tables = new Map<string, HandleTable>();

onWorkerHandles(
  (slot, message) => {
    const table = tables.get(message.x);
    if (table === undefined) return;
    for (const [id, count] of message.ids) table.release(slot, id, count);
  },
  (slot) => {
    for (const [tag, counts] of slot.handles) {
      const table = tables.get(tag);
      for (const [id, count] of counts) table?.release(slot, id, count);
    }
    slot.handles.clear();
  },
);

/** The hub's count of the handles of one kind lent to workers. */
export class HandleTable {
  private readonly totals = new Map<number, number>();

  /** `onUnheld(id)` runs when no worker holds `id` any more. */
  constructor(
    readonly tag: string,
    private readonly onUnheld: (id: number) => void,
  ) {
    tables.set(tag, this);
  }

  /** `id` is being sent to `slot`. */
  lend(slot: unknown, id: number): void {
    if (!(slot !== null && typeof slot === 'object' && 'handles' in slot)) return;
    const handles = (slot as WorkerSlot).handles;
    let counts = handles.get(this.tag);
    if (counts === undefined) handles.set(this.tag, (counts = new Map()));
    counts.set(id, (counts.get(id) ?? 0) + 1);
    this.totals.set(id, (this.totals.get(id) ?? 0) + 1);
  }

  /** Whether any worker may hold `id`. */
  isHeld(id: number): boolean {
    return this.totals.has(id);
  }

  /** `slot` gave back `count` of its handles to `id`. */
  release(slot: WorkerSlot, id: number, count: number): void {
    const counts = slot.handles.get(this.tag);
    const had = counts?.get(id) ?? 0;
    const given = Math.min(had, count);
    if (given === 0) return;
    if (had - given === 0) counts?.delete(id);
    else counts?.set(id, had - given);
    const total = (this.totals.get(id) ?? 0) - given;
    if (total > 0) {
      this.totals.set(id, total);
      return;
    }
    this.totals.delete(id);
    this.onUnheld(id);
  }
}

interface ProxyEntry<T extends object> {
  readonly id: number;
  readonly proxy: WeakRef<T>;
  /** How many times the hub sent this id. */
  received: number;
}

/** A worker's proxies for hub objects of one kind: one per id, released when collected. */
export class RemoteHandles<T extends object> {
  private readonly entries = new Map<number, ProxyEntry<T>>();
  private readonly registry = new FinalizationRegistry<ProxyEntry<T>>((entry) => this.collected(entry));

  constructor(
    readonly tag: string,
    private readonly create: (id: number) => T,
    private readonly sendRelease: (tag: string, ids: [number, number][]) => void,
  ) {}

  /** The proxy for `id`; `received` when the hub just sent it (counted for release). */
  get(id: number, received: boolean): T {
    let entry = this.entries.get(id);
    let proxy = entry?.proxy.deref();
    if (entry === undefined || proxy === undefined) {
      proxy = this.create(id);
      entry = { id, proxy: new WeakRef(proxy), received: 0 };
      this.entries.set(id, entry);
      this.registry.register(proxy, entry);
    }
    if (received) entry.received++;
    return proxy;
  }

  private collected(entry: ProxyEntry<T>): void {
    if (this.entries.get(entry.id) === entry) this.entries.delete(entry.id);
    if (entry.received === 0) return;
    try {
      this.sendRelease(this.tag, [[entry.id, entry.received]]);
    } catch {
      // The channel is gone with the worker: the hub releases everything then.
    }
  }
}
