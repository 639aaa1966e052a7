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

/** Green side: tells the hub that a message waits (`shared` is the doorbell's buffer). */
export function ringDoorbell(shared: Int32Array): void {
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
  private readonly mailboxes = new Set<Mailbox>();
  private listening = false;

  constructor(private readonly shared: Int32Array) {}

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

  add(mailbox: Mailbox): void {
    this.mailboxes.add(mailbox);
    active.add(this);
    if (!this.listening) {
      this.listening = true;
      // Not now: the mailbox's owner is set up right after it is added, and
      // messages may already wait (the hosted main thread's first call).
      queueMicrotask(() => void this.listen());
    }
  }

  delete(mailbox: Mailbox): void {
    this.mailboxes.delete(mailbox);
    if (this.mailboxes.size === 0) active.delete(this);
  }

  /** Polls every mailbox now (also done on each ring). */
  pollAll(): void {
    let more = false;
    for (const mailbox of this.mailboxes) {
      try {
        more = mailbox.poll() || more;
      } catch (error) {
        logger.error(`greenloop: a green thread's message could not be handled: ${String(error)}`);
      }
    }
    // Messages left behind: ring for them, so the listener looks again after the loop's other work
    // (notified if it waits: this poll may come from the hub's spin while the listener waits).
    if (more) ringDoorbell(this.shared);
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
