/**
 * The asyncio style on greenloop: a line-echo server and its clients on one
 * loop, with a TaskGroup, a timeout, a Queue and cancellation.
 *
 *   npx tsx examples/asyncio-style/demo.ts
 */
import {
  Queue,
  TaskGroup,
  TimeoutError,
  createTask,
  run,
  sleep,
  startServer,
  openConnection,
  timeout,
  type StreamReader,
  type StreamWriter,
} from '../../src/loop/index.js';

/** Echoes each line back upper-cased until the client closes. */
async function handleClient(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for await (const line of reader) {
    writer.write(line.toString().toUpperCase());
    await writer.drain();
  }
  writer.close();
  await writer.waitClosed();
}

/** One client: sends its lines, reads the echoes, reports to the queue. */
async function client(id: number, port: number, results: Queue<string>): Promise<void> {
  const [reader, writer] = await openConnection('127.0.0.1', port);
  for (const word of ['hello', 'from', `client ${id}`]) {
    writer.write(`${word}\n`);
    const echoed = await reader.readline();
    await results.put(`client ${id} got ${JSON.stringify(echoed.toString().trim())}`);
  }
  writer.close();
  await writer.waitClosed();
}

async function main(): Promise<void> {
  const server = await startServer(handleClient, '127.0.0.1', 0);
  const { port } = server.address() as { port: number };
  console.log(`echo server on 127.0.0.1:${port}`);

  const results = new Queue<string>();
  const printer = createTask(async () => {
    for (;;) console.log(' ', await results.get());
  });

  await TaskGroup.run(async (tg) => {
    for (let id = 1; id <= 3; id++) tg.createTask(client, id, port, results);
  });

  try {
    await timeout(0.05).run(async () => sleep(10));
  } catch (err) {
    if (err instanceof TimeoutError) console.log('a 10 s sleep was cut short by timeout(0.05)');
  }

  printer.cancel();
  server.close();
  await server.waitClosed();
  console.log('server closed; done');
}

await run(main);
