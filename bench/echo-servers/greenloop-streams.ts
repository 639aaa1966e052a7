/** An echo server on greenloop's streams API, the same loop as asyncio's echo_asyncio.py. */
import { newEventLoop, startServer, type StreamReader, type StreamWriter } from 'greenloop/loop';

async function handle(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for (;;) {
    const data = await reader.read(65536);
    if (data.length === 0) break;
    writer.write(data);
    await writer.drain();
  }
  writer.close();
}

const port = Number(process.argv[2]);
const loop = newEventLoop();
await loop.runUntilComplete(async () => {
  const server = await startServer(handle, '127.0.0.1', port);
  console.log('ready');
  await server.serveForever();
});
