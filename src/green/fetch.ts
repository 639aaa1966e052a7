/**
 * Green `fetch` (eventlet's `eventlet.green.urllib.request.urlopen`, in the
 * shape of the WHATWG fetch JavaScript code already knows): the request runs
 * on the hub with Node's global `fetch`, the green thread blocks for the
 * response head, and the body's methods block too.
 *
 *     import { fetch } from 'greenloop/green';
 *     const res = fetch('http://127.0.0.1:8080/', { timeout: 5 });
 *     if (res.ok) console.log(res.text());   // blocks this green thread only
 *
 * Guarantees:
 * - every blocking call (`fetch`, `text`, `json`, `arrayBuffer`, `bytes`,
 *   `read`, `read1`) is interrupted by `kill()` and by a green `Timeout`;
 *   `init.timeout` (seconds) bounds each of them with SocketTimeout, as
 *   Python's `urlopen(url, timeout=...)` bounds each socket operation;
 * - a request interrupted before its response arrives is aborted; a read
 *   interrupted in the body loses no byte (the next read gets it);
 * - failures to get a response, and a body that breaks off, raise
 *   FetchError with the network error as `cause` and its `code`; HTTP error
 *   statuses are responses (`ok` false), as with fetch;
 * - the body lives on the hub until it is read to the end, `close()`d
 *   (`using res = fetch(url)` closes it at the end of the block), or the
 *   green thread that fetched it ends: whichever comes first releases it
 *   and aborts the request. A Response dropped unread holds its
 *   connection until then (a green thread's body runs as one job, in
 *   which the garbage collector clears no weak reference).
 *
 * A Response belongs to the green thread that fetched it: read it there
 * and pass the data, not the Response, to other threads (it refuses to
 * cross, with a TypeError).
 */
import { ValueError } from '../loop/errors.js';
import { blockingOnHub, callHub, checkBridge, inGreenWorker, registerValueCodec, sendHub } from './runtime/index.js';
import type { ResponseHead, WireInit } from './fetch-hub.js';
import './fetch-hub.js';

export { FetchError } from './fetch-errors.js';

const MODULE = import.meta.url;

/** Request headers, as the global fetch takes them: a Headers, [name, value] pairs, or a record. */
export type FetchHeaders = ConstructorParameters<typeof Headers>[0];

/** What green `fetch` sends as a body: bytes, text, or form fields. */
export type FetchBody = string | Uint8Array | ArrayBuffer | URLSearchParams;

/** The options of green `fetch`: fetch's own that can cross to the hub, and `timeout`. */
export interface FetchInit {
  /** 'GET' by default. */
  readonly method?: string;
  readonly headers?: FetchHeaders;
  readonly body?: FetchBody | null;
  readonly redirect?: 'follow' | 'error' | 'manual';
  /**
   * Seconds each blocking call may take (waiting for the response, each
   * body read) before SocketTimeout; null (default): no limit.
   */
  readonly timeout?: number | null;
}

/** A response whose body methods block the green thread (see the module documentation). */
export class Response {
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  readonly redirected: boolean;
  readonly type: string;
  readonly headers: Headers;
  private body: number;
  private used = false;
  private streamed = false;

  /** @internal Made by `fetch` from the head the hub sent. */
  constructor(
    head: ResponseHead,
    private readonly timeout: number | null,
  ) {
    this.status = head.status;
    this.statusText = head.statusText;
    this.url = head.url;
    this.redirected = head.redirected;
    this.type = head.type;
    this.headers = new Headers(head.headers);
    this.body = head.body;
  }

  /** Whether the status is 200-299. */
  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  /** Whether a body method or a read has taken (some of) the body. */
  get bodyUsed(): boolean {
    return this.used;
  }

  /** The whole body as text (UTF-8). */
  text(): string {
    return this.all('text').toString('utf8');
  }

  /** The whole body parsed as JSON (SyntaxError if it is not). */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /** The whole body as an ArrayBuffer of its own. */
  arrayBuffer(): ArrayBuffer {
    const data = this.all('arrayBuffer');
    return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  }

  /** The whole body as a Buffer. */
  bytes(): Buffer {
    return this.all('bytes');
  }

  /**
   * Reads `n` bytes of the body, fewer only at its end (Python's
   * `HTTPResponse.read(n)`); `read()` reads the rest. An empty Buffer
   * once the body is exhausted.
   */
  read(n = -1): Buffer {
    checkCount(n, 'read');
    if (n === 0) return Buffer.alloc(0);
    return this.stream(n, true, 'read');
  }

  /** Reads what has arrived, up to `n` bytes (at least 1 before the end): Python's `read1`. */
  read1(n = 65536): Buffer {
    checkCount(n, 'read1');
    if (n < 1) throw new ValueError(`read1: n must be at least 1, got ${n}`);
    return this.stream(n, false, 'read1');
  }

  /** The body's chunks as they arrive: `for (const chunk of response)`. */
  *[Symbol.iterator](): Generator<Buffer, void, undefined> {
    for (let chunk = this.read1(); chunk.length > 0; chunk = this.read1()) yield chunk;
  }

  /** Releases the body unread and aborts the request; later reads get an empty Buffer. */
  close(): void {
    const id = this.body;
    if (id === 0) return;
    this.body = 0;
    sendHub('fetch.close', [id], MODULE);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private all(method: string): Buffer {
    if (this.used) throw new TypeError(`Response.${method}(): Body is unusable: Body has already been read`);
    this.used = true;
    return this.fetchBody(-1, true, method);
  }

  private stream(n: number, exact: boolean, method: string): Buffer {
    if (this.used && !this.streamed) throw new TypeError(`Response.${method}(): Body is unusable: Body has already been read`);
    this.used = this.streamed = true;
    return this.fetchBody(n, exact, method);
  }

  private fetchBody(n: number, exact: boolean, method: string): Buffer {
    const id = this.body;
    if (id === 0) return Buffer.alloc(0);
    if (!inGreenWorker()) throw blockingOnHub(`Response.${method}()`, 'use the global fetch() and await its body');
    const data = callHub<Buffer>('fetch.read', [id, n, exact, this.timeout], { module: MODULE });
    if (n < 0 || data.length === 0) this.body = 0;
    return data;
  }

  toString(): string {
    return `<Response ${this.status} ${this.url}>`;
  }
}

registerValueCodec<Response>({
  tag: 'fetch.response',
  matches: (value): value is Response => value instanceof Response,
  encode: (response) => {
    throw new TypeError(
      `${String(response)} cannot cross to another thread: its body belongs to the green thread that fetched it; ` +
        'read it there (text(), bytes()...) and pass the data',
    );
  },
  decode: () => null,
});

/**
 * Fetches `url` and blocks this green thread until the response head
 * arrives; see the module documentation. FetchError when no response
 * comes; SocketTimeout past `init.timeout`; TypeError for a bad URL or
 * option (a `signal`: use `kill()` or a green `Timeout` instead).
 */
export function fetch(url: string | URL, init: FetchInit = {}): Response {
  checkBridge('fetch');
  const target = checkUrl(url);
  const timeout = checkTimeout(init.timeout);
  const wire = wireInit(init);
  if (!inGreenWorker()) throw blockingOnHub('fetch()', 'use the global fetch() with await');
  const head = callHub<ResponseHead>('fetch.start', [target, wire, timeout], { module: MODULE });
  return new Response(head, timeout);
}

function checkUrl(url: unknown): string {
  if (typeof url !== 'string' && !(url instanceof URL)) {
    throw new TypeError(`fetch: the URL must be a string or a URL, got ${describe(url)} (a Request cannot cross to the hub)`);
  }
  return new URL(url).href;
}

function checkTimeout(timeout: unknown): number | null {
  if (timeout === undefined || timeout === null) return null;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
    throw new ValueError(`fetch: timeout must be null or a non-negative number of seconds, got ${String(timeout)}`);
  }
  return timeout;
}

function checkCount(n: number, method: string): void {
  if (!Number.isInteger(n) || n < -1) throw new ValueError(`${method}: n must be -1 or a non-negative integer, got ${n}`);
}

const KNOWN = new Set(['method', 'headers', 'body', 'redirect', 'timeout']);

/** `init` as structured clone carries it to the hub. */
function wireInit(init: FetchInit): WireInit {
  for (const key of Object.keys(init)) {
    if (key === 'signal') throw new TypeError('fetch: a green fetch takes no signal: kill() the green thread or use a green Timeout');
    if (!KNOWN.has(key)) throw new TypeError(`fetch: unsupported option '${key}' (green fetch takes ${[...KNOWN].join(', ')})`);
  }
  const headers = new Headers(init.headers);
  const body = wireBody(init.body ?? null, headers);
  return {
    method: (init.method ?? 'GET').toUpperCase(),
    headers: [...headers],
    body,
    ...(init.redirect === undefined ? {} : { redirect: init.redirect }),
  };
}

function wireBody(body: FetchBody | null, headers: Headers): string | Uint8Array | null {
  if (body === null || typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (body instanceof URLSearchParams) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    return body.toString();
  }
  throw new TypeError(`fetch: the body must be a string, bytes or URLSearchParams, got ${describe(body)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}
