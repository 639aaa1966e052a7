/**
 * The seeds' second program: getbody as a Trollius-style generator
 * coroutine, the way code ran on asyncio before `async`/`await` (and on
 * Python 2 with Trollius): `yield` an awaitable to wait for it, `return` the
 * value, `yield*` to delegate to another generator. A Task steps it like any
 * coroutine; `coroutine()` makes it awaitable from async functions too.
 *
 *   npx tsx examples/asyncio-style/getbody-generator.ts              # a local server it starts
 *   npx tsx examples/asyncio-style/getbody-generator.ts host:port    # any HTTP server
 */
import { coroutine, openConnection, run, type StreamReader, type StreamWriter } from '../../src/loop/index.js';
import { startLocalHttp } from '../eventlet-style/local-http.js';

/** Sends a HEAD request to `host:port` and returns the first KiB of the answer. */
const geturl = coroutine(function* (host: string, port: number) {
  const [reader, writer] = (yield openConnection(host, port)) as [StreamReader, StreamWriter];
  try {
    writer.write('HEAD / HTTP/1.0\r\n\r\n');
    yield writer.drain();
    const data = (yield reader.read(1024)) as Buffer;
    return data.toString();
  } finally {
    writer.close();
    yield writer.waitClosed();
  }
});

function* main(target: string | undefined): Generator<unknown, void, unknown> {
  const [host, port] = target === undefined ? ['localhost', (yield startLocalHttp()) as number] : parseTarget(target);
  const answer = (yield* geturl(host, port)) as string; // delegate, as `yield from`
  console.log(`%s:%d says:\n%s`, host, port, answer);
}

function parseTarget(text: string): [string, number] {
  const match = /^([^:]+):(\d+)$/.exec(text);
  if (match === null) throw new Error(`expected host:port, got ${JSON.stringify(text)}`);
  return [match[1], Number(match[2])];
}

await run(main, process.argv[2]);
