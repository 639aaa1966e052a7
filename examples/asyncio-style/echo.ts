/**
 * The eventlet-style echo server (examples/eventlet-style/echo.ts) migrated
 * to the asyncio style: streams instead of green sockets, one task per
 * client instead of a GreenPool thread.
 *
 *   npx tsx examples/asyncio-style/echo.ts                  # serves two scripted clients, then stops
 *   npx tsx examples/asyncio-style/echo.ts --serve-for 60   # serves anyone for 60 s on port 6000
 *                                                           # (try: nc 127.0.0.1 6000; --port N for another port)
 */
import { gather, openConnection, run, sleep, startServer, type StreamReader, type StreamWriter } from '../../src/loop/index.js';

/** Echoes each line back to the client until it closes. */
async function handle(reader: StreamReader, writer: StreamWriter): Promise<void> {
  console.log('accepted', writer.getExtraInfo('peername'));
  for await (const line of reader) {
    writer.write(line);
    await writer.drain();
    console.log('echoed', line.toString().trimEnd());
  }
  writer.close();
  await writer.waitClosed();
  console.log('client disconnected');
}

/** A scripted client: sends `lines` one by one, checking each echo; returns the echoes. */
async function scriptedClient(port: number, lines: string[]): Promise<string[]> {
  const [reader, writer] = await openConnection('127.0.0.1', port);
  const echoes: string[] = [];
  for (const line of lines) {
    writer.write(`${line}\n`);
    await writer.drain();
    echoes.push((await reader.readline()).toString().trimEnd());
  }
  writer.close();
  await writer.waitClosed();
  return echoes;
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--serve-for');
  const seconds = at === -1 ? null : Number(process.argv[at + 1]);
  const portAt = process.argv.indexOf('--port');
  const wanted = portAt !== -1 ? Number(process.argv[portAt + 1]) : seconds === null ? 0 : 6000;
  const server = await startServer(handle, '127.0.0.1', wanted);
  const [, port] = server.sockets[0].getsockname() as [string, number];
  console.log(`server socket listening on port ${port}`);
  if (seconds === null) {
    const replies = await gather(scriptedClient(port, ['hello', 'async world']), scriptedClient(port, ['one', 'two', 'three']));
    for (const echoes of replies) console.log('client got back:', echoes.join(' | '));
  } else {
    await sleep(seconds);
  }
  server.close();
  await server.waitClosed();
  console.log('server closed');
}

await run(main);
