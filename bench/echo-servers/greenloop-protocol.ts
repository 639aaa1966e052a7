/** An echo server on greenloop's protocol API (asyncio's `create_server` + `Protocol`). */
import { newEventLoop, Protocol, type Transport } from 'greenloop/loop';

class Echo extends Protocol {
  private transport: Transport | null = null;

  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }

  override dataReceived(data: Buffer): void {
    this.transport?.write(data);
  }
}

const port = Number(process.argv[2]);
const loop = newEventLoop();
await loop.runUntilComplete(async () => {
  const server = await loop.createServer(() => new Echo(), '127.0.0.1', port);
  console.log('ready');
  await server.serveForever();
});
