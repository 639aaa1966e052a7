/**
 * Name resolution on the loop (asyncio's `loop.getaddrinfo` and
 * `loop.getnameinfo`), with results shaped as Python's `socket` module gives
 * them, so code ported from asyncio reads them the same way.
 *
 * Guarantees:
 * - Host names go to the system resolver (`dns.lookup`, i.e. getaddrinfo(3)
 *   on libuv's thread pool), so /etc/hosts and nsswitch are honoured, and
 *   the loop never blocks. Numeric hosts are never looked up.
 * - Results follow glibc's getaddrinfo(3): one entry per address and socket
 *   type; with `type` 0 that is SOCK_STREAM/IPPROTO_TCP, SOCK_DGRAM/IPPROTO_UDP
 *   and SOCK_RAW/0 for a numeric or absent port, and the protocols a service
 *   name is registered for (/etc/services) for a named port.
 * - Resolution errors are `GaiError`s (Node's `code`, Python's EAI_* `errno`);
 *   arguments of the wrong type are TypeErrors and out-of-range ports
 *   ValueErrors, all delivered through the returned Future. Only a closed
 *   loop throws at once (RuntimeError).
 *
 * Approximations (Node exposes neither): the canonical name (AI_CANONNAME) is
 * the host as given, which is what glibc returns for names without a CNAME;
 * NI_NOFQDN strips the domain when it is the local host's own.
 */
import { lookup, lookupService, ADDRCONFIG, ALL, V4MAPPED, type LookupAddress } from 'node:dns';
import { readFile } from 'node:fs/promises';
import { isIP, SocketAddress } from 'node:net';
import { hostname as localHostname } from 'node:os';
import { GaiError, RuntimeError, ValueError } from './errors.js';
import type { EventLoop } from './event-loop.js';
import { futureFromPromise, type Future } from './futures.js';
import { loadServices, type ServiceProtocol } from './services.js';
import * as C from './socket-constants.js';

/** An address as Python gives it: [host, port], or [host, port, flowinfo, scopeid] for IPv6. */
export type SockAddr = [host: string, port: number] | [host: string, port: number, flowinfo: number, scopeid: number];

/** One getaddrinfo result: what `socket(family, type, proto)` and `connect(sockaddr)` need. */
export type AddrInfo = [family: number, type: number, proto: number, canonname: string, sockaddr: SockAddr];

/** A port: a number, a numeric string, a service name ('http'), or null for none. */
export type PortSpec = number | string | null | undefined;

export interface GetaddrinfoOptions {
  /** AF_UNSPEC (default), AF_INET or AF_INET6. */
  family?: number;
  /** 0 (every type, default), SOCK_STREAM, SOCK_DGRAM or SOCK_RAW. */
  type?: number;
  /** 0 (default), IPPROTO_TCP or IPPROTO_UDP. */
  proto?: number;
  /** AI_* flags or'ed together. */
  flags?: number;
}

const KNOWN_AI_FLAGS =
  C.AI_PASSIVE | C.AI_CANONNAME | C.AI_NUMERICHOST | C.AI_V4MAPPED | C.AI_ALL | C.AI_ADDRCONFIG | C.AI_NUMERICSERV;
const KNOWN_NI_FLAGS = C.NI_NUMERICHOST | C.NI_NUMERICSERV | C.NI_NOFQDN | C.NI_NAMEREQD | C.NI_DGRAM;

/** gai_strerror(3) texts and Node's codes for each EAI_* number. */
const GAI_ERRORS: Record<number, [code: string, text: string]> = {
  [C.EAI_BADFLAGS]: ['EAI_BADFLAGS', 'Bad value for ai_flags'],
  [C.EAI_NONAME]: ['ENOTFOUND', 'Name or service not known'],
  [C.EAI_AGAIN]: ['EAI_AGAIN', 'Temporary failure in name resolution'],
  [C.EAI_FAIL]: ['EAI_FAIL', 'Non-recoverable failure in name resolution'],
  [C.EAI_NODATA]: ['ENODATA', 'No address associated with hostname'],
  [C.EAI_FAMILY]: ['EAI_FAMILY', 'ai_family not supported'],
  [C.EAI_SOCKTYPE]: ['EAI_SOCKTYPE', 'ai_socktype not supported'],
  [C.EAI_SERVICE]: ['EAI_SERVICE', 'Servname not supported for ai_socktype'],
  [C.EAI_ADDRFAMILY]: ['EAI_ADDRFAMILY', 'Address family for hostname not supported'],
  [C.EAI_MEMORY]: ['EAI_MEMORY', 'Memory allocation failure'],
  [C.EAI_SYSTEM]: ['EAI_SYSTEM', 'System error'],
  [C.EAI_OVERFLOW]: ['EAI_OVERFLOW', 'Argument buffer overflow'],
};

function gaiError(errno: number, syscall: string, subject: string, cause?: unknown): GaiError {
  const [code, text] = GAI_ERRORS[errno] ?? GAI_ERRORS[C.EAI_SYSTEM]!;
  return new GaiError(`${syscall} ${code} ${subject}: ${text}`, { code, errno, syscall, hostname: subject, cause });
}

/** @internal Turns an error of Node's dns module into a GaiError with the matching EAI_* number. */
export function gaiErrorFromNode(err: NodeJS.ErrnoException, syscall: string, subject: string): GaiError {
  const code = err.code ?? '';
  const entry = Object.entries(GAI_ERRORS).find(([, [name]]) => name === code);
  return gaiError(entry === undefined ? C.EAI_SYSTEM : Number(entry[0]), syscall, subject, err);
}

// ---- socket kinds and ports ----------------------------------------------

interface SocketKind {
  type: number;
  proto: number;
  /** The services-database protocol, or null for raw sockets (no ports). */
  protocol: ServiceProtocol | null;
}

const SOCKET_KINDS: readonly SocketKind[] = [
  { type: C.SOCK_STREAM, proto: C.IPPROTO_TCP, protocol: 'tcp' },
  { type: C.SOCK_DGRAM, proto: C.IPPROTO_UDP, protocol: 'udp' },
  { type: C.SOCK_RAW, proto: C.IPPROTO_IP, protocol: null },
];

type ParsedPort = { kind: 'none' } | { kind: 'number'; port: number } | { kind: 'name'; name: string };

function checkPortNumber(port: number, where: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ValueError(`${where}: port must be an integer in 0..65535, got ${String(port)}`);
  }
  return port;
}

function parsePort(port: PortSpec): ParsedPort {
  if (port === null || port === undefined) return { kind: 'none' };
  if (typeof port === 'number') return { kind: 'number', port: checkPortNumber(port, 'getaddrinfo()') };
  if (typeof port !== 'string') {
    throw new TypeError(`getaddrinfo(): port must be a number, a string or null, got ${typeof port}`);
  }
  const text = port.trim();
  if (/^\d+$/.test(text)) return { kind: 'number', port: checkPortNumber(Number(text), 'getaddrinfo()') };
  return { kind: 'name', name: port };
}

interface ResolvedKind extends SocketKind {
  port: number;
}

/** Which socket kinds, with which port, the query asks for (glibc's rules). */
async function resolveKinds(port: ParsedPort, type: number, proto: number, flags: number, subject: string) {
  let kinds = SOCKET_KINDS.filter((kind) => type === 0 || kind.type === type);
  if (kinds.length === 0) throw gaiError(C.EAI_SOCKTYPE, 'getaddrinfo', subject);
  if (proto !== 0 && type !== C.SOCK_RAW) {
    kinds = kinds.filter((kind) => kind.proto === proto);
    if (kinds.length === 0) throw gaiError(type === 0 ? C.EAI_SERVICE : C.EAI_SOCKTYPE, 'getaddrinfo', subject);
  }
  const withProto = (kind: SocketKind, portNumber: number): ResolvedKind => ({
    ...kind,
    proto: kind.type === C.SOCK_RAW ? proto : kind.proto,
    port: portNumber,
  });
  if (port.kind === 'none') return kinds.map((kind) => withProto(kind, 0));
  // A raw socket has no ports: asking for one by type is an error, type 0 keeps it.
  if (type === C.SOCK_RAW) throw gaiError(C.EAI_SERVICE, 'getaddrinfo', subject);
  if (port.kind === 'number') return kinds.map((kind) => withProto(kind, port.port));
  if ((flags & C.AI_NUMERICSERV) !== 0) throw gaiError(C.EAI_NONAME, 'getaddrinfo', subject);
  const services = await loadServices();
  const resolved: ResolvedKind[] = [];
  for (const kind of kinds) {
    const number = kind.protocol === null ? undefined : services.port(port.name, kind.protocol);
    if (number !== undefined) resolved.push(withProto(kind, number));
  }
  if (resolved.length === 0) throw gaiError(C.EAI_SERVICE, 'getaddrinfo', subject);
  return resolved;
}

// ---- hosts ---------------------------------------------------------------

interface HostAddress {
  family: number;
  address: string;
  scopeid: number;
}

/** The interface index a zone names ('%lo' or '%1'), as getaddrinfo fills in scope_id. */
async function zoneToScopeId(zone: string, subject: string): Promise<number> {
  if (/^\d+$/.test(zone)) return Number(zone);
  if (/^[A-Za-z0-9_][\w.:-]*$/.test(zone)) {
    try {
      return Number((await readFile(`/sys/class/net/${zone}/ifindex`, 'utf8')).trim());
    } catch {
      // fall through: no such interface
    }
  }
  throw gaiError(C.EAI_NONAME, 'getaddrinfo', subject);
}

/** A numeric host as getaddrinfo(AI_NUMERICHOST) reads it, or null if it is a name. */
async function parseNumericHost(host: string): Promise<HostAddress | null> {
  const [address, zone] = host.split('%', 2) as [string, string | undefined];
  const version = isIP(address);
  if (version === 0 || (version === 4 && zone !== undefined)) return null;
  const family = version === 4 ? C.AF_INET : C.AF_INET6;
  const normalized = new SocketAddress({ address, family: version === 4 ? 'ipv4' : 'ipv6' }).address;
  const scopeid = zone === undefined || version === 4 ? 0 : await zoneToScopeId(zone, host);
  return { family, address: normalized, scopeid };
}

/** Applies the requested family to a numeric address, as glibc does. */
function fitFamily(host: HostAddress, family: number, flags: number, subject: string): HostAddress {
  if (family === C.AF_UNSPEC || family === host.family) return host;
  if (family === C.AF_INET6 && (flags & C.AI_V4MAPPED) !== 0) {
    return { family, address: `::ffff:${host.address}`, scopeid: 0 };
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host.address);
  if (family === C.AF_INET && mapped !== null) return { family, address: mapped[1] as string, scopeid: 0 };
  throw gaiError(C.EAI_ADDRFAMILY, 'getaddrinfo', subject);
}

function defaultHosts(family: number, flags: number): HostAddress[] {
  const passive = (flags & C.AI_PASSIVE) !== 0;
  const v4 = { family: C.AF_INET, address: passive ? '0.0.0.0' : '127.0.0.1', scopeid: 0 };
  const v6 = { family: C.AF_INET6, address: passive ? '::' : '::1', scopeid: 0 };
  // glibc's order: IPv4 first for the wildcard, IPv6 first for loopback.
  return (passive ? [v4, v6] : [v6, v4]).filter((h) => family === C.AF_UNSPEC || h.family === family);
}

function lookupAll(host: string, family: number, flags: number): Promise<LookupAddress[]> {
  let hints = 0;
  if ((flags & C.AI_ADDRCONFIG) !== 0) hints |= ADDRCONFIG;
  if ((flags & C.AI_V4MAPPED) !== 0) hints |= V4MAPPED;
  if ((flags & C.AI_ALL) !== 0) hints |= ALL;
  const nodeFamily = family === C.AF_INET ? 4 : family === C.AF_INET6 ? 6 : 0;
  return new Promise((resolve, reject) => {
    lookup(host, { all: true, family: nodeFamily, hints, verbatim: true }, (err, addresses) => {
      if (err) reject(gaiErrorFromNode(err, 'getaddrinfo', host));
      else resolve(addresses);
    });
  });
}

async function resolveHost(host: string | null, family: number, flags: number): Promise<HostAddress[]> {
  if (host === null) return defaultHosts(family, flags);
  if (host === '') throw gaiError(C.EAI_NONAME, 'getaddrinfo', host);
  const numeric = await parseNumericHost(host);
  if (numeric !== null) return [fitFamily(numeric, family, flags, host)];
  if ((flags & C.AI_NUMERICHOST) !== 0) throw gaiError(C.EAI_NONAME, 'getaddrinfo', host);
  const found: HostAddress[] = [];
  for (const entry of await lookupAll(host, family, flags)) {
    const parsed = await parseNumericHost(entry.address);
    if (parsed !== null) found.push(parsed);
  }
  if (found.length === 0) throw gaiError(C.EAI_NONAME, 'getaddrinfo', host);
  return found;
}

// ---- getaddrinfo ---------------------------------------------------------

function checkInteger(value: unknown, name: string, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${where}: ${name} must be an integer, got ${typeof value === 'number' ? value : typeof value}`);
  }
  return value;
}

function toSockAddr(host: HostAddress, port: number): SockAddr {
  return host.family === C.AF_INET6 ? [host.address, port, 0, host.scopeid] : [host.address, port];
}

/** getaddrinfo(3) as a promise; see `getaddrinfo` for the contract. */
export async function resolveAddrInfo(
  host: string | null | undefined,
  port: PortSpec,
  options: GetaddrinfoOptions = {},
): Promise<AddrInfo[]> {
  if (host !== null && host !== undefined && typeof host !== 'string') {
    throw new TypeError(`getaddrinfo(): host must be a string or null, got ${typeof host}`);
  }
  const family = checkInteger(options.family ?? C.AF_UNSPEC, 'family', 'getaddrinfo()');
  const type = checkInteger(options.type ?? 0, 'type', 'getaddrinfo()');
  const proto = checkInteger(options.proto ?? 0, 'proto', 'getaddrinfo()');
  const flags = checkInteger(options.flags ?? 0, 'flags', 'getaddrinfo()');
  const hostOrNull = host ?? null;
  const subject = hostOrNull ?? String(port);
  const parsedPort = parsePort(port);
  if ((flags & ~KNOWN_AI_FLAGS) !== 0 || ((flags & C.AI_CANONNAME) !== 0 && hostOrNull === null)) {
    throw gaiError(C.EAI_BADFLAGS, 'getaddrinfo', subject);
  }
  if (family !== C.AF_UNSPEC && family !== C.AF_INET && family !== C.AF_INET6) {
    throw gaiError(C.EAI_FAMILY, 'getaddrinfo', subject);
  }
  if (hostOrNull === null && parsedPort.kind === 'none') throw gaiError(C.EAI_NONAME, 'getaddrinfo', subject);
  const kinds = await resolveKinds(parsedPort, type, proto, flags, subject);
  const hosts = await resolveHost(hostOrNull, family, flags);
  const results: AddrInfo[] = [];
  for (const hostAddress of hosts) {
    for (const kind of kinds) {
      const canonname = results.length === 0 && (flags & C.AI_CANONNAME) !== 0 ? (hostOrNull as string) : '';
      results.push([hostAddress.family, kind.type, kind.proto, canonname, toSockAddr(hostAddress, kind.port)]);
    }
  }
  return results;
}

/**
 * Resolves `host` and `port` (asyncio's `loop.getaddrinfo`): a Future of
 * `[family, type, proto, canonname, sockaddr]` entries, sockaddr being
 * `[address, port]` for IPv4 and `[address, port, flowinfo, scopeid]` for IPv6.
 * `host` null means loopback (the wildcard with AI_PASSIVE); `port` may be a
 * number, a numeric string, a service name or null.
 */
export function getaddrinfo(
  loop: EventLoop,
  host: string | null | undefined,
  port: PortSpec,
  options: GetaddrinfoOptions = {},
): Future<AddrInfo[]> {
  if (loop.isClosed()) throw new RuntimeError('Event loop is closed');
  return futureFromPromise(resolveAddrInfo(host, port, options), loop);
}

// ---- getnameinfo ---------------------------------------------------------

function parseSockAddr(sockaddr: unknown): { host: string; port: number; scopeid: number } {
  const shapeError = new TypeError('getnameinfo(): sockaddr must be [host, port] or [host, port, flowinfo, scopeid]');
  if (!Array.isArray(sockaddr) || (sockaddr.length !== 2 && sockaddr.length !== 4)) throw shapeError;
  const [host, port, flowinfo = 0, scopeid = 0] = sockaddr as unknown[];
  if (typeof host !== 'string' || typeof port !== 'number') throw shapeError;
  if (!Number.isInteger(flowinfo) || !Number.isInteger(scopeid)) throw shapeError;
  checkPortNumber(port, 'getnameinfo()');
  return { host, port, scopeid: scopeid as number };
}

function lookupHostName(address: string, port: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    lookupService(address, port, (err, hostname) => {
      if (err === null) resolve(hostname);
      else if (err.code === 'ENOTFOUND') resolve(null);
      else reject(gaiErrorFromNode(err, 'getnameinfo', address));
    });
  });
}

/** NI_NOFQDN: the first label of a name in the local host's own domain. */
function withoutLocalDomain(name: string): string {
  const localDomain = localHostname().split('.').slice(1).join('.');
  const dot = name.indexOf('.');
  return dot > 0 && localDomain !== '' && name.slice(dot + 1) === localDomain ? name.slice(0, dot) : name;
}

async function hostNameOf(address: HostAddress, port: number, flags: number, subject: string): Promise<string> {
  if ((flags & C.NI_NUMERICHOST) !== 0) return address.address;
  const target = address.scopeid !== 0 ? `${address.address}%${address.scopeid}` : address.address;
  const name = await lookupHostName(target, port);
  if (name === null) {
    if ((flags & C.NI_NAMEREQD) !== 0) throw gaiError(C.EAI_NONAME, 'getnameinfo', subject);
    return address.address;
  }
  return (flags & C.NI_NOFQDN) !== 0 ? withoutLocalDomain(name) : name;
}

async function serviceNameOf(port: number, flags: number): Promise<string> {
  if ((flags & C.NI_NUMERICSERV) !== 0) return String(port);
  const services = await loadServices();
  return services.name(port, (flags & C.NI_DGRAM) !== 0 ? 'udp' : 'tcp') ?? String(port);
}

/** getnameinfo(3) as a promise; see `getnameinfo` for the contract. */
export async function resolveNameInfo(sockaddr: SockAddr, flags = 0): Promise<[host: string, service: string]> {
  const { host, port, scopeid } = parseSockAddr(sockaddr);
  checkInteger(flags, 'flags', 'getnameinfo()');
  if ((flags & ~KNOWN_NI_FLAGS) !== 0) throw gaiError(C.EAI_BADFLAGS, 'getnameinfo', host);
  const address = await parseNumericHost(host);
  if (address === null) throw gaiError(C.EAI_NONAME, 'getnameinfo', host);
  if (address.family === C.AF_INET && sockaddr.length === 4) {
    throw new TypeError(`getnameinfo(): an IPv4 sockaddr must be [host, port], got ${sockaddr.length} items`);
  }
  if (scopeid !== 0) address.scopeid = scopeid;
  return [await hostNameOf(address, port, flags, host), await serviceNameOf(port, flags)];
}

/**
 * The host and service names of a numeric address (asyncio's
 * `loop.getnameinfo`): a Future of `[host, service]`. NI_NUMERICHOST and
 * NI_NUMERICSERV keep the numbers; without NI_NAMEREQD an address with no name
 * gives its numeric form; NI_DGRAM names UDP services.
 */
export function getnameinfo(loop: EventLoop, sockaddr: SockAddr, flags = 0): Future<[host: string, service: string]> {
  if (loop.isClosed()) throw new RuntimeError('Event loop is closed');
  return futureFromPromise(resolveNameInfo(sockaddr, flags), loop);
}
