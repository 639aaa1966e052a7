/**
 * The hub's side of green `fetch` (fetch.ts is the green side): the
 * requests run on the event loop's thread with Node's global `fetch`, and
 * each response's body stays here, read on the green thread's demand.
 *
 * A response body is a `HubBody`: chunks the body's reader produced and no
 * green call took yet. A read parks its green thread until enough is there;
 * an interrupted read (a kill, a Timeout, the call's timeout) loses nothing,
 * since the pending chunk lands in the body for the next read.
 *
 * Guarantees:
 * - a request whose call is interrupted before the response head arrives
 *   is aborted (its connection closed);
 * - a body is released (its request aborted, its chunks dropped) when it is
 *   read to the end, closed by the green side, or when the green thread
 *   that fetched it dies;
 * - bytes cross as Buffers that own their memory.
 */
import type { Future } from '../loop/futures.js';
import { GreenloopError } from '../loop/errors.js';
import { type GreenCaller, type HubThread, registerOperation, threadOf } from './runtime/index.js';
import { FetchError } from './fetch-errors.js';
import { abandoned, exactBuffer, park } from './socket-hub.js';
import { SocketTimeout } from './socket-errors.js';

/** A request as it crosses: what `fetch()` takes that structured clone can carry. */
export interface WireInit {
  readonly method: string;
  readonly headers: [string, string][];
  readonly body: string | Uint8Array | null;
  readonly redirect?: 'follow' | 'error' | 'manual';
}

/** The response head as it crosses; `body` is the id of its HubBody, 0 for none. */
export interface ResponseHead {
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  readonly redirected: boolean;
  readonly type: string;
  readonly headers: [string, string][];
  readonly body: number;
}

let nextBodyId = 1;
/** Live bodies by id. */
const bodies = new Map<number, HubBody>();

/** A failure of the global fetch as a FetchError; errors of the request's own shape (TypeError) stay. */
export function fetchErrorFrom(error: unknown, method: string, url: string): Error {
  if (error instanceof GreenloopError) return error;
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (error instanceof TypeError && cause === undefined && error.message !== 'fetch failed') return error;
  const reason = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return new FetchError(`${method} ${url} failed: ${reason || 'connection failed'}`, { method, url, cause: cause ?? error });
}

/** A pending read: up to `limit` bytes (-1: to the end), `exact`ly that many unless the body ends first. */
interface Waiter {
  readonly future: Future<Buffer>;
  readonly limit: number;
  readonly exact: boolean;
}

/** A response body kept on the hub for the green thread that fetched it. */
class HubBody {
  readonly id = nextBodyId++;
  private chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private error: Error | null = null;
  private reading = false;
  private waiter: Waiter | null = null;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly forgetOwner: () => void;

  constructor(
    stream: ReadableStream<Uint8Array>,
    private readonly controller: AbortController,
    owner: HubThread,
    private readonly what: { method: string; url: string },
  ) {
    this.reader = stream.getReader();
    bodies.set(this.id, this);
    this.forgetOwner = owner.onExit(() => this.close());
  }

  /** Serves a read now, or parks `caller` until it can be served (SocketTimeout after `timeout`). */
  read(caller: GreenCaller, limit: number, exact: boolean, timeout: number | null): Buffer | Future<Buffer> {
    const ready = this.take(limit, exact);
    if (ready !== null) return ready;
    const future = park<Buffer>(
      caller,
      timeout,
      (done) => {
        if (this.waiter?.future === done) this.waiter = null;
      },
      () => new SocketTimeout(`reading the body of ${this.what.method} ${this.what.url} timed out after ${timeout} seconds`),
    );
    this.waiter = { future, limit, exact };
    this.pump();
    return future;
  }

  /** What a read gets now, or null if it must wait; the body's error once nothing is left. */
  private take(limit: number, exact: boolean): Buffer | null {
    const enough = limit < 0 ? this.ended : this.ended || (exact ? this.size >= limit : this.size > 0);
    if (!enough) {
      if (this.error !== null) throw this.error;
      return null;
    }
    const count = limit < 0 ? this.size : Math.min(limit, this.size);
    const data = this.splice(count);
    if (this.ended && this.size === 0) this.release();
    return data;
  }

  /** The first `count` bytes kept, removed. */
  private splice(count: number): Buffer {
    const parts: Buffer[] = [];
    let taken = 0;
    while (taken < count) {
      const first = this.chunks[0];
      const part = first.length > count - taken ? first.subarray(0, count - taken) : first;
      if (part === first) this.chunks.shift();
      else this.chunks[0] = first.subarray(part.length);
      parts.push(part);
      taken += part.length;
    }
    this.size -= count;
    return count === 0 ? Buffer.alloc(0) : exactBuffer(parts, count);
  }

  /** Reads the next chunk while a waiter needs more. */
  private pump(): void {
    if (this.reading || this.ended || this.error !== null || this.waiter === null) return;
    this.reading = true;
    this.reader.read().then(
      ({ done, value }) => {
        this.reading = false;
        if (done) this.ended = true;
        else if (value.length > 0) this.append(value);
        this.serve();
      },
      (error: unknown) => {
        this.reading = false;
        if (!bodies.has(this.id)) return;
        this.error = fetchErrorFrom(error, this.what.method, this.what.url);
        this.serve();
      },
    );
  }

  private append(value: Uint8Array): void {
    this.chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    this.size += value.byteLength;
  }

  /** Answers the waiter if it can be, else reads on. */
  private serve(): void {
    const waiter = this.waiter;
    if (waiter === null || waiter.future.done()) return;
    let data: Buffer | null;
    try {
      data = this.take(waiter.limit, waiter.exact);
    } catch (error) {
      waiter.future.setException(error);
      return;
    }
    if (data !== null) waiter.future.setResult(data);
    else this.pump();
  }

  /** Drops the body and aborts its request; a parked read raises a FetchError. */
  close(): void {
    if (!bodies.has(this.id)) return;
    this.release();
    this.controller.abort();
    this.reader.cancel().catch(() => undefined);
    const waiter = this.waiter;
    if (waiter !== null && !waiter.future.done()) {
      waiter.future.setException(new FetchError(`the body of ${this.what.method} ${this.what.url} was closed`, this.what));
    }
  }

  private release(): void {
    bodies.delete(this.id);
    this.forgetOwner();
    this.chunks = [];
    this.size = 0;
  }
}

/** The number of response bodies the hub keeps (for tests and leak checks). */
export function liveBodies(): number {
  return bodies.size;
}

registerOperation('fetch.start', (caller: GreenCaller, url: string, init: WireInit, timeout: number | null) => {
  const thread = threadOf(caller);
  const controller = new AbortController();
  const what = { method: init.method, url };
  const future = park<ResponseHead>(
    caller,
    timeout,
    (done) => {
      if (abandoned(done)) controller.abort();
    },
    () => new SocketTimeout(`${init.method} ${url} timed out after ${timeout} seconds waiting for the response`),
  );
  globalThis.fetch(url, { ...init, body: init.body ?? undefined, signal: controller.signal }).then(
    (response) => {
      if (future.done()) {
        controller.abort();
        response.body?.cancel().catch(() => undefined);
        return;
      }
      const body = response.body === null ? 0 : new HubBody(response.body, controller, thread, what).id;
      future.setResult(headOf(response, body));
    },
    (error: unknown) => {
      if (!future.done()) future.setException(fetchErrorFrom(error, init.method, url));
    },
  );
  return future;
});

function headOf(response: Response, body: number): ResponseHead {
  return {
    status: response.status,
    statusText: response.statusText,
    url: response.url,
    redirected: response.redirected,
    type: response.type,
    headers: [...response.headers],
    body,
  };
}

registerOperation('fetch.read', (caller: GreenCaller, id: number, limit: number, exact: boolean, timeout: number | null) => {
  const body = bodies.get(id);
  return body === undefined ? Buffer.alloc(0) : body.read(caller, limit, exact, timeout);
});

registerOperation('fetch.close', (_caller: GreenCaller, id: number) => {
  bodies.get(id)?.close();
});
