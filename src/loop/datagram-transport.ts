/**
 * The transport of a UDP endpoint (asyncio's `_SelectorDatagramTransport`),
 * over a bound (and maybe connected) `node:dgram` socket. Endpoints are made
 * by `createDatagramEndpoint` (datagram.ts).
 *
 * Guarantees, as asyncio's:
 * - `connectionMade(transport)` first; then `datagramReceived(data, [host,
 *   port])` / `errorReceived(err)` any number of times; then
 *   `connectionLost(err | null)` exactly once, last.
 * - Every protocol callback runs through the loop (`callSoon`), never inside
 *   a Node event.
 * - Errors of single sends and receives (ECONNREFUSED when a connected
 *   endpoint's peer port is closed, EMSGSIZE, an unknown host name...) go to
 *   `errorReceived` and leave the endpoint open.
 * - `close()` stops receiving at once, lets the sends already handed to the
 *   socket finish, then closes; `abort()` closes at once. Closing the loop
 *   closes the socket too (no protocol callback can run then).
 *
 * Flow control: Node never refuses a datagram; it holds each one until its
 * send completes. `getWriteBufferSize()` counts those datagrams (each as its
 * size plus an 8-byte header, as asyncio 3.13 does); above the high-water mark
 * (64 KiB) the protocol's `pauseWriting()` is called, and `resumeWriting()`
 * once it drains to the low-water mark. Pausing is advisory, as in asyncio.
 */
import type dgram from 'node:dgram';
import { taskContext } from './context.js';
import type { SockAddr } from './dns.js';
import { RuntimeError, ValueError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import type { DatagramProtocol } from './protocols.js';
import type { DatagramTransport } from './transports.js';

/** A host and port, as protocols receive them: `[host, port]`. */
export type Address = [host: string, port: number];

/** What a socket received before its transport existed, replayed after connectionMade. */
export type EarlyEvent = { data: Buffer; rinfo: dgram.RemoteInfo } | { error: Error };

/** asyncio's `_HEADER_SIZE`: what each datagram counts for beyond its payload. */
const HEADER_SIZE = 8;
const DEFAULT_HIGH_WATER = 64 * 1024;

/** Closes a Node socket that may already be closed. */
export function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

function formatAddress(addr: SockAddr | Address): string {
  return `[${JSON.stringify(addr[0])}, ${addr[1]}]`;
}

function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`data argument must be a bytes-like object or a string, not ${data === null ? 'null' : typeof data}`);
}

/** Validates an address argument: `[host, port]` (or IPv6's 4 items), port in 1..65535. */
function checkTargetAddress(addr: unknown): SockAddr {
  if (!Array.isArray(addr) || (addr.length !== 2 && addr.length !== 4) || typeof addr[0] !== 'string') {
    throw new TypeError(`sendto(): addr must be [host, port], got ${JSON.stringify(addr)}`);
  }
  const port = addr[1] as unknown;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValueError(`sendto(): port must be an integer in 1..65535, got ${String(port)}`);
  }
  return addr as SockAddr;
}

/** A host string Node understands, with the IPv6 scope id as a zone. */
export function nodeHost(addr: SockAddr): string {
  return addr.length === 4 && addr[3] !== 0 ? `${addr[0]}%${addr[3]}` : addr[0];
}

export interface TransportSetup {
  /** Where `sendto(data)` without an address goes (the resolved remoteAddr). */
  defaultAddress: SockAddr | null;
  /** The remoteAddr as the caller gave it, also accepted by `sendto`. */
  givenRemote: SockAddr | null;
  connected: boolean;
  /** What the socket received before the transport took it over. */
  early: EarlyEvent[];
}

/** The transport of a UDP endpoint; see the module comment for its guarantees. */
export class DatagramSocketTransport implements DatagramTransport {
  private protocol: DatagramProtocol;
  private readonly socket: dgram.Socket;
  private readonly extra: Record<string, unknown>;
  private readonly defaultAddress: SockAddr | null;
  private readonly givenRemote: SockAddr | null;
  private readonly connected: boolean;
  private readonly releaseCloseHook: () => void;
  private closing = false;
  private connLost = false;
  private socketClosed = false;
  private sendsInFlight = 0;
  private bufferSize = 0;
  private highWater = DEFAULT_HIGH_WATER;
  private lowWater = DEFAULT_HIGH_WATER / 4;
  private protocolPaused = false;

  /** @internal Created by `createDatagramEndpoint`. */
  constructor(
    private readonly loop: EventLoop,
    socket: dgram.Socket,
    protocol: DatagramProtocol,
    options: TransportSetup,
  ) {
    this.socket = socket;
    this.protocol = protocol;
    this.defaultAddress = options.defaultAddress;
    this.givenRemote = options.givenRemote;
    this.connected = options.connected;
    this.extra = { socket: this.socket, sockname: this.readSockname(), peername: this.readPeername() };
    this.releaseCloseHook = loop._onClose(() => this.onLoopClosed());
    this.socket.on('message', (data: Buffer, rinfo: dgram.RemoteInfo) => this.schedule(this.deliver, data, rinfo));
    this.socket.on('error', (error: Error) => this.schedule(this.deliverError, error));
    loop.callSoon(() => this.protocol.connectionMade(this));
    for (const event of options.early) {
      if ('error' in event) this.schedule(this.deliverError, event.error);
      else this.schedule(this.deliver, event.data, event.rinfo);
    }
  }

  // ---- sending ---------------------------------------------------------------

  /**
   * Sends one datagram to `addr`, or to the remoteAddr when the endpoint has
   * one (then `addr` must be omitted or equal to it: ValueError otherwise).
   * Never blocks. Throws RuntimeError once the transport is closing.
   */
  sendto(data: Buffer | Uint8Array | string, addr?: SockAddr | null): void {
    const payload = toBuffer(data);
    const target = this.targetOf(addr);
    if (this.closing) throw new RuntimeError('sendto() on a closed datagram transport');
    const size = payload.length + HEADER_SIZE;
    this.bufferSize += size;
    this.sendsInFlight++;
    const onSent = (error: Error | null): void => this.schedule(this.sendDone, size, error);
    try {
      taskContext.exit(() => {
        if (this.connected) this.socket.send(payload, onSent);
        else this.socket.send(payload, target[1], nodeHost(target), onSent);
      });
    } catch (err) {
      this.bufferSize -= size;
      this.sendsInFlight--;
      throw err;
    }
    this.maybePauseProtocol();
  }

  private targetOf(addr: SockAddr | null | undefined): SockAddr {
    if (this.defaultAddress === null) {
      if (addr === undefined || addr === null) {
        throw new TypeError('sendto(): addr is required, this endpoint has no remoteAddr');
      }
      return checkTargetAddress(addr);
    }
    if (addr === undefined || addr === null) return this.defaultAddress;
    const sameAs = (other: SockAddr | null): boolean => other !== null && addr[0] === other[0] && addr[1] === other[1];
    if (!sameAs(this.defaultAddress) && !sameAs(this.givenRemote)) {
      throw new ValueError(`Invalid address: must be null or ${formatAddress(this.defaultAddress)}`);
    }
    return this.defaultAddress;
  }

  private readonly sendDone = (size: number, error: Error | null): void => {
    this.bufferSize -= size;
    this.sendsInFlight--;
    if (this.connLost) return;
    if (error !== null) this.protocol.errorReceived(error);
    this.maybeResumeProtocol();
    if (this.closing && this.sendsInFlight === 0) {
      this.connLost = true;
      this.callConnectionLost(null);
    }
  };

  // ---- receiving -------------------------------------------------------------

  private readonly deliver = (data: Buffer, rinfo: dgram.RemoteInfo): void => {
    if (!this.closing) this.protocol.datagramReceived(data, [rinfo.address, rinfo.port]);
  };

  private readonly deliverError = (error: Error): void => {
    if (!this.closing) this.protocol.errorReceived(error);
  };

  /** Runs `fn` through the loop; dropped once the loop is closed. */
  private schedule<A extends unknown[]>(fn: (...args: A) => void, ...args: A): void {
    if (!this.loop.isClosed()) this.loop.callSoon(fn, ...args);
  }

  // ---- flow control ------------------------------------------------------------

  /** Bytes of datagrams handed to the socket and not sent yet (each plus 8 bytes of header). */
  getWriteBufferSize(): number {
    return this.bufferSize;
  }

  /** As asyncio: `high` defaults to 64 KiB (or 4 × low), `low` to high / 4; ValueError unless high >= low >= 0. */
  setWriteBufferLimits(high?: number | null, low?: number | null): void {
    const highWater = high ?? (low === undefined || low === null ? DEFAULT_HIGH_WATER : 4 * low);
    const lowWater = low ?? Math.floor(highWater / 4);
    if (!(highWater >= lowWater && lowWater >= 0)) {
      throw new ValueError(`high (${highWater}) must be >= low (${lowWater}) must be >= 0`);
    }
    this.highWater = highWater;
    this.lowWater = lowWater;
    this.maybePauseProtocol();
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return [this.lowWater, this.highWater];
  }

  private maybePauseProtocol(): void {
    if (this.bufferSize <= this.highWater || this.protocolPaused) return;
    this.protocolPaused = true;
    this.callProtocolFlowControl('pauseWriting');
  }

  private maybeResumeProtocol(): void {
    if (!this.protocolPaused || this.bufferSize > this.lowWater) return;
    this.protocolPaused = false;
    this.callProtocolFlowControl('resumeWriting');
  }

  private callProtocolFlowControl(method: 'pauseWriting' | 'resumeWriting'): void {
    try {
      this.protocol[method]();
    } catch (exception) {
      this.loop.callExceptionHandler({
        message: `protocol.${method}() failed`,
        exception,
        transport: this,
        protocol: this.protocol,
      });
    }
  }

  // ---- closing -------------------------------------------------------------

  isClosing(): boolean {
    return this.closing;
  }

  /** Stops receiving, lets sends in flight finish, then connectionLost(null). Idempotent. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.sendsInFlight > 0) return; // sendDone finishes the close
    this.connLost = true;
    this.loop.callSoon(() => this.callConnectionLost(null));
  }

  /** Closes at once, dropping sends in flight; connectionLost(null) follows. */
  abort(): void {
    this.forceClose(null);
  }

  private forceClose(error: Error | null): void {
    if (this.connLost) return;
    this.closing = true;
    this.connLost = true;
    this.loop.callSoon(() => this.callConnectionLost(error));
  }

  private callConnectionLost(error: Error | null): void {
    try {
      this.protocol.connectionLost(error);
    } finally {
      this.closeSocket();
    }
  }

  private closeSocket(): void {
    if (this.socketClosed) return;
    this.socketClosed = true;
    this.releaseCloseHook();
    // Keep an 'error' listener: Node must never see an unhandled one.
    closeQuietly(this.socket);
  }

  private onLoopClosed(): void {
    this.closing = true;
    this.connLost = true;
    this.closeSocket();
  }

  // ---- information -----------------------------------------------------------

  /**
   * 'socket' (the Node `dgram.Socket`), 'sockname' and 'peername'
   * (`[host, port]`, peername null when not connected), as when the endpoint
   * was created; `defaultValue` for other names.
   */
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return Object.hasOwn(this.extra, name) ? this.extra[name] : defaultValue;
  }

  setProtocol(protocol: unknown): void {
    this.protocol = protocol as DatagramProtocol;
  }

  getProtocol(): DatagramProtocol {
    return this.protocol;
  }

  private readSockname(): Address | null {
    try {
      const { address, port } = this.socket.address();
      return [address, port];
    } catch {
      return null;
    }
  }

  private readPeername(): Address | null {
    if (!this.connected) return null;
    try {
      const { address, port } = this.socket.remoteAddress();
      return [address, port];
    } catch {
      return null;
    }
  }

  toString(): string {
    const state = this.socketClosed ? ' closed' : this.closing ? ' closing' : '';
    const sockname = this.extra.sockname as Address | null;
    return `<DatagramSocketTransport${state}${sockname === null ? '' : ` sockname=${formatAddress(sockname)}`}>`;
  }
}
