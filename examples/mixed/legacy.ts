/**
 * Legacy green code, as written for eventlet: blocking sockets, a GreenPool,
 * sleep(). It runs unchanged in green threads (worker threads that park while
 * the loop does their I/O). Every function green threads run is a
 * module-level export.
 */
import { GreenPool, sleep, socket } from '../../src/green/index.js';

/** Asks the price service for one item over a blocking socket. */
export function fetchPrice(port: number, item: string): string {
  const sock = socket.createConnection(['127.0.0.1', port], 5);
  try {
    sock.sendall(`${item}\n`);
    const reply = sock.makefile('r').readline();
    return `${item}: ${String(reply).trim()}`;
  } finally {
    sock.close();
  }
}

/** Fetches every price concurrently on a GreenPool, results in order. */
export function priceReport(port: number, items: string[]): string[] {
  const pool = new GreenPool(4);
  const lines: string[] = [];
  for (const line of pool.imap(fetchPrice, items.map(() => port), items)) lines.push(line as string);
  return lines;
}

/** A slow legacy job, to show that cancelling the awaiting task kills it. */
export function slowJob(seconds: number): string {
  sleep(seconds);
  return 'finished';
}
