/**
 * A green echo server: the shape of eventlet's echo_eventlet.py in
 * greenloop's green API (listen + serve, one green thread per connection,
 * recv(65536) / sendall). The green functions run in worker threads, which
 * import this module too: its entry code is guarded.
 *
 *     node --import tsx bench/echo-servers/green-echo.ts PORT [CONNECTIONS=10]
 *
 * Every connection is a green thread, so a worker: the server starts one
 * per expected connection (plus its own) and has each load this module
 * before it says `ready`, so the benchmark measures warm workers, as with
 * eventlet's greenlets, not workers starting (bench/green-capacity.ts and
 * green-start.ts measure that).
 */
import { newEventLoop } from '../../src/loop/index.js';
import { isMainGreenThread, sleep, spawn } from '../../src/green/index.js';
import { listen, serve } from '../../src/green/convenience.js';
import type { Socket } from '../../src/green/socket.js';
import { configure, prestart } from '../../src/bridge/index.js';

export function handle(sock: Socket): void {
  for (;;) {
    const data = sock.recv(65536);
    if (data.length === 0) break;
    sock.sendall(data);
  }
  sock.close();
}

/** Makes a worker import this module (and the socket modules) before the measurement. */
export function warm(seconds: number): void {
  sleep(seconds);
}

export function main(port: number): void {
  const server = listen(['127.0.0.1', port]);
  process.stdout.write('ready\n');
  serve(server, handle, 10000);
}

if (isMainGreenThread()) {
  const port = Number(process.argv[2]);
  // Warm workers: one per connection of the benchmark, plus the server's.
  const WORKERS = Number(process.argv[3] ?? 10) + 2;
  // Keep them all warm between the warm-up run and the measured one.
  configure({ poolSize: 16, maxIdleWorkers: Math.max(256, WORKERS) });
  await prestart(WORKERS);
  const loop = newEventLoop();
  await loop.runUntilComplete(async () => {
    // Threads that overlap each take their own worker, which then has the modules loaded.
    await Promise.all(Array.from({ length: WORKERS }, () => spawn(warm, 0.2)));
    await spawn(main, port);
  });
}
