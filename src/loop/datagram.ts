/**
 * UDP endpoints (asyncio's `loop.create_datagram_endpoint`), over
 * `node:dgram`: resolves the addresses, creates, binds and connects the
 * socket, then hands it to a `DatagramSocketTransport` (datagram-transport.ts,
 * where the transport's guarantees are stated).
 *
 * Node sockets are created outside any task's async context, so their
 * callbacks never run inside the task that happened to create them.
 */
import dgram from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { taskContext } from './context.js';
import { gaiErrorFromNode, type SockAddr } from './dns.js';
import { RuntimeError, ValueError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import type { Future } from './futures.js';
import type { DatagramProtocol } from './protocols.js';
import { AF_INET, AF_INET6, AF_UNSPEC, SOCK_DGRAM } from './socket-constants.js';
import { closeQuietly, DatagramSocketTransport, nodeHost, type Address, type EarlyEvent } from './datagram-transport.js';

export { DatagramSocketTransport, type Address } from './datagram-transport.js';

export interface DatagramEndpointOptions {
  /** Where to bind: `[host, port]` (port 0: any free port). */
  localAddr?: Address | null;
  /** The peer: the socket is connected to it and `sendto(data)` needs no address. */
  remoteAddr?: Address | null;
  /** AF_UNSPEC (default: from the addresses), AF_INET or AF_INET6. */
  family?: number;
  /** Passed to getaddrinfo with the addresses. */
  proto?: number;
  /** AI_* flags passed to getaddrinfo with the addresses. */
  flags?: number;
  /**
   * Refused when true, as asyncio refuses it since Python 3.8.1: SO_REUSEADDR
   * on UDP lets any other process bind the same port and receive its datagrams.
   * Use `reusePort`.
   */
  reuseAddress?: boolean;
  /** SO_REUSEPORT: other sockets of the same user may bind the same port (Node 22.12+). */
  reusePort?: boolean;
  /** SO_BROADCAST; with `remoteAddr` the socket is then not connected, as in asyncio. */
  allowBroadcast?: boolean;
}

/**
 * Resolves numeric hosts synchronously (so a send reaches the socket inside
 * `sendto`, in order) and names through the system resolver, reporting
 * failures as GaiErrors.
 */
function lookupForSocket(
  hostname: string,
  options: LookupOneOptions | number,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(hostname.split('%', 1)[0] as string);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  const lookupOptions: LookupOneOptions = typeof options === 'number' ? { family: options } : options;
  dnsLookup(hostname, lookupOptions, (err, address, resolvedFamily) => {
    if (err) callback(gaiErrorFromNode(err, 'getaddrinfo', hostname), '', 0);
    else callback(null, address, resolvedFamily);
  });
}

function reusePortSupported(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

/**
 * A Node socket being set up: closed if the loop closes meanwhile, keeping
 * what it receives until the transport takes it over.
 */
class SocketSetup {
  readonly socket: dgram.Socket;
  private early: EarlyEvent[] | null = [];
  private releaseCloseHook: (() => void) | null;
  private closed = false;

  constructor(
    private readonly loop: EventLoop,
    family: number,
    reusePort: boolean,
  ) {
    const options = { type: family === AF_INET6 ? 'udp6' : 'udp4', lookup: lookupForSocket, reusePort };
    // Node runs a socket's callbacks in the async context it was created in.
    this.socket = taskContext.exit(() => dgram.createSocket(options as dgram.SocketOptions));
    this.socket.on('message', this.onEarlyMessage);
    this.socket.on('error', this.onEarlyError);
    this.releaseCloseHook = loop._onClose(() => this.close());
  }

  private readonly onEarlyMessage = (data: Buffer, rinfo: dgram.RemoteInfo): void => {
    this.early?.push({ data, rinfo });
  };

  private readonly onEarlyError = (error: Error): void => {
    this.early?.push({ error });
  };

  bind(host: string, port: number): Future<void> {
    return this.waitForEvent('listening', () => this.socket.bind({ address: host, port, exclusive: true }));
  }

  connect(host: string, port: number): Future<void> {
    return this.waitForEvent('connect', () => this.socket.connect(port, host));
  }

  /** Starts `action` and waits for `event` or 'error', whichever comes first. */
  private waitForEvent(event: 'listening' | 'connect', action: () => void): Future<void> {
    const future = this.loop.createFuture<void>();
    const settle = (error: Error | null): void => {
      this.socket.removeListener(event, onEvent);
      this.socket.removeListener('error', onError);
      if (future.done() || this.loop.isClosed()) return;
      if (error === null) future.setResult(undefined);
      else future.setException(error);
    };
    const onEvent = (): void => settle(null);
    const onError = (error: Error): void => settle(error);
    this.socket.once(event, onEvent);
    this.socket.once('error', onError);
    try {
      taskContext.exit(action);
    } catch (err) {
      settle(err as Error);
    }
    return future;
  }

  /** Gives the socket to a transport, which takes over closing it: returns the events received so far. */
  handOver(): EarlyEvent[] {
    this.socket.removeListener('message', this.onEarlyMessage);
    this.socket.removeListener('error', this.onEarlyError);
    this.releaseCloseHook?.();
    this.releaseCloseHook = null;
    const early = this.early ?? [];
    this.early = null;
    return early;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseCloseHook?.();
    this.releaseCloseHook = null;
    this.early = null;
    closeQuietly(this.socket);
  }
}

// ---- createDatagramEndpoint ----------------------------------------------------

interface EndpointCandidate {
  family: number;
  local: SockAddr | null;
  remote: SockAddr | null;
}

function checkAddressOption(addr: unknown, name: string): SockAddr | null {
  if (addr === undefined || addr === null) return null;
  if (!Array.isArray(addr) || addr.length !== 2 || typeof addr[0] !== 'string' || typeof addr[1] !== 'number') {
    throw new TypeError(`createDatagramEndpoint(): ${name} must be [host, port], got ${JSON.stringify(addr)}`);
  }
  return addr as SockAddr;
}

function checkEndpointOptions(options: DatagramEndpointOptions): void {
  if (options.reuseAddress) {
    throw new ValueError(
      'Passing reuseAddress: true is no longer supported, as the usage of SO_REUSEADDR in UDP poses a ' +
        'significant security concern (any process may then receive the datagrams). Use reusePort.',
    );
  }
  if (options.reusePort && !reusePortSupported()) {
    throw new ValueError(`reusePort is not supported: dgram sockets set SO_REUSEPORT from Node 22.12, this is ${process.version}`);
  }
}

/** asyncio's address pairing: one candidate per (family) found for every address given. */
async function resolveCandidates(loop: EventLoop, options: DatagramEndpointOptions): Promise<EndpointCandidate[]> {
  const local = checkAddressOption(options.localAddr, 'localAddr');
  const remote = checkAddressOption(options.remoteAddr, 'remoteAddr');
  const family = options.family ?? AF_UNSPEC;
  if (local === null && remote === null) {
    if (family !== AF_INET && family !== AF_INET6) throw new ValueError('unexpected address family');
    return [{ family, local: null, remote: null }];
  }
  const byFamily = new Map<number, [SockAddr | null, SockAddr | null]>();
  for (const [index, addr] of [local, remote].entries()) {
    if (addr === null) continue;
    const infos = await loop.getaddrinfo(addr[0], addr[1], {
      family,
      type: SOCK_DGRAM,
      proto: options.proto ?? 0,
      flags: options.flags ?? 0,
    });
    for (const [infoFamily, , , , sockaddr] of infos) {
      const pair = byFamily.get(infoFamily) ?? [null, null];
      pair[index] ??= sockaddr;
      byFamily.set(infoFamily, pair);
    }
  }
  const candidates = [...byFamily]
    .filter(([, pair]) => !((local !== null && pair[0] === null) || (remote !== null && pair[1] === null)))
    .map(([infoFamily, pair]) => ({ family: infoFamily, local: pair[0], remote: pair[1] }));
  if (candidates.length === 0) throw new ValueError('can not get address information');
  return candidates;
}

/** Creates, binds and connects one socket; closes it again on any failure. */
async function openSocket(
  loop: EventLoop,
  candidate: EndpointCandidate,
  options: DatagramEndpointOptions,
): Promise<SocketSetup> {
  const { local, remote } = candidate;
  const setup = new SocketSetup(loop, candidate.family, Boolean(options.reusePort));
  try {
    // Bound explicitly unless connect() binds it (Node does); SO_BROADCAST needs a bound socket.
    if (local !== null || remote === null || options.allowBroadcast) {
      const wildcard = candidate.family === AF_INET6 ? '::' : '0.0.0.0';
      await setup.bind(local === null ? wildcard : nodeHost(local), local === null ? 0 : local[1]);
    }
    if (options.allowBroadcast) taskContext.exit(() => setup.socket.setBroadcast(true));
    if (remote !== null && !options.allowBroadcast) {
      await setup.connect(nodeHost(remote), remote[1]);
    }
    return setup;
  } catch (err) {
    setup.close();
    throw err;
  }
}

function isSystemError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * Creates a UDP endpoint (asyncio's `loop.create_datagram_endpoint`) and
 * returns `[transport, protocol]` once `protocol.connectionMade` has run.
 * Addresses are resolved with `loop.getaddrinfo`; each family found for all
 * given addresses is tried in turn and the first OS error is raised if none
 * works. Without addresses, `family` is required and the socket is bound to
 * the wildcard address on a free port.
 */
export async function createDatagramEndpoint<P extends DatagramProtocol>(
  loop: EventLoop,
  protocolFactory: () => P,
  options: DatagramEndpointOptions = {},
): Promise<[DatagramSocketTransport, P]> {
  if (loop.isClosed()) throw new RuntimeError('Event loop is closed');
  if (typeof protocolFactory !== 'function') {
    throw new TypeError(`createDatagramEndpoint(): protocolFactory must be a function, got ${typeof protocolFactory}`);
  }
  checkEndpointOptions(options);
  const errors: unknown[] = [];
  for (const candidate of await resolveCandidates(loop, options)) {
    let setup: SocketSetup;
    try {
      setup = await openSocket(loop, candidate, options);
    } catch (err) {
      if (!isSystemError(err)) throw err;
      errors.push(err);
      continue;
    }
    return startTransport(loop, setup, protocolFactory, candidate, options);
  }
  throw errors[0];
}

async function startTransport<P extends DatagramProtocol>(
  loop: EventLoop,
  setup: SocketSetup,
  protocolFactory: () => P,
  candidate: EndpointCandidate,
  options: DatagramEndpointOptions,
): Promise<[DatagramSocketTransport, P]> {
  let protocol: P;
  try {
    protocol = protocolFactory();
  } catch (err) {
    setup.close();
    throw err;
  }
  const transport = new DatagramSocketTransport(loop, setup.socket, protocol, {
    defaultAddress: candidate.remote,
    givenRemote: checkAddressOption(options.remoteAddr, 'remoteAddr'),
    connected: candidate.remote !== null && !options.allowBroadcast,
    early: setup.handOver(),
  });
  // Resolves after connectionMade, which the transport scheduled first.
  const waiter = loop.createFuture<void>();
  loop.callSoon(() => {
    if (!waiter.done()) waiter.setResult(undefined);
  });
  try {
    await waiter;
  } catch (err) {
    transport.close();
    throw err;
  }
  return [transport, protocol];
}
