/**
 * The hub's doorbell (doorbell.ts): which mailboxes a ring makes it poll.
 * Every green test rings it from real worker threads; these pin the
 * bookkeeping of the ready map, where a mistake would leave a message
 * unseen (a hang) or make every ring cost O(workers).
 */
import { expect } from 'chai';
import { createReadyMap, Doorbell, READY_MAP_BITS, ringDoorbell, type Mailbox, type ReadyBit } from '../../../src/green/runtime/doorbell.js';
import { SHARED_SLOTS } from '../../../src/green/runtime/protocol.js';
import { waitUntil } from '../../green-workers.js';

/** Waits for `condition` (the doorbell's listener runs on this thread's event loop); fails after 3 s. */
async function until(condition: () => boolean): Promise<void> {
  expect(await waitUntil(condition), 'the doorbell polled in time').to.equal(true);
}

/** A mailbox that counts its polls; `backlog` polls report "stopped at the bound, more waits". */
class CountingMailbox implements Mailbox {
  polls = 0;
  constructor(private backlog = 0) {}

  poll(): boolean {
    this.polls++;
    if (this.backlog === 0) return false;
    this.backlog--;
    return true;
  }
}

describe('runtime: the doorbell', () => {
  let shared: Int32Array;
  let doorbell: Doorbell;
  let added: Mailbox[];

  beforeEach(() => {
    shared = new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * 4));
    doorbell = new Doorbell(shared, createReadyMap());
    added = [];
  });

  afterEach(() => {
    for (const mailbox of added) doorbell.delete(mailbox);
  });

  function add(mailbox: CountingMailbox): ReadyBit | null {
    added.push(mailbox);
    return doorbell.add(mailbox);
  }

  it('polls only the mailboxes whose thread rang, however many are watched', async () => {
    const quiet = Array.from({ length: 100 }, () => new CountingMailbox());
    for (const mailbox of quiet) add(mailbox);
    const ringing = new CountingMailbox();
    const bit = add(ringing);
    expect(bit, 'a pooled mailbox gets a bit').to.not.equal(null);
    ringDoorbell(shared, bit);
    await until(() => ringing.polls > 0);
    ringDoorbell(shared, bit);
    await until(() => ringing.polls > 1);
    expect(quiet.map((mailbox) => mailbox.polls)).to.deep.equal(quiet.map(() => 0));
  });

  it('polls again a mailbox that stopped at its bound, without another ring', async () => {
    const busy = new CountingMailbox(2);
    const bit = add(busy);
    ringDoorbell(shared, bit);
    await until(() => busy.polls === 3);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(busy.polls, 'polled until it had nothing more, then left alone').to.equal(3);
  });

  it('gives a freed bit to the next mailbox; a bit left set costs it one poll, not a lost message', async () => {
    const first = new CountingMailbox();
    const bit = add(first) as ReadyBit;
    // The thread rang, then died before the hub looked: its bit stays set.
    Atomics.or(bit.map, bit.index >> 5, 1 << (bit.index & 31));
    doorbell.delete(first);
    const next = new CountingMailbox();
    expect(add(next)?.index).to.equal(bit.index);
    ringDoorbell(shared, null);
    await until(() => next.polls > 0);
    expect(first.polls).to.equal(0);
  });

  it('polls mailboxes without a bit on every ring: past the map, or with no map at all', async () => {
    const full = Array.from({ length: READY_MAP_BITS }, () => new CountingMailbox());
    for (const mailbox of full) add(mailbox);
    const beyond = new CountingMailbox();
    expect(add(beyond), 'no bit left').to.equal(null);
    ringDoorbell(shared, null);
    await until(() => beyond.polls > 0);
    expect(full[0].polls, 'mapped mailboxes whose bit is clear are not polled').to.equal(0);

    const unmappedShared = new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * 4));
    const unmapped = new Doorbell(unmappedShared);
    const hosted = new CountingMailbox();
    expect(unmapped.add(hosted)).to.equal(null);
    try {
      ringDoorbell(unmappedShared, null);
      await until(() => hosted.polls > 0);
    } finally {
      unmapped.delete(hosted);
    }
  });
});
