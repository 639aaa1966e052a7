/**
 * One direction of a channel between the hub and a green thread: a ring of
 * frames in shared memory, with the MessagePort as an ordered overflow.
 *
 * postMessage costs a structured clone, a lock and a wake-up of the
 * receiving thread's event loop for every message. A green thread's call
 * and its reply are small and frequent, and the receiving side mostly
 * looks for them synchronously anyway (the worker while it spins or after
 * `Atomics.wait`, the hub when its doorbell rings: doorbell.ts). So a
 * message is encoded (wire.ts) into the ring of its direction: a
 * single-producer single-consumer ring of length-prefixed frames, with the
 * write and read positions in a shared header.
 *
 * A message that the wire codec does not take (exotic values), that is too
 * big, or that does not fit in the free space goes through the port by
 * structured clone instead. Order is kept: the sender counts the messages
 * it posted, and once it posted one, everything it sends goes to the port
 * until the receiver has taken them all (so the ring is empty too: the
 * receiver takes the ring's frames before the port's messages); the
 * receiver reads the posted count before it looks at the ring, so a frame
 * written before a posted message is always seen first.
 *
 * Guarantees: messages arrive in the order sent, each once, as structured
 * clone would deliver them; `send` never blocks; a message that cannot
 * cross at all throws from `send` (DataCloneError) and changes nothing.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { WireNames, WireReader, WireWriter, type WireMessage } from './wire.js';

/** Bytes of each direction's ring. A power of two. */
export const RING_CAPACITY = 64 * 1024;
/** The largest frame a ring takes; bigger messages go through the port. */
const MAX_FRAME = RING_CAPACITY / 4;

/** Int32 slots of a pipe's header. */
const HEAD = 0;
const TAIL = 1;
const PORT_POSTED = 2;
const PORT_TAKEN = 3;
const HEADER_SLOTS = 4;
/** A frame length meaning: the next frame starts at the beginning of the ring. */
const WRAP = -1;

/** Which way a pipe goes: green thread to hub, or hub to green thread. */
export type Direction = 'up' | 'down';

/** The shared memory of a channel's two pipes: both headers, then both rings. */
export function createChannelMemory(): SharedArrayBuffer {
  return new SharedArrayBuffer(2 * HEADER_SLOTS * 4 + 2 * RING_CAPACITY);
}

interface PipeLayout {
  readonly header: Int32Array;
  readonly dataOffset: number;
}

function layout(memory: SharedArrayBuffer, direction: Direction): PipeLayout {
  const index = direction === 'up' ? 0 : 1;
  return {
    header: new Int32Array(memory, index * HEADER_SLOTS * 4, HEADER_SLOTS),
    dataOffset: 2 * HEADER_SLOTS * 4 + index * RING_CAPACITY,
  };
}

function frameSize(length: number): number {
  return (4 + length + 3) & ~3;
}

/** One writer per thread: encoding is synchronous, so pipes share its scratch buffer. */
let sharedWriter: WireWriter | null = null;
let writerBusy = false;

/** What both ends of a pipe see: the header, the frame lengths, and the port. */
abstract class PipeEnd {
  protected readonly header: Int32Array;
  protected readonly lengths: Int32Array;
  protected readonly dataOffset: number;

  constructor(
    memory: SharedArrayBuffer,
    direction: Direction,
    protected readonly port: MessagePort,
  ) {
    ({ header: this.header, dataOffset: this.dataOffset } = layout(memory, direction));
    this.lengths = new Int32Array(memory, this.dataOffset, RING_CAPACITY / 4);
  }
}

/** The sending end of a pipe. */
export class PipeSender extends PipeEnd {
  private readonly bytes: Uint8Array;
  /** The envelope names this pipe's reader knows (wire.ts). */
  private readonly names = new WireNames();
  private head: number;
  private posted: number;
  /** Messages went to the port and the receiver has not taken them all yet. */
  private overflowing = false;

  constructor(memory: SharedArrayBuffer, direction: Direction, port: MessagePort) {
    super(memory, direction, port);
    this.bytes = new Uint8Array(memory, this.dataOffset, RING_CAPACITY);
    this.head = Atomics.load(this.header, HEAD);
    this.posted = Atomics.load(this.header, PORT_POSTED);
  }

  /** Sends `message`: through the ring if it can, else through the port. */
  send(message: WireMessage): void {
    if (this.encodeIntoRing(message)) return;
    this.port.postMessage(message);
    this.overflowing = true;
    this.posted = (this.posted + 1) | 0;
    Atomics.store(this.header, PORT_POSTED, this.posted);
  }

  /** Encodes `message` into the ring; false if the port must carry it (not for the wire, or no room). */
  private encodeIntoRing(message: WireMessage): boolean {
    // A getter run by the encoder could send a message itself: that one gets its own
    // writer, and writes its names inline, since the names the outer message is
    // defining reach the reader only after it.
    const owned = !writerBusy;
    const writer = owned ? (sharedWriter ??= new WireWriter(MAX_FRAME)) : new WireWriter(MAX_FRAME);
    const names = owned ? this.names : null;
    writerBusy = true;
    let written = false;
    try {
      const length = writer.encodeMessage(message, names);
      written = length >= 0 && this.write(writer, length);
      return written;
    } finally {
      if (written) names?.commit();
      else names?.discard();
      if (owned) writerBusy = false;
    }
  }

  /** Writes `writer`'s encoding (`length` bytes) as one frame; false if it must wait (overflowing, or no room). */
  private write(writer: WireWriter, length: number): boolean {
    if (this.overflowing) {
      if (Atomics.load(this.header, PORT_TAKEN) !== this.posted) return false;
      this.overflowing = false;
    }
    const size = frameSize(length);
    const free = RING_CAPACITY - ((this.head - Atomics.load(this.header, TAIL)) | 0);
    let head = this.head;
    let at = head & (RING_CAPACITY - 1);
    const untilEnd = RING_CAPACITY - at;
    if (size > untilEnd) {
      if (untilEnd + size > free) return false;
      this.lengths[at >> 2] = WRAP;
      head = (head + untilEnd) | 0;
      at = 0;
    } else if (size > free) {
      return false;
    }
    this.lengths[at >> 2] = length;
    writer.copyTo(this.bytes, at + 4);
    this.head = (head + size) | 0;
    // The store publishes the frame: a reader that loads this head sees its bytes.
    Atomics.store(this.header, HEAD, this.head);
    return true;
  }
}

/** The receiving end of a pipe. */
export class PipeReceiver extends PipeEnd {
  private readonly reader: WireReader;
  private tail: number;
  private taken: number;

  constructor(memory: SharedArrayBuffer, direction: Direction, port: MessagePort) {
    super(memory, direction, port);
    this.reader = new WireReader(memory, this.dataOffset, RING_CAPACITY);
    this.tail = Atomics.load(this.header, TAIL);
    this.taken = Atomics.load(this.header, PORT_TAKEN);
  }

  /** Whether a message is waiting. */
  get pending(): boolean {
    return Atomics.load(this.header, HEAD) !== this.tail || Atomics.load(this.header, PORT_POSTED) !== this.taken;
  }

  /** The next message, or undefined if none is waiting. Never blocks. */
  receive(): WireMessage | undefined {
    // Posted count first: a frame written before a posted message is then surely visible.
    const posted = Atomics.load(this.header, PORT_POSTED);
    if (Atomics.load(this.header, HEAD) !== this.tail) return this.takeFrame();
    if (posted === this.taken) return undefined;
    const received = receiveMessageOnPort(this.port);
    if (received === undefined) return undefined;
    this.taken = (this.taken + 1) | 0;
    Atomics.store(this.header, PORT_TAKEN, this.taken);
    return received.message as WireMessage;
  }

  private takeFrame(): WireMessage {
    let at = this.tail & (RING_CAPACITY - 1);
    let length = this.lengths[at >> 2];
    if (length === WRAP) {
      this.tail = (this.tail + RING_CAPACITY - at) | 0;
      at = 0;
      length = this.lengths[0];
    }
    try {
      return this.reader.decodeMessage(at + 4, length);
    } finally {
      // The message owns copies of what it keeps: the writer may reuse the room now.
      this.tail = (this.tail + frameSize(length)) | 0;
      Atomics.store(this.header, TAIL, this.tail);
    }
  }
}

/** The two ends a side of a channel uses: the green side sends up and receives down. */
export function channelEnds(
  memory: SharedArrayBuffer,
  port: MessagePort,
  side: 'green' | 'hub',
): { sender: PipeSender; receiver: PipeReceiver } {
  const out: Direction = side === 'green' ? 'up' : 'down';
  const into: Direction = side === 'green' ? 'down' : 'up';
  return { sender: new PipeSender(memory, out, port), receiver: new PipeReceiver(memory, into, port) };
}
