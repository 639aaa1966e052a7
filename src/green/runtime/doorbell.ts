/**
 * How green threads wake the hub: one doorbell for all of them.
 *
 * A green thread that sent a message through its ring (pipe.ts) rings the
 * doorbell: it bumps a shared counter and, only if the hub said it is
 * waiting, notifies it. The hub waits with `Atomics.waitAsync`, which
 * settles a promise on the hub's event loop, and then looks at every
 * ring of the doorbell. One doorbell serves all the workers of a thread's
 * pool, so a burst of messages from many green threads costs one wake-up.
 *
 * Which mailboxes to look at: each pooled worker has a bit in the
 * doorbell's *ready map*, which it sets before it rings; the hub takes the
 * set bits (clearing them) and polls those mailboxes only, so a ring costs
 * the hub O(threads that sent), not O(workers). A mailbox without a bit
 * (the hosted main thread's, or past the map's capacity) is polled on
 * every ring. A message written before its bit was set is in the ring when
 * the hub, having seen the bit, polls; one sent after the hub cleared the
 * bit sets it again, for the next look.
 *
 * The ring and the look are ordered like Dekker's flags (Atomics are
 * sequentially consistent): the sender bumps RING then reads WAITING; the
 * hub sets WAITING then waits only while RING is unchanged since its last
 * look. Either the sender sees WAITING and notifies, or the hub sees the
 * new RING and looks again: no message is left unseen.
 *
 * While the hub looks at the doorbells itself (it spins on the ring counter
 * when it expects a message within microseconds: pool.ts), it marks itself
 * not waiting (`watchWithoutWaking`): a green thread that sends meanwhile
 * only bumps the counter, which the spin sees, instead of also notifying,
 * which would cost the sender a system call and the hub a wake-up task
 * to run later for nothing. The mark is restored before the hub's last
 * look, so a ring that the look missed notifies or is seen by it.
 *
 * The waiting promise holds no reference on the process: an idle hub never
 * keeps Node alive.
 */
import { setImmediate } from 'node:timers';
import { logger } from '../../loop/log.js';
import { SHARED_BELL, SHARED_HUB_WAITING } from './protocol.js';

/** Mailboxes a ready map has bits for. */
export const READY_MAP_BITS = 65536;

/** A green thread's bit in its doorbell's ready map. */
export interface ReadyBit {
  readonly map: Int32Array;
  readonly index: number;
}

/** A ready map: one bit per mailbox, set by its thread when it sent a message. */
export function createReadyMap(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(READY_MAP_BITS / 8));
}

/**
 * Green side: tells the hub that a message waits (`shared` is the
 * doorbell's buffer, `ready` this thread's bit in its ready map, if it has one).
 */
export function ringDoorbell(shared: Int32Array, ready: ReadyBit | null = null): void {
  if (ready !== null) Atomics.or(ready.map, ready.index >> 5, 1 << (ready.index & 31));
  Atomics.add(shared, SHARED_BELL, 1);
  if (Atomics.load(shared, SHARED_HUB_WAITING) !== 0) Atomics.notify(shared, SHARED_BELL);
}

/** Something the hub looks at when the doorbell rings. */
export interface Mailbox {
  /**
   * Takes and handles the messages waiting, up to a bound so that a thread
   * sending without pause cannot hold the hub; true if it stopped at the
   * bound (more may wait).
   */
  poll(): boolean;
}

/** The doorbells of this thread that have mailboxes. */
const active = new Set<Doorbell>();

/** Hub side: watches a doorbell and polls its mailboxes when it rings. */
export class Doorbell {
  /** Mailboxes polled on every ring (no bit in the ready map). */
  private readonly unmapped = new Set<Mailbox>();
  /** Mailboxes with a bit, by its index. */
  private readonly mapped: (Mailbox | undefined)[] = [];
  private readonly bitOf = new Map<Mailbox, number>();
  private readonly freeBits: number[] = [];
  private listening = false;

  /** `readyMap`: the ready map its threads set their bits in, or null: every mailbox is polled on every ring. */
  constructor(
    private readonly shared: Int32Array,
    private readonly readyMap: Int32Array | null = null,
  ) {}

  /** How many times the doorbells of this thread rang so far: it changes whenever one rings. */
  static totalRings(): number {
    let total = 0;
    for (const doorbell of active) total += Atomics.load(doorbell.shared, SHARED_BELL);
    return total;
  }

  /** Polls the mailboxes of every doorbell of this thread. */
  static pollEvery(): void {
    for (const doorbell of active) doorbell.pollAll();
  }

  /**
   * Runs `look`, which watches `totalRings()` itself, with every doorbell
   * of this thread marked not waiting, so rings meanwhile notify no one;
   * the marks are back when it returns. The caller must look at
   * `totalRings()` once more after this returns: a ring the look missed
   * came before the marks were back, and bumped the counter.
   */
  static watchWithoutWaking<T>(look: () => T): T {
    const marks = [...active].map((doorbell) => Atomics.exchange(doorbell.shared, SHARED_HUB_WAITING, 0));
    try {
      return look();
    } finally {
      // The listener's own mark (set while it waits, 0 while it polls) comes back as it was.
      let index = 0;
      for (const doorbell of active) Atomics.store(doorbell.shared, SHARED_HUB_WAITING, marks[index++] ?? 0);
    }
  }

  /**
   * Watches `mailbox`; returns its bit in the ready map, which its thread
   * must set when it sends (`ringDoorbell`), or null: it is polled on every ring.
   */
  add(mailbox: Mailbox): ReadyBit | null {
    const bit = this.takeBit();
    this.watch();
    if (bit === null || this.readyMap === null) {
      this.unmapped.add(mailbox);
      return null;
    }
    this.mapped[bit] = mailbox;
    this.bitOf.set(mailbox, bit);
    return { map: this.readyMap, index: bit };
  }

  delete(mailbox: Mailbox): void {
    this.unmapped.delete(mailbox);
    const bit = this.bitOf.get(mailbox);
    if (bit !== undefined) {
      this.bitOf.delete(mailbox);
      this.mapped[bit] = undefined;
      this.freeBits.push(bit);
    }
    if (this.unmapped.size === 0 && this.bitOf.size === 0) active.delete(this);
  }

  /** Polls the mailboxes whose bit is set, and those without one (also done on each ring). */
  pollAll(): void {
    let more = false;
    for (const mailbox of this.unmapped) more = this.pollOne(mailbox) || more;
    const map = this.readyMap;
    if (map !== null) {
      const words = (this.mapped.length + 31) >> 5;
      for (let word = 0; word < words; word++) {
        if (Atomics.load(map, word) === 0) continue;
        let bits = Atomics.exchange(map, word, 0);
        while (bits !== 0) {
          const low = bits & -bits;
          bits ^= low;
          const bit = (word << 5) | (31 - Math.clz32(low));
          const mailbox = this.mapped[bit];
          // Stopped at its bound: its bit goes back, for the next look.
          if (mailbox !== undefined && this.pollOne(mailbox)) {
            Atomics.or(map, word, low);
            more = true;
          }
        }
      }
    }
    // Messages left behind: ring for them, so the listener looks again after the loop's other work
    // (notified if it waits: this poll may come from the hub's spin while the listener waits).
    if (more) ringDoorbell(this.shared);
  }

  /**
   * A free bit of the ready map (a freed one first), or null: no map, or it
   * is full. A freed bit may still be set (its worker rang, then died): that
   * costs the new mailbox one extra poll, nothing more.
   */
  private takeBit(): number | null {
    if (this.readyMap === null) return null;
    const bit = this.freeBits.pop() ?? (this.mapped.length < READY_MAP_BITS ? this.mapped.length : null);
    if (bit === this.mapped.length) this.mapped.push(undefined);
    return bit;
  }

  private pollOne(mailbox: Mailbox): boolean {
    try {
      return mailbox.poll();
    } catch (error) {
      logger.error(`greenloop: a green thread's message could not be handled: ${String(error)}`);
      return false;
    }
  }

  private watch(): void {
    active.add(this);
    if (!this.listening) {
      this.listening = true;
      // Not now: the mailbox's owner is set up right after it is added, and
      // messages may already wait (the hosted main thread's first call).
      queueMicrotask(() => void this.listen());
    }
  }

  private async listen(): Promise<void> {
    const shared = this.shared;
    for (;;) {
      const seen = Atomics.load(shared, SHARED_BELL);
      this.pollAll();
      Atomics.store(shared, SHARED_HUB_WAITING, 1);
      const wait = Atomics.waitAsync(shared, SHARED_BELL, seen);
      if (wait.async) await wait.value;
      // It rang meanwhile: look again, but only after the loop's other work, so a
      // thread that sends without pause cannot keep the hub in this loop.
      else await new Promise((resolve) => setImmediate(resolve));
      Atomics.store(shared, SHARED_HUB_WAITING, 0);
    }
  }
}
