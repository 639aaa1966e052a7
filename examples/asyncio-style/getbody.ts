/**
 * The seeds' getbody, asyncio style with async/await: connect, send a HEAD
 * request, print the start of the answer. Compare
 * examples/eventlet-style/getbody.ts (green) and getbody-generator.ts
 * (Trollius-style generators).
 *
 *   npx tsx examples/asyncio-style/getbody.ts              # a local server it starts
 *   npx tsx examples/asyncio-style/getbody.ts host:port    # any HTTP server
 */
import { openConnection, run } from '../../src/loop/index.js';
import { startLocalHttp } from '../eventlet-style/local-http.js';

/** Sends a HEAD request to `host:port` and returns the first KiB of the answer. */
async function geturl(host: string, port: number): Promise<string> {
  const [reader, writer] = await openConnection(host, port);
  try {
    writer.write('HEAD / HTTP/1.0\r\n\r\n');
    await writer.drain();
    return (await reader.read(1024)).toString();
  } finally {
    writer.close();
    await writer.waitClosed();
  }
}

async function main(target: string | undefined): Promise<void> {
  const [host, port] = target === undefined ? ['localhost', await startLocalHttp()] : parseTarget(target);
  console.log(`%s:%d says:\n%s`, host, port, await geturl(host, port));
}

function parseTarget(text: string): [string, number] {
  const match = /^([^:]+):(\d+)$/.exec(text);
  if (match === null) throw new Error(`expected host:port, got ${JSON.stringify(text)}`);
  return [match[1], Number(match[2])];
}

await run(main, process.argv[2]);
