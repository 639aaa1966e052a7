/**
 * A tiny HTTP server, written as async code on greenloop/loop: the green
 * example getbody.ts starts it on its loop with `runAsync`, by reference.
 */
import { startServer, type StreamReader, type StreamWriter } from '../../src/loop/index.js';

/** Answers one request with a short response, then closes. */
async function answer(reader: StreamReader, writer: StreamWriter): Promise<void> {
  const requestLine = (await reader.readline()).toString().trim();
  // The rest of the request head, up to the empty line.
  while ((await reader.readline()).toString().trim() !== '');
  const body = `hello from greenloop (${requestLine.split(' ')[0]})\n`;
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

/** Starts the server on 127.0.0.1 (a free port) and returns its port; it serves until the program ends. */
export async function startLocalHttp(): Promise<number> {
  const server = await startServer(answer, '127.0.0.1', 0);
  const [, port] = server.sockets[0].getsockname() as [string, number];
  return port;
}
