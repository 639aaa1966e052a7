/**
 * The chat server of examples/eventlet-style/chat.ts, migrated to the
 * asyncio style: every line a client sends goes to every other client, one
 * task per connection, on streams.
 *
 *   npx tsx examples/asyncio-style/chat.ts [port] [--serve-for seconds]
 *
 * Once every handler is async code on the loop's thread, the participants
 * need no shared container any more: they are a plain Map again, because
 * every task runs on that one thread (the green version needed a SharedMap
 * because its handlers were worker threads). No green API is left, so this
 * runs with GREENLOOP_BRIDGE=off.
 */
import { currentTask, run, getRunningLoop, startServer, type StreamReader, type StreamWriter, type Task } from '../../src/loop/index.js';
import { parseChatOptions } from '../chat-options.js';

/** Every connected client's writer, by peer name: only tasks on this thread touch it. */
const participants = new Map<string, StreamWriter>();
/** The handlers still running: the server says it is exiting only once every participant has left. */
const handlers = new Set<Task<void>>();

/** One client: reads its lines and writes each to every other participant. */
async function readChatForever(reader: StreamReader, writer: StreamWriter): Promise<void> {
  const [host, port] = writer.getExtraInfo('peername') as [string, number];
  const name = `${host}:${port}`;
  const handler = currentTask() as Task<void>;
  handlers.add(handler);
  participants.set(name, writer);
  console.log('Participant joined chat.');
  try {
    for await (const line of reader) {
      console.log('Chat:', line.toString().trim());
      for (const [other, peer] of participants) {
        if (other !== name && !peer.isClosing()) peer.write(line); // Don't echo
      }
    }
  } catch (error) {
    // A client that reset its connection just leaves.
    if ((error as { code?: string }).code !== 'ECONNRESET') throw error;
  } finally {
    participants.delete(name);
    writer.close();
    console.log('Participant left chat.');
    handlers.delete(handler);
  }
}

async function main(): Promise<void> {
  const { port, serveFor } = parseChatOptions(process.argv.slice(2));
  const server = await startServer(readChatForever, '127.0.0.1', port);
  console.log(`ChatServer starting up on port ${(server.address() as { port: number }).port}`);
  const loop = getRunningLoop();
  const stop = loop.createFuture<void>();
  const stopNow = (): void => void (stop.done() || stop.setResult());
  loop.addSignalHandler('SIGTERM', stopNow);
  loop.addSignalHandler('SIGINT', stopNow);
  const timer = serveFor === null ? null : loop.callLater(serveFor, stopNow);
  await stop;
  timer?.cancel();
  server.close();
  for (const writer of participants.values()) writer.close();
  await server.waitClosed();
  await Promise.allSettled([...handlers]);
  console.log('ChatServer exiting.');
}

await run(main);
