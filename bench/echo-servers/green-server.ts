/**
 * What the green bench servers share: a green listening server with a green
 * thread per connection, started only once a warm worker per expected
 * connection (plus the server's own) has loaded the green modules, so a
 * benchmark measures warm workers, as with eventlet's greenlets, not
 * workers starting (bench/green-capacity.ts and green-start.ts measure that).
 *
 * The bench servers import greenloop by its package name, so they run the
 * built package (dist/, which `npm ci` builds; `npm run build` after a
 * change), as a user who installed it does: the TypeScript sources under
 * tsx would also measure tsx's compiled output of them.
 */
import { newEventLoop } from 'greenloop/loop';
import { listen, serve, sleep, spawn, type socket } from 'greenloop/green';
import { configure, prestart } from 'greenloop/bridge';

/** Keeps a worker busy for `seconds`, after it has imported the green modules. */
export function warm(seconds: number): void {
  sleep(seconds);
}

/** Listens on `port`, says `ready`, and serves each connection with `handle` (a module-level function). */
export function listenAndServe(port: number, handle: (sock: socket.Socket) => void): void {
  const server = listen(['127.0.0.1', port]);
  process.stdout.write('ready\n');
  serve(server, handle, 10000);
}

/** Runs the server on `port` for `connections` expected connections, from the main thread. */
export async function runWarmServer(handle: (sock: socket.Socket) => void, port: number, connections: number): Promise<void> {
  const workers = connections + 2;
  // Keep them all warm between the warm-up runs and the measured one: starting
  // a thousand workers takes minutes, longer than the default idleTimeout.
  configure({ poolSize: 16, maxIdleWorkers: Math.max(256, workers), idleTimeout: 3600 });
  await prestart(workers);
  const loop = newEventLoop();
  await loop.runUntilComplete(async () => {
    // Threads that overlap each take their own worker, which then has the modules loaded.
    await Promise.all(Array.from({ length: workers }, () => spawn(warm, 0.2)));
    await spawn(listenAndServe, port, handle);
  });
}
