/**
 * The scripted client every step of the mixed service must satisfy: plain
 * Node sockets (no greenloop), so it judges the service from outside.
 *
 * Each connection takes a route (in turn), sends the route line together
 * with its first request (so the request is already buffered when the
 * server reads the route, and crosses any hand-over), then one request at
 * a time, checking every reply against the protocol; it half-closes at the
 * end and waits for the server to close.
 *
 *   import { runClient } from './client.js';
 *   const stats = await runClient(port, { connections: 8, requests: 50 });
 */
import net from 'node:net';
import { answer, ROUTES } from './protocol.js';

const WORDS = ['apples', 'pears', 'plums', 'figs', 'kiwis', 'green threads', 'asyncio'];

export interface ClientOptions {
  /** Connections at once (each on a route, in turn). */
  connections: number;
  /** Requests per connection; with `seconds`, the most per connection. */
  requests: number;
  /** Stop starting requests after this many seconds (a load run); unlimited by default. */
  seconds?: number;
  /** Seconds a connection may go without a reply before it counts as failed. */
  timeout?: number;
}

export interface ClientStats {
  /** Requests answered correctly. */
  served: number;
  /** Wrong replies, connection errors, timeouts, connections closed early. */
  errors: number;
  /** The first few error messages. */
  errorMessages: string[];
  /** Latency of each correct request, send to full reply, in microseconds. */
  latenciesUs: number[];
  /** Requests answered correctly per route. */
  byRoute: Record<string, number>;
  seconds: number;
}

/** Runs the client against 127.0.0.1:`port`. Never rejects: failures are counted. */
export async function runClient(port: number, options: ClientOptions): Promise<ClientStats> {
  const stats: ClientStats = { served: 0, errors: 0, errorMessages: [], latenciesUs: [], byRoute: {}, seconds: 0 };
  const started = performance.now();
  const deadline = options.seconds === undefined ? Infinity : started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.connections }, (_, index) =>
      converse(port, ROUTES[index % ROUTES.length], index, options, deadline, stats),
    ),
  );
  stats.seconds = (performance.now() - started) / 1000;
  return stats;
}

function fail(stats: ClientStats, message: string): void {
  stats.errors++;
  if (stats.errorMessages.length < 5) stats.errorMessages.push(message);
}

/** One connection's conversation on `route`. */
function converse(port: number, route: string, index: number, options: ClientOptions, deadline: number, stats: ClientStats): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    let sent = 0;
    let expected = '';
    let pending = '';
    let sentAt = 0;
    let finished = false;
    const finish = (error: string | null): void => {
      if (finished) return;
      finished = true;
      if (error !== null) fail(stats, `${route} #${index}: ${error}`);
      socket.destroy();
      resolve();
    };
    const next = (): void => {
      if (sent >= options.requests || performance.now() >= deadline) {
        socket.end();
        return;
      }
      const request = `${WORDS[(index + sent) % WORDS.length]} ${sent}`;
      expected = answer(route, request);
      sentAt = performance.now();
      socket.write(sent === 0 ? `${route}\n${request}\n` : `${request}\n`);
      sent++;
    };
    socket.setEncoding('utf8');
    socket.setTimeout((options.timeout ?? 20) * 1000, () => finish(`no reply within ${options.timeout ?? 20} s`));
    socket.on('connect', next);
    socket.on('data', (chunk: string) => {
      pending += chunk;
      while (pending.length >= expected.length && expected !== '') {
        const reply = pending.slice(0, expected.length);
        pending = pending.slice(expected.length);
        if (reply !== expected) {
          finish(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(reply)}`);
          return;
        }
        stats.served++;
        stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
        stats.latenciesUs.push((performance.now() - sentAt) * 1000);
        expected = '';
        next();
      }
    });
    socket.on('end', () => finish(pending === '' && expected === '' ? null : `closed early with ${JSON.stringify(pending)} pending`));
    socket.on('error', (error) => finish(error.message));
  });
}

/** The `p`-th percentile (0..1) of `values`, NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
