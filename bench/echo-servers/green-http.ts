/**
 * The green HTTP-shape server: eventlet-http.py in greenloop's green API.
 * A green thread per connection reads line-based requests (ended by an
 * empty line) through `makefile('rb')` and answers each with a status
 * line, Content-Length and BODY bytes (the shape bench/echo-client.mjs
 * sends with `http`). The green functions run in worker threads, which
 * import this module too: its entry code is guarded.
 *
 *     node --import tsx bench/echo-servers/green-http.ts PORT [BODY=4096] [CONNECTIONS=10]
 *
 * As green-echo.ts, it starts a warm worker per expected connection before it says `ready`.
 */
import { isMainGreenThread, type socket } from 'greenloop/green';
import { runWarmServer } from './green-server.js';

/** The body size, from the main thread's argument: workers get a copy of its environment. */
const BODY_VARIABLE = 'GREEN_HTTP_BODY';
let reply: Buffer | null = null;

function theReply(): Buffer {
  const body = Number(process.env[BODY_VARIABLE] ?? 4096);
  reply ??= Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body}\r\n\r\n`), Buffer.alloc(body, 'x')]);
  return reply;
}

export function handle(sock: socket.Socket): void {
  const answer = theReply();
  const reader = sock.makefile('rb');
  for (;;) {
    const line = reader.readline();
    if (line.length === 0) break;
    if (line.length === 2 && line[0] === 0x0d) sock.sendall(answer);
  }
  sock.close();
}

if (isMainGreenThread()) {
  process.env[BODY_VARIABLE] = String(Number(process.argv[3] ?? 4096));
  await runWarmServer(handle, Number(process.argv[2]), Number(process.argv[4] ?? 10));
}
