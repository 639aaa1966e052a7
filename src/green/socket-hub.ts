/**
 * The hub's side of green sockets: the real node:net / node:dgram sockets,
 * owned by the event loop's thread, and the operations green threads call
 * on them (socket.ts is the green side).
 *
 * # Receiving: data pushed ahead, by position
 *
 * Every byte (TCP) or datagram (UDP) received gets a position in the
 * socket's inbound stream. The hub keeps what the green side has not yet
 * acknowledged as consumed (`Inbound`), and sends it to the socket's
 * *reader* (the green thread that last called `recv` on it) as soon as it
 * arrives, without waiting for the next `recv`: as the reply of a parked
 * `recv`, or else as a push (`caller.push`) that the green side files in
 * its own buffer, where the next `recv` finds it without a round trip.
 * Each delivery carries its position, so the green side drops what it
 * already has; each `recv` that reaches the hub says from which position
 * the reader wants data, and the hub sends everything from there again.
 * So nothing is lost when a reply is dropped (a killed call), when pushes
 * went to a thread that handed the socket over, or when a worker dies.
 *
 * Flow control follows asyncio's transports: at most `windowOf(kind)`
 * units are kept beyond the last acknowledged position; past that the hub
 * stops reading the socket (TCP) or drops datagrams (UDP), until the reader
 * acknowledges (each `recv` call, or `sock.ack` every quarter window).
 *
 * # Sending
 *
 * `send` posts its data without waiting (`sendHub`); the green side lets at
 * most `WRITE_WINDOW` bytes go unconfirmed, then asks `sock.drain`, which
 * answers once Node's write buffer for the socket is below `WRITE_LOW`.
 * Errors of posted writes are pushed back to the writer, which raises them
 * at its next send.
 *
 * # Ownership
 *
 * A socket belongs to the green threads it was created by, accepted by or
 * sent to (a spawn argument, a reply...), and to the hub-side Socket objects
 * that stand for it in async code. When the last owner is gone (the threads
 * died, the objects were collected), the hub closes it: a green thread that
 * dies without closing its sockets leaks no fd.
 */
import dgram from 'node:dgram';
import { clearTimeout, setTimeout } from 'node:timers';
import type net from 'node:net';
import type { Future } from '../loop/futures.js';
import type { TimerHandle } from '../loop/handles.js';
import * as C from '../loop/socket-constants.js';
import type { GreenCaller, HubThread } from './runtime/index.js';
import {
  addressOf,
  badFd,
  notConnected,
  socketErrorFrom,
  SocketTimeout,
  SO_KEEPALIVE,
  SO_RCVBUF,
  SO_SNDBUF,
  TCP_NODELAY,
  type Address,
} from './socket-errors.js';

/** Bytes (TCP) kept beyond what the reader consumed before the hub stops reading. */
export const STREAM_WINDOW = 256 * 1024;
/** Datagrams kept beyond what the reader consumed; more are dropped, as a full socket buffer does. */
export const DGRAM_WINDOW = 256;
/** Bytes a green thread may post without confirmation before it asks the hub to drain. */
export const WRITE_WINDOW = 1024 * 1024;
/**
 * Seconds a socket whose owners are all gone stays open while a handle to
 * it is on its way to a thread (sent as the argument of a thread that has
 * not started yet): it closes when that thread dies, or after this long if
 * the handle never arrives (its thread was killed before it started).
 */
export const TRANSIT_GRACE = 60;
/** `sock.drain` answers once Node's write buffer holds at most this many bytes (asyncio's low-water mark). */
export const WRITE_LOW = 64 * 1024;

// ---- inbound data -----------------------------------------------------------------

/** A datagram as it crosses: data, sender host, sender port. */
export type Datagram = [data: Uint8Array, host: string, port: number];
type Item = Buffer | Datagram;
/** What the green side gets: the position of the first unit, and the data (a Buffer, or datagrams). */
export type Delivery = [position: number, data: Uint8Array | Datagram[]];

const EMPTY = new Uint8Array(0);

/**
 * Received items not yet acknowledged, with their positions: `start` (the
 * first kept unit), `end`, and `sent` (how far the reader was sent data).
 */
class Inbound {
  private items: Item[] = [];
  start = 0;
  end = 0;
  sent = 0;

  constructor(readonly stream: boolean) {}

  get size(): number {
    return this.end - this.start;
  }

  append(item: Item): void {
    this.items.push(item);
    this.end += this.stream ? (item as Buffer).length : 1;
  }

  /** Forgets everything before `position` (the reader consumed it). */
  acknowledge(position: number): void {
    position = Math.min(position, this.end);
    while (this.start < position) {
      const first = this.items[0];
      const units = this.stream ? (first as Buffer).length : 1;
      if (this.start + units <= position) {
        this.items.shift();
        this.start += units;
      } else {
        this.items[0] = (first as Buffer).subarray(position - this.start);
        this.start = position;
      }
    }
  }

  /** Up to `limit` units from `position` (clamped to what is kept), and marks them sent. */
  take(position: number, limit: number): Delivery | null {
    position = Math.max(this.start, Math.min(position, this.end));
    const until = Math.min(this.end, position + limit);
    if (until <= position) return null;
    const parts: Item[] = [];
    let at = this.start;
    for (const item of this.items) {
      const units = this.stream ? (item as Buffer).length : 1;
      if (at + units > position && at < until) {
        parts.push(this.stream ? (item as Buffer).subarray(Math.max(0, position - at), until - at) : item);
      }
      at += units;
      if (at >= until) break;
    }
    this.sent = until;
    return [position, this.stream ? exactBuffer(parts as Buffer[], until - position) : (parts as Datagram[])];
  }

  clear(): void {
    this.items = [];
    this.start = this.sent = this.end;
  }
}

/**
 * `parts` (`size` bytes in all) as one Buffer that owns its whole
 * ArrayBuffer: structured clone copies a view's entire ArrayBuffer, and a
 * small Buffer from `Buffer.concat` is a view of Node's shared 8 KiB pool.
 * A part that already owns its memory (a chunk as a TCP read made it) goes
 * as it is, uncopied.
 */
export function exactBuffer(parts: Buffer[], size: number): Buffer {
  const first = parts[0];
  if (parts.length === 1 && first.byteOffset === 0 && first.byteLength === first.buffer.byteLength) return first;
  const data = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const part of parts) at += part.copy(data, at);
  return data;
}

/** How many units may be kept beyond the acknowledged position. */
export function windowOf(stream: boolean): number {
  return stream ? STREAM_WINDOW : DGRAM_WINDOW;
}

// ---- the socket -------------------------------------------------------------------

interface Waiter<T> {
  readonly thread: HubThread;
  readonly future: Future<T>;
}

/** What accept returns: the new socket's id and the peer's address. */
export type Accepted = [id: number, address: Address];

/** The listeners `attachStream` put on a Node socket, by event. */
interface StreamListeners {
  data(chunk: Buffer): void;
  end(): void;
  error(error: Error): void;
  drained(): void;
}

type State = 'fresh' | 'connecting' | 'connected' | 'listening' | 'bound' | 'closed';

let nextId = 3;
/** Open sockets by id. */
export const sockets = new Map<number, HubSocket>();

/** A socket as the hub holds it. */
export class HubSocket {
  readonly id = nextId++;
  state: State = 'fresh';
  stream: net.Socket | null = null;
  server: net.Server | null = null;
  udp: dgram.Socket | null = null;
  bindAddress: Address | null = null;
  readonly options = new Map<string, number>();
  readonly inbound: Inbound;
  reader: HubThread | null = null;
  readWaiter: Waiter<Delivery> | null = null;
  acceptWaiter: Waiter<Accepted> | null = null;
  readonly acceptQueue: HubSocket[] = [];
  readonly drainWaiters = new Set<Future<number>>();
  /** The peer finished sending (or SHUT_RD): reads end after what is kept. */
  eof = false;
  error: Error | null = null;
  private readonly owners = new Map<HubThread, () => void>();
  private hubHolders = 0;
  /** Handles sent and not yet arrived (a spawn argument of a thread not started yet). */
  private transit = 0;
  private transitUntil = 0;
  private transitTimer: NodeJS.Timeout | null = null;
  private listening: StreamListeners | null = null;

  constructor(
    readonly family: number,
    readonly type: number,
  ) {
    this.inbound = new Inbound(type === C.SOCK_STREAM);
    if (type === C.SOCK_STREAM && family !== C.AF_UNIX) this.options.set(optionKey(C.IPPROTO_TCP, TCP_NODELAY), 1);
    sockets.set(this.id, this);
  }

  static get(id: number): HubSocket {
    const socket = sockets.get(id);
    if (socket === undefined) throw badFd(id);
    return socket;
  }

  get isStream(): boolean {
    return this.type === C.SOCK_STREAM;
  }

  // ---- ownership ------------------------------------------------------------------

  /** `thread` holds the socket now; when every holder is gone, it closes. */
  addOwner(thread: HubThread | null): void {
    if (thread === null || thread.dead || this.owners.has(thread) || this.state === 'closed') return;
    this.owners.set(thread, thread.onExit(() => this.ownerGone(thread)));
  }

  holdOnHub(): void {
    this.hubHolders++;
  }

  releaseOnHub(): void {
    this.hubHolders--;
    this.closeIfUnowned();
  }

  private ownerGone(thread: HubThread): void {
    this.owners.delete(thread);
    if (this.reader === thread) this.reader = null;
    this.closeIfUnowned();
  }

  /** A handle to the socket was encoded for another thread. */
  sent(): void {
    this.transit++;
    this.transitUntil = performance.now() + TRANSIT_GRACE * 1000;
  }

  /** A handle sent earlier arrived (lent to a worker, or decoded on the hub). */
  arrived(): void {
    if (this.transit > 0) this.transit--;
  }

  private closeIfUnowned(): void {
    if (this.owners.size > 0 || this.hubHolders > 0 || this.state === 'closed') return;
    const wait = this.transit > 0 ? this.transitUntil - performance.now() : 0;
    if (wait <= 0) {
      this.close();
    } else if (this.transitTimer === null) {
      this.transitTimer = setTimeout(() => {
        this.transitTimer = null;
        this.closeIfUnowned();
      }, wait);
      this.transitTimer.unref();
    }
  }

  // ---- receiving ------------------------------------------------------------------

  /** New data arrived: hand it to the reader, and stop reading when the window is full. */
  received(item: Item): void {
    if (this.isStream && this.eof) return;
    if (!this.isStream && this.inbound.size >= DGRAM_WINDOW) return;
    this.inbound.append(item);
    this.deliver();
    if (this.isStream && this.inbound.size >= STREAM_WINDOW) this.stream?.pause();
  }

  /** Wakes the parked reader with what is ready, or pushes it ahead to the reader. */
  deliver(): void {
    const waiter = this.readWaiter;
    if (waiter !== null && !waiter.future.done()) {
      const ready = this.ready();
      if (ready !== null) waiter.future.setResult(ready);
      else if (this.error !== null) waiter.future.setException(this.error);
      return;
    }
    const reader = this.reader;
    if (reader === null) return;
    const room = this.inbound.start + windowOf(this.isStream) - this.inbound.sent;
    const delivery = room > 0 ? this.inbound.take(this.inbound.sent, room) : null;
    if (delivery !== null && !reader.push('sock', [this.id, ...delivery])) this.reader = null;
  }

  /** What a recv gets now: data from `inbound.sent`, the end of the stream, or null. */
  ready(): Delivery | null {
    const delivery = this.inbound.take(this.inbound.sent, windowOf(this.isStream));
    if (delivery !== null) return delivery;
    return this.eof ? [this.inbound.end, EMPTY] : null;
  }

  /** The reader consumed everything before `position`. */
  acknowledge(position: number): void {
    this.inbound.acknowledge(position);
    if (this.isStream && this.inbound.size < STREAM_WINDOW && this.stream?.isPaused()) this.stream.resume();
  }

  // ---- closing --------------------------------------------------------------------

  /** Closes the socket: pending calls of other threads fail with EBADF. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    sockets.delete(this.id);
    if (this.transitTimer !== null) clearTimeout(this.transitTimer);
    for (const remove of this.owners.values()) remove();
    this.owners.clear();
    this.reader = null;
    this.inbound.clear();
    this.failWaiters(badFd(this.id));
    if (this.stream !== null) closeStream(this.stream);
    this.server?.close();
    for (const pending of this.acceptQueue.splice(0)) pending.close();
    this.udp?.close();
  }

  /** Fails every parked call on this socket with `error`. */
  failWaiters(error: Error): void {
    for (const future of [this.readWaiter?.future, this.acceptWaiter?.future, ...this.drainWaiters]) {
      if (future !== undefined && !future.done()) future.setException(error);
    }
  }

  // ---- node sockets ---------------------------------------------------------------

  /** Takes `stream` (connecting or connected) as this socket's connection. */
  attachStream(stream: net.Socket): void {
    this.stream = stream;
    this.applyStreamOptions();
    const on: StreamListeners = {
      data: (chunk) => this.received(chunk),
      end: () => {
        this.eof = true;
        this.deliver();
      },
      error: (error) => {
        this.error = socketErrorFrom(error);
        this.deliver();
        for (const waiter of this.drainWaiters) if (!waiter.done()) waiter.setException(this.error);
      },
      drained: () => this.drained(),
    };
    stream.on('data', on.data).on('end', on.end).on('error', on.error).on('drain', on.drained).on('close', on.drained);
    this.listening = on;
  }

  /**
   * Gives up the connection's Node socket, open, to a new owner (a TLS
   * socket that wraps it): the hub stops listening to it, and this socket
   * has no stream until `attachStream` gives it one.
   */
  detachStream(): net.Socket | null {
    const [stream, on] = [this.stream, this.listening];
    if (stream !== null && on !== null) {
      stream.off('data', on.data).off('end', on.end).off('error', on.error).off('drain', on.drained).off('close', on.drained);
    }
    this.stream = null;
    this.listening = null;
    return stream;
  }

  /** Node's write buffer went down: answer the drain calls it now satisfies. */
  drained(): void {
    const buffered = this.stream?.writableLength ?? 0;
    if (buffered > WRITE_LOW && !this.stream?.destroyed) return;
    for (const waiter of this.drainWaiters) if (!waiter.done()) waiter.setResult(buffered);
  }

  applyStreamOptions(): void {
    const stream = this.stream;
    if (stream === null || this.family === C.AF_UNIX) return;
    stream.setNoDelay(this.option(C.IPPROTO_TCP, TCP_NODELAY) !== 0);
    if (this.option(C.SOL_SOCKET, SO_KEEPALIVE) !== 0) stream.setKeepAlive(true);
  }

  /** The UDP socket, created on first use (bind, connect, or sendto's implicit bind). */
  datagramSocket(): dgram.Socket {
    if (this.udp !== null) return this.udp;
    const udp = dgram.createSocket({
      type: this.family === C.AF_INET6 ? 'udp6' : 'udp4',
      reuseAddr: this.option(C.SOL_SOCKET, C.SO_REUSEADDR) !== 0,
    });
    udp.on('message', (data, info) => this.received([data, info.address, info.port]));
    udp.on('error', (error) => {
      this.error = socketErrorFrom(error);
      this.deliver();
    });
    udp.once('listening', () => this.applyDatagramOptions());
    this.udp = udp;
    return udp;
  }

  applyDatagramOptions(): void {
    const udp = this.udp;
    if (udp === null || this.state === 'closed') return;
    if (this.option(C.SOL_SOCKET, C.SO_BROADCAST) !== 0) udp.setBroadcast(true);
    const receive = this.options.get(optionKey(C.SOL_SOCKET, SO_RCVBUF));
    if (receive !== undefined) udp.setRecvBufferSize(receive);
    const send = this.options.get(optionKey(C.SOL_SOCKET, SO_SNDBUF));
    if (send !== undefined) udp.setSendBufferSize(send);
  }

  option(level: number, name: number): number {
    return this.options.get(optionKey(level, name)) ?? 0;
  }

  /** The local (or peer) address, as Python gives it. */
  address(peer: boolean): Address {
    if (peer) {
      const stream = this.state === 'connected' ? this.stream : null;
      const remote = this.udp !== null && this.state === 'connected' ? safeRemote(this.udp) : null;
      if (stream !== null && stream.remoteAddress !== undefined) {
        return addressOf(this.family, stream.remoteAddress, stream.remotePort);
      }
      if (remote !== null) return addressOf(this.family, remote.address, remote.port);
      if (this.family === C.AF_UNIX && stream !== null) return '';
      throw notConnected();
    }
    const server = this.server?.address() ?? null;
    if (typeof server === 'string') return server;
    if (server !== null) return addressOf(this.family, server.address, server.port);
    const stream = this.stream;
    if (stream !== null && stream.localAddress !== undefined) return addressOf(this.family, stream.localAddress, stream.localPort);
    if (stream !== null && this.family === C.AF_UNIX) return this.bindAddress ?? '';
    if (this.udp !== null && this.state !== 'fresh') {
      const info = safeLocal(this.udp);
      if (info !== null) return addressOf(this.family, info.address, info.port);
    }
    const bound = this.bindAddress;
    if (bound !== null) return typeof bound === 'string' ? bound : addressOf(this.family, bound[0], bound[1]);
    return addressOf(this.family, undefined, undefined);
  }
}

export function optionKey(level: number, name: number): string {
  return `${level}:${name}`;
}

function safeLocal(udp: dgram.Socket): net.AddressInfo | null {
  try {
    return udp.address();
  } catch {
    return null;
  }
}

function safeRemote(udp: dgram.Socket): net.AddressInfo | null {
  try {
    return udp.remoteAddress();
  } catch {
    return null;
  }
}

/** Closes a connection as Python's close() does: buffered data still goes out, the fd goes now or once flushed. */
function closeStream(stream: net.Socket): void {
  stream.removeAllListeners('data');
  stream.on('error', () => undefined);
  if (stream.destroyed) return;
  if (stream.connecting || stream.writableLength === 0) {
    stream.destroy();
    return;
  }
  stream.end();
  stream.once('finish', () => stream.destroy());
  // A peer that never reads must not hold the fd forever.
  stream.setTimeout(30_000, () => stream.destroy());
}


// ---- operations -------------------------------------------------------------------

/**
 * A Future for a parked call, failed with SocketTimeout after `timeout`
 * seconds (null: never; `timedOut` makes that error). `cleanup` runs once
 * it is done, however it ended (result, error, timeout, or cancelled by an
 * interrupted call).
 */
export function park<T>(
  caller: GreenCaller,
  timeout: number | null,
  cleanup: (future: Future<T>) => void,
  timedOut: () => SocketTimeout = () => new SocketTimeout(),
): Future<T> {
  const future = caller.loop.createFuture<T>();
  let timer: TimerHandle | null = null;
  if (timeout !== null) {
    timer = caller.loop.callLater(timeout, () => {
      if (!future.done()) future.setException(timedOut());
    });
  }
  future.addDoneCallback(() => {
    timer?.cancel();
    cleanup(future);
  });
  return future;
}

/** Whether `future` ended without a result (timed out or cancelled): the operation must be undone. */
export function abandoned(future: Future<unknown>): boolean {
  return future.cancelled() || future.exception() instanceof SocketTimeout;
}

