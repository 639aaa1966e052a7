/**
 * eventlet's classic socket example, as a plain top-level green script:
 * resolve a host, connect, send a request, print the start of the answer.
 * No event loop in sight: the first green call starts the hub on a worker
 * thread and this main flow runs as a green thread (docs/placements.md).
 *
 *   npx tsx examples/eventlet-style/getbody.ts              # a local server it starts
 *   npx tsx examples/eventlet-style/getbody.ts host:port    # any HTTP server
 *
 * The local server is async code (local-http.ts) started on the same loop
 * with `runAsync`: async code joins the green program by reference.
 */
import { callAsync } from '../../src/bridge/index.js';
import { socket } from '../../src/green/index.js';
import { startLocalHttp } from './local-http.js';

/** Sends a HEAD request to `host:port` and returns the first KiB of the answer. */
export function geturl(host: string, port: number): string {
  const c = socket.socket();
  try {
    const ip = socket.gethostbyname(host);
    c.connect([ip, port]);
    c.sendall('HEAD / HTTP/1.0\r\n\r\n');
    return c.recv(1024).toString();
  } finally {
    c.close();
  }
}

const target = process.argv[2];
const [host, port] = target === undefined ? ['localhost', callAsync(startLocalHttp)] : parseTarget(target);
console.log(`%s:%d says:\n%s`, host, port, geturl(host, port));

function parseTarget(text: string): [string, number] {
  const match = /^([^:]+):(\d+)$/.exec(text);
  if (match === null) throw new Error(`expected host:port, got ${JSON.stringify(text)}`);
  return [match[1], Number(match[2])];
}
