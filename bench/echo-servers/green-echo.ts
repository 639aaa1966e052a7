/**
 * A green echo server: the shape of eventlet's echo_eventlet.py in
 * greenloop's green API (listen + serve, one green thread per connection,
 * recv(65536) / sendall). The green functions run in worker threads, which
 * import this module too: its entry code is guarded.
 *
 *     node --import tsx bench/echo-servers/green-echo.ts PORT [CONNECTIONS=10]
 *
 * Every connection is a green thread, so a worker: the server warms one per
 * expected connection before it says `ready` (green-server.ts).
 */
import { pathToFileURL } from 'node:url';
import { isMainGreenThread, type socket } from 'greenloop/green';
import { runWarmServer } from './green-server.js';

export function handle(sock: socket.Socket): void {
  for (;;) {
    const data = sock.recv(65536);
    if (data.length === 0) break;
    sock.sendall(data);
  }
  sock.close();
}

// Run as a script only: bench/hub-alloc.ts imports `handle` and serves it itself.
const runAsScript = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMainGreenThread() && runAsScript) await runWarmServer(handle, Number(process.argv[2]), Number(process.argv[3] ?? 10));
