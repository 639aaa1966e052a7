/**
 * Green sockets (eventlet's `eventlet.green.socket`, Python's `socket`
 * module): blocking calls for green code, served by the hub.
 *
 *     import { socket } from 'greenloop/green';
 *     const sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM);
 *     sock.connect(['127.0.0.1', 8080]);
 *     sock.sendall('ping');
 *     const reply = sock.recv(1024);   // blocks this green thread only
 *
 * A `Socket` in a green thread is a handle to a socket the hub (the event
 * loop's thread) owns and does the I/O for (socket-hub.ts). Guarantees:
 * - data received is pushed to the green thread reading the socket ahead
 *   of its `recv()`, which then returns without a round trip to the hub
 *   when data is already there;
 * - `send`/`sendall` post their data and return; they block only while
 *   more than `WRITE_WINDOW` bytes wait in the hub for the network (flow
 *   control as asyncio's transports), so a slow peer cannot make memory grow;
 * - `settimeout(s)`: a blocking call raises SocketTimeout ('timed out')
 *   after `s` seconds; `settimeout(0)` / `setblocking(false)`: a call that
 *   would block raises BlockingIOError (`code` 'EAGAIN'), a connect raises
 *   it with 'EINPROGRESS' and goes on in the background;
 * - every blocking call is interrupted by `kill()` (and by a green Timeout);
 *   no data is lost when a recv is interrupted;
 * - a socket may be passed to other green threads (spawn arguments,
 *   queues, results); it is closed by the hub once no thread that got it is
 *   alive any more, so a thread that dies without closing leaks no fd.
 *
 * Differences from Python: addresses are `[host, port]` arrays; data is
 * Buffer (strings are UTF-8 encoded); `fileno()` is a stable id, not an OS
 * file descriptor; a TCP socket's `bind()` takes effect when it listens or
 * connects (Node binds then), so `getsockname()` between the two shows the
 * address asked for; `send()` never sends part of its data unless it is
 * larger than the write window.
 */
import { ValueError } from '../loop/errors.js';
import type { AddrInfo } from '../loop/dns.js';
import * as C from '../loop/socket-constants.js';
import {
  blockingOnHub,
  callHub,
  checkBridge,
  decodeError,
  drainPushes,
  type EncodedError,
  type HubThread,
  inGreenWorker,
  onPush,
  registerValueCodec,
  sendHub,
  type WorkerSlot,
  workerState,
} from './runtime/index.js';
import { HubSocket, sockets, windowOf, WRITE_WINDOW, type Datagram, type Delivery } from './socket-hub.js';
import { badFd, checkAddress, notConnected, SHUT_WR, SocketTimeout, type Address } from './socket-errors.js';
import { SocketFile, type BinaryMode, type FileMode, type TextMode } from './makefile.js';
import './socket-ops.js';

export * from '../loop/socket-constants.js';
export {
  BlockingIOError,
  HandedOverError,
  SocketError,
  SocketTimeout,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_SNDBUF,
  SO_TYPE,
  TCP_NODELAY,
  type Address,
} from './socket-errors.js';
export { WRITE_WINDOW } from './socket-hub.js';
export { SocketFile, type BinaryMode, type FileMode, type TextMode } from './makefile.js';

const MODULE = import.meta.url;
/** The most one `send` posts in one message. */
const MAX_POST = 256 * 1024;
const EMPTY = Buffer.alloc(0);

/** What may be sent: bytes, or a string (UTF-8 encoded). */
export type Data = Buffer | Uint8Array | string;

let defaultTimeout: number | null = null;

/** The timeout new sockets of this thread start with (Python's `socket.getdefaulttimeout`). */
export function getdefaulttimeout(): number | null {
  return defaultTimeout;
}

/** Sets the timeout new sockets of this worker thread start with; null: blocking. */
export function setdefaulttimeout(timeout: number | null): void {
  defaultTimeout = checkTimeout(timeout);
}

function checkTimeout(timeout: number | null | undefined): number | null {
  if (timeout === null || timeout === undefined) return null;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) throw new TypeError('timeout must be a number or null');
  if (timeout < 0) throw new ValueError('Timeout value out of range');
  return timeout;
}

/** `data` as bytes postMessage copies exactly (a view would drag its whole ArrayBuffer along). */
function exactBytes(data: Data, start = 0, end?: number): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (!(data instanceof Uint8Array)) throw new TypeError(`a bytes-like object is required, not ${typeof data}`);
  const view = start === 0 && (end === undefined || end === data.length) ? data : data.subarray(start, end);
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength) return view;
  return new Uint8Array(view);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What a socket handle carries across threads. */
interface SocketHandle {
  readonly id: number;
  readonly family: number;
  readonly type: number;
  /** The position its reader consumed up to (-1: unknown), so the next reader starts there. */
  readonly consumed: number;
  /** A stream socket known to have a connection (connected or accepted). */
  readonly connected: boolean;
  readonly timeout: number | null;
}

/** Sockets of this thread by id, for the data the hub pushes. */
const live = new Map<number, WeakRef<Socket>>();

/** A green socket: see the module documentation. */
export class Socket {
  readonly family: number;
  readonly type: number;
  readonly proto: number;
  /** @internal */ readonly _id: number;
  private timeout: number | null = defaultTimeout;
  private closed = false;
  /** Set once the connection went to async code (toStreams, handOver): what every later call raises. */
  private detached: Error | null = null;
  // Receiving: `chunks` hold positions [consumed, received) of the inbound stream.
  private chunks: (Buffer | Datagram)[] = [];
  private consumed = 0;
  private received = 0;
  private acked = 0;
  private eof = false;
  // Sending: bytes posted, and how many of them the hub has confirmed.
  private posted = 0;
  private confirmed = 0;
  private writeError: Error | null = null;
  /**
   * A stream socket known to have a connection (it connected, or was
   * accepted): until then a send asks the hub first, so a socket that was
   * never connected raises ENOTCONN at once, as Python's.
   */
  private connected = false;

  /**
   * A new socket (Python's `socket.socket(family, type, proto)`): AF_INET,
   * AF_INET6 or AF_UNIX; SOCK_STREAM or SOCK_DGRAM. `fileno` adopts an
   * existing socket of this process by its id instead.
   */
  constructor(family: number = C.AF_INET, type: number = C.SOCK_STREAM, proto = 0, fileno?: number) {
    checkBridge('socket.socket');
    this.family = family;
    this.type = type;
    this.proto = proto;
    if (fileno !== undefined) {
      this._id = fileno;
    } else if (inGreenWorker()) {
      this._id = callHub<number>('sock.new', [family, type], { module: MODULE });
    } else {
      this._id = createOnHub(family, type);
    }
    register(this);
  }

  /** The socket's id: stable, unique in the process (not an OS file descriptor). */
  fileno(): number {
    return this.closed ? -1 : this._id;
  }

  // ---- timeouts -------------------------------------------------------------------

  /** Seconds after which blocking calls raise SocketTimeout; 0: non-blocking; null: block. */
  settimeout(timeout: number | null): void {
    this.timeout = checkTimeout(timeout);
  }

  gettimeout(): number | null {
    return this.timeout;
  }

  /** `setblocking(false)` is `settimeout(0)`, `setblocking(true)` is `settimeout(null)`. */
  setblocking(flag: boolean): void {
    this.timeout = flag ? null : 0;
  }

  getblocking(): boolean {
    return this.timeout !== 0;
  }

  // ---- connecting -----------------------------------------------------------------

  /** Connects to `address`; ECONNREFUSED (ConnectionRefusedError) when nothing listens there. */
  connect(address: Address): void {
    this.call('connect', 'sock.connect', [this._id, address, this.timeout]);
    this.connected = true;
  }

  /** `connect`, returning an errno instead of raising: 0 on success, 111 refused, 11 timed out. */
  connectEx(address: Address): number {
    try {
      this.connect(address);
      return 0;
    } catch (error) {
      if (error instanceof SocketTimeout) return 11;
      const errno = (error as { errno?: unknown }).errno;
      if (typeof errno === 'number') return Math.abs(errno);
      throw error;
    }
  }

  bind(address: Address): void {
    this.call('bind', 'sock.bind', [this._id, address]);
  }

  /** Starts listening; `accept()` then returns the connections. */
  listen(backlog = 128): void {
    this.call('listen', 'sock.listen', [this._id, backlog]);
  }

  /** Waits for a connection: `[socket, address]`. */
  accept(): [Socket, Address] {
    const [id, address] = this.call<[number, Address]>('accept', 'sock.accept', [this._id, this.timeout]);
    const client = new Socket(this.family, C.SOCK_STREAM, 0, id);
    client.connected = true;
    return [client, address];
  }

  // ---- receiving ------------------------------------------------------------------

  /**
   * Up to `bufsize` bytes; an empty Buffer once the peer closed its side.
   * For a datagram socket, one datagram (truncated to `bufsize`).
   */
  recv(bufsize: number): Buffer {
    checkSize(bufsize, 'recv');
    if (bufsize === 0) return EMPTY;
    this.fill('recv');
    if (this.chunks.length === 0) return EMPTY;
    return this.type === C.SOCK_STREAM ? this.takeBytes(bufsize) : this.takeDatagram(bufsize)[0];
  }

  /** `recv` into `buffer` (up to `nbytes`, or its length); returns how many bytes were written. */
  recvInto(buffer: Uint8Array, nbytes = 0): number {
    const data = this.recv(nbytes > 0 ? Math.min(nbytes, buffer.length) : buffer.length);
    buffer.set(data);
    return data.length;
  }

  /** `[data, address]`: the sender of a datagram; null for a stream socket. */
  recvfrom(bufsize: number): [Buffer, Address | null] {
    checkSize(bufsize, 'recvfrom');
    if (this.type === C.SOCK_STREAM) return [this.recv(bufsize), null];
    this.fill('recvfrom');
    return this.takeDatagram(bufsize);
  }

  /** Blocks until data (or the end) is in the buffer. */
  private fill(call: string): void {
    if (this.chunks.length > 0 || this.eof) return;
    this.checkOpen();
    drainPushes();
    while (this.chunks.length === 0 && !this.eof) {
      const position = this.received;
      const delivery = this.call<Delivery>(call, 'sock.recv', [this._id, position, this.timeout]);
      if (position >= 0) this.acked = Math.max(this.acked, position);
      this._deliver(delivery[0], delivery[1]);
    }
  }

  private takeBytes(limit: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let data: Buffer;
    if (first.length > limit) {
      data = first.subarray(0, limit);
      this.chunks[0] = first.subarray(limit);
    } else if (this.chunks.length === 1 || first.length === limit) {
      data = first;
      this.chunks.shift();
    } else {
      const parts: Buffer[] = [];
      let size = 0;
      while (this.chunks.length > 0 && size < limit) {
        const chunk = this.chunks[0] as Buffer;
        const part = chunk.length > limit - size ? chunk.subarray(0, limit - size) : chunk;
        if (part === chunk) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(part.length);
        parts.push(part);
        size += part.length;
      }
      data = Buffer.concat(parts, size);
    }
    this.consumedUnits(data.length);
    return data;
  }

  private takeDatagram(limit: number): [Buffer, Address] {
    const [data, host, port] = this.chunks.shift() as Datagram;
    this.consumedUnits(1);
    const address: Address = this.family === C.AF_INET6 ? [host, port, 0, 0] : [host, port];
    return [toBuffer(data.length > limit ? data.subarray(0, limit) : data), address];
  }

  /** Acknowledges consumption to the hub every quarter window, so it keeps reading. */
  private consumedUnits(units: number): void {
    this.consumed += units;
    if (this.consumed - this.acked >= windowOf(this.type === C.SOCK_STREAM) / 4) {
      this.acked = this.consumed;
      sendHub('sock.ack', [this._id, this.consumed], MODULE);
    }
  }

  /** @internal Data from the hub at `position` (pushed ahead, or a recv's reply). */
  _deliver(position: number, data: Uint8Array | Datagram[]): void {
    if (this.received < 0) this.consumed = this.received = this.acked = position;
    if (position > this.received) return; // a gap: the next recv asks from `received` again
    const skip = this.received - position;
    if (data instanceof Uint8Array) {
      if (data.length === 0 && skip === 0) this.eof = true;
      if (data.length <= skip) return;
      this.chunks.push(toBuffer(skip === 0 ? data : data.subarray(skip)));
      this.received += data.length - skip;
    } else {
      for (const datagram of data.slice(skip)) this.chunks.push(datagram);
      this.received += Math.max(0, data.length - skip);
    }
  }

  // ---- sending --------------------------------------------------------------------

  /**
   * Posts `data` (or its first WRITE_WINDOW bytes) for sending and returns
   * how many bytes it took; blocks only while the hub holds too much unsent
   * data for this socket. Errors of earlier sends are raised here.
   */
  send(data: Data): number {
    this.checkOpen();
    const bytes = exactBytes(data);
    if (this.type !== C.SOCK_STREAM) return this.postDatagram(bytes, null);
    this.raiseWriteError();
    if (!this.connected) this.checkConnected();
    let room = WRITE_WINDOW - (this.posted - this.confirmed);
    if (room <= 0) {
      this.drain();
      room = WRITE_WINDOW - (this.posted - this.confirmed);
    }
    const count = Math.min(bytes.length, room, MAX_POST);
    sendHub('sock.send', [this._id, count === bytes.length ? bytes : exactBytes(bytes, 0, count)], MODULE);
    this.posted += count;
    return count;
  }

  /** Sends all of `data`, blocking while flow control says so. */
  sendall(data: Data): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let sent = this.send(bytes);
    while (sent < bytes.length) sent += this.send(bytes.subarray(sent));
  }

  /** Sends a datagram to `address`; returns its size. */
  sendto(data: Data, address: Address): number {
    this.checkOpen();
    return this.postDatagram(exactBytes(data), checkAddress(this.family, address, 'sendto'));
  }

  private postDatagram(bytes: Uint8Array, address: Address | null): number {
    this.raiseWriteError();
    sendHub('sock.sendto', [this._id, bytes, address], MODULE);
    return bytes.length;
  }

  /**
   * Raises ENOTCONN (SocketError) if this stream socket has no connection
   * (never connected, listening, or its connect failed); else remembers it has one.
   */
  private checkConnected(): void {
    if (inGreenWorker()) {
      this.drain();
    } else {
      const hubSocket = sockets.get(this._id);
      if (hubSocket === undefined || hubSocket.state === 'closed') throw badFd(this._id);
      if (hubSocket.stream === null) throw notConnected();
    }
    this.connected = true;
  }

  /** Waits until the hub's write buffer for this socket is low (asyncio's drain). */
  private drain(): void {
    drainPushes();
    this.raiseWriteError();
    const buffered = this.call<number>('send', 'sock.drain', [this._id, this.timeout]);
    this.confirmed = this.posted - buffered;
  }

  private raiseWriteError(): void {
    const error = this.writeError;
    if (error === null) return;
    this.writeError = null;
    throw error;
  }

  /** @internal A posted write failed. */
  _writeFailed(error: Error): void {
    this.writeError = error;
  }

  // ---- closing --------------------------------------------------------------------

  /**
   * Closes the socket. Data already sent still goes out; a recv or accept
   * another green thread is blocked in raises EBADF. Closing twice is fine.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    live.delete(this._id);
    this.chunks = [];
    if (inGreenWorker()) sendHub('sock.close', [this._id], MODULE);
    else sockets.get(this._id)?.close();
  }

  /**
   * Closes this object without closing the socket and returns its id
   * (Python's `detach()`): `new Socket(family, type, 0, id)` takes it over,
   * as `ssl.wrapSocket` does.
   */
  detach(): number {
    this.checkOpen();
    this.closed = true;
    if (live.get(this._id)?.deref() === this) live.delete(this._id);
    this.chunks = [];
    return this._id;
  }

  /** Shuts down reading (SHUT_RD), writing (SHUT_WR: the peer reads the end) or both (SHUT_RDWR). */
  shutdown(how: number): void {
    this.call('shutdown', 'sock.shutdown', [this._id, how]);
    if (how !== SHUT_WR) {
      this.chunks = [];
      this.eof = true;
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- names and options ----------------------------------------------------------

  getpeername(): Address {
    return this.call('getpeername', 'sock.name', [this._id, true]);
  }

  getsockname(): Address {
    return this.call('getsockname', 'sock.name', [this._id, false]);
  }

  /**
   * Sets an option: TCP_NODELAY (on by default), SO_KEEPALIVE, SO_REUSEADDR,
   * SO_REUSEPORT, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF, SO_LINGER (recorded);
   * others raise SocketError ENOPROTOOPT.
   */
  setsockopt(level: number, option: number, value: number | boolean): void {
    this.call('setsockopt', 'sock.setopt', [this._id, level, option, Number(value)]);
  }

  getsockopt(level: number, option: number): number {
    return this.call('getsockopt', 'sock.getopt', [this._id, level, option]);
  }

  /** A file object reading and writing this socket (Python's `makefile`): 'rb', 'wb', 'rwb', or text 'r', 'w', 'rw'. */
  makefile(mode: BinaryMode): SocketFile<Buffer>;
  makefile(mode?: TextMode): SocketFile<string>;
  makefile(mode: FileMode = 'r'): SocketFile {
    return new SocketFile(this, mode);
  }

  toString(): string {
    return `<greenloop.socket fd=${this.fileno()}, family=${this.family}, type=${this.type}>`;
  }

  // ---- internals ------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw this.detached ?? badFd(this._id);
  }

  private call<R>(method: string, op: string, args: unknown[]): R {
    this.checkOpen();
    if (!inGreenWorker()) throw blockingOnHub(`socket.${method}()`, 'use the asyncio-style streams of greenloop/loop');
    return callHub<R>(op, args, { module: MODULE });
  }

  /**
   * @internal The connection went elsewhere (the bridge's hand-over): this
   * object is closed without closing the connection, and every later call
   * raises `error`.
   */
  _detach(error: Error): void {
    this.closed = true;
    this.detached = error;
    live.delete(this._id);
    this.chunks = [];
  }

  /** @internal The handle that crosses threads. */
  _handle(): SocketHandle {
    if (this.detached !== null) throw this.detached;
    return {
      id: this._id,
      family: this.family,
      type: this.type,
      consumed: this.consumed,
      timeout: this.timeout,
      connected: this.connected,
    };
  }

  /** @internal This thread got the socket from another one, whose reader stopped at `consumed`. */
  _adopt(handle: SocketHandle): void {
    this.timeout = handle.timeout;
    if (handle.connected === true) this.connected = true;
    // Forward only: a handle that left the hub before this thread read further (one read back
    // from a shared container, say) must not rewind what this thread already consumed.
    if (handle.consumed < 0 || handle.consumed <= this.consumed) return;
    this.chunks = [];
    this.eof = false;
    this.consumed = this.received = this.acked = handle.consumed;
  }

  /** @internal Made from a handle of unknown reading position. */
  _unknownPosition(): void {
    this.consumed = this.received = this.acked = -1;
  }
}

function checkSize(size: number, call: string): void {
  if (!Number.isInteger(size) || size < 0) throw new ValueError(`negative or non-integer buffersize in ${call}: ${size}`);
}

// ---- the hub's own Socket objects -------------------------------------------------

/** Hub-side Socket objects hold their socket open until they are collected. */
const hubHolds = new FinalizationRegistry<number>((id) => sockets.get(id)?.releaseOnHub());

function createOnHub(family: number, type: number): number {
  const socket = new HubSocket(family, type);
  return socket.id;
}

function register(socket: Socket): void {
  if (inGreenWorker()) {
    routePushes();
    live.set(socket._id, new WeakRef(socket));
    return;
  }
  const hubSocket = sockets.get(socket._id);
  if (hubSocket === undefined) return;
  hubSocket.holdOnHub();
  hubHolds.register(socket, socket._id);
}

// ---- crossing threads -----------------------------------------------------------------

/**
 * Tells the hub a handle is on its way, so the socket stays open until it
 * arrives even if every thread holding it dies meanwhile. Posted before
 * the message that carries the handle, so the hub hears it first.
 */
function noteSent(id: number): void {
  const state = workerState();
  if (state === null) sockets.get(id)?.sent();
  else state.channel.send('sock.sent', [id], MODULE);
}

registerValueCodec<Socket>({
  tag: 'sock',
  matches: (value): value is Socket => value instanceof Socket,
  encode: (socket) => {
    noteSent(socket._id);
    return socket._handle();
  },
  decode: (data) => {
    const handle = data as SocketHandle;
    if (!inGreenWorker()) sockets.get(handle.id)?.arrived();
    const existing = inGreenWorker() ? live.get(handle.id)?.deref() : undefined;
    if (existing !== undefined) {
      existing._adopt(handle);
      return existing;
    }
    const socket = new Socket(handle.family, handle.type, 0, handle.id);
    if (handle.consumed < 0) socket._unknownPosition();
    socket._adopt(handle);
    return socket;
  },
  // Whoever gets a socket holds it open: see socket-hub.ts.
  lend: (data, peer) => {
    const tenant = (peer as WorkerSlot | null)?.tenant as HubThread | null | undefined;
    const socket = sockets.get((data as SocketHandle).id);
    socket?.addOwner(tenant ?? null);
    socket?.arrived();
  },
});

let pushesRouted = false;

/** Routes the data the hub pushes to this thread's sockets (once a socket exists in green code). */
function routePushes(): void {
  if (pushesRouted) return;
  pushesRouted = true;
  onPush('sock', (payload) => {
    const [id, position, data] = payload as [number, ...Delivery];
    live.get(id)?.deref()?._deliver(position, data);
  });
  onPush('sockerr', (payload) => {
    const { id, error } = payload as { id: number; error: EncodedError };
    live.get(id)?.deref()?._writeFailed(decodeError(error));
  });
}

// ---- module functions -------------------------------------------------------------------

/** `new Socket(family, type, proto)`: Python's `socket.socket`. */
export function socket(family: number = C.AF_INET, type: number = C.SOCK_STREAM, proto = 0): Socket {
  return new Socket(family, type, proto);
}

/**
 * Resolves `host` and `port` with the system resolver (/etc/hosts
 * honoured): `[family, type, proto, canonname, sockaddr]` entries, as
 * Python's `socket.getaddrinfo`. Failures raise GaiError.
 */
export function getaddrinfo(
  host: string | null,
  port: number | string | null,
  family = 0,
  type = 0,
  proto = 0,
  flags = 0,
): AddrInfo[] {
  checkBridge('socket.getaddrinfo');
  return callHub<AddrInfo[]>('sock.getaddrinfo', [host, port, family, type, proto, flags], { module: MODULE });
}

/** The IPv4 address of `hostname`, as a string (Python's `socket.gethostbyname`). */
export function gethostbyname(hostname: string): string {
  checkBridge('socket.gethostbyname');
  const [first] = getaddrinfo(hostname, null, C.AF_INET, C.SOCK_STREAM);
  return first[4][0];
}

/**
 * Connects to `[host, port]`, trying each address the name resolves to
 * (Python's `socket.create_connection`); `timeout` (default: the default
 * timeout) also becomes the socket's. Raises the last address's error.
 */
export function createConnection(
  address: readonly [host: string, port: number],
  timeout: number | null = defaultTimeout,
  sourceAddress: Address | null = null,
): Socket {
  checkBridge('socket.createConnection');
  const [host, port] = address;
  let lastError: unknown = null;
  for (const [family, type, proto, , sockaddr] of getaddrinfo(host, port, 0, C.SOCK_STREAM)) {
    const sock = new Socket(family, type, proto);
    try {
      sock.settimeout(timeout);
      if (sourceAddress !== null) sock.bind(sourceAddress);
      sock.connect(sockaddr);
      return sock;
    } catch (error) {
      lastError = error;
      sock.close();
    }
  }
  throw lastError ?? new ValueError(`getaddrinfo returned no address for ${host}`);
}
