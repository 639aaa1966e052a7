/**
 * Socket constants with their Linux values, as Python's `socket` module
 * exports them, so code ported from asyncio or eventlet can pass the same
 * numbers to `getaddrinfo`, `getnameinfo` and `createDatagramEndpoint` and
 * read the same numbers back from their results.
 *
 * Node exposes no socket constants of its own; these are plain numbers, never
 * passed to the kernel by greenloop (Node's dgram/net/dns APIs take strings
 * and options), so they are correct wherever greenloop runs.
 */

// ---- address families ------------------------------------------------------
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;

// ---- socket types ----------------------------------------------------------
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;

// ---- protocols -------------------------------------------------------------
export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_RAW = 255;

// ---- socket options --------------------------------------------------------
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_BROADCAST = 6;
export const SO_REUSEPORT = 15;

// ---- getaddrinfo flags -----------------------------------------------------
/** With a null host: the wildcard address (for bind) instead of loopback. */
export const AI_PASSIVE = 0x1;
/** Fill in the canonical name of the host in the first result. */
export const AI_CANONNAME = 0x2;
/** The host must be a numeric address; no name lookup. */
export const AI_NUMERICHOST = 0x4;
/** With AF_INET6: return IPv4 addresses as IPv4-mapped IPv6 addresses. */
export const AI_V4MAPPED = 0x8;
/** With AI_V4MAPPED: return IPv6 and IPv4-mapped addresses. */
export const AI_ALL = 0x10;
/** Only families for which the host has a configured address. */
export const AI_ADDRCONFIG = 0x20;
/** The port must be numeric; no service name lookup. */
export const AI_NUMERICSERV = 0x400;

// ---- getnameinfo flags -----------------------------------------------------
/** Return the numeric host instead of its name. */
export const NI_NUMERICHOST = 0x1;
/** Return the numeric port instead of its service name. */
export const NI_NUMERICSERV = 0x2;
/** Return only the host part of local names (no domain). */
export const NI_NOFQDN = 0x4;
/** Fail when the host has no name, instead of returning the numeric host. */
export const NI_NAMEREQD = 0x8;
/** The service is a datagram (UDP) service. */
export const NI_DGRAM = 0x10;
export const NI_MAXHOST = 1025;
export const NI_MAXSERV = 32;

// ---- getaddrinfo/getnameinfo error numbers (GaiError.errno) ---------------
export const EAI_BADFLAGS = -1;
export const EAI_NONAME = -2;
export const EAI_AGAIN = -3;
export const EAI_FAIL = -4;
export const EAI_NODATA = -5;
export const EAI_FAMILY = -6;
export const EAI_SOCKTYPE = -7;
export const EAI_SERVICE = -8;
export const EAI_ADDRFAMILY = -9;
export const EAI_MEMORY = -10;
export const EAI_SYSTEM = -11;
export const EAI_OVERFLOW = -12;
