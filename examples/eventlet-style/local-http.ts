/**
 * A tiny HTTP server, written as async code on greenloop/loop: the green
 * examples (getbody.ts, crawler.ts) start it on their loop with
 * `callAsync`, by reference, and the asyncio-style ones await it.
 *
 * `/` answers a greeting; `/pages/N` a page of N lines (a small site to crawl).
 */
import { startServer, type StreamReader, type StreamWriter } from '../../src/loop/index.js';

/** Answers one request with a short response, then closes. */
async function answer(reader: StreamReader, writer: StreamWriter): Promise<void> {
  const requestLine = (await reader.readline()).toString().trim();
  // The rest of the request head, up to the empty line.
  while ((await reader.readline()).toString().trim() !== '');
  const [method, path] = requestLine.split(' ');
  const body = bodyFor(method, path ?? '/');
  const head = [
    'HTTP/1.0 200 OK',
    'Server: greenloop-example',
    'Content-Type: text/plain',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  writer.write(`${head.join('\r\n')}\r\n\r\n${requestLine.startsWith('HEAD') ? '' : body}`);
  await writer.drain();
  writer.close();
  await writer.waitClosed();
}

/** The greeting for `/`, a page of N lines for `/pages/N`. */
function bodyFor(method: string, path: string): string {
  const page = /^\/pages\/(\d+)$/.exec(path);
  if (page === null) return `hello from greenloop (${method})\n`;
  const lines = Array.from({ length: Number(page[1]) }, (_, i) => `page ${page[1]}, line ${i + 1}\n`);
  return lines.join('');
}

/** Starts the server on 127.0.0.1 (a free port) and returns its port; it serves until the program ends. */
export async function startLocalHttp(): Promise<number> {
  const server = await startServer(answer, '127.0.0.1', 0);
  const [, port] = server.sockets[0].getsockname() as [string, number];
  return port;
}
