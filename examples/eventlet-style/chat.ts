/**
 * eventlet's chat server (examples/chatserver.py), translated line by
 * line: every line a client sends goes to every other client, one green
 * thread per connection.
 *
 *   npx tsx examples/eventlet-style/chat.ts [port] [--serve-for seconds]
 *   (then, in other terminals: nc 127.0.0.1 <port>)
 *
 * The one change eventlet's version needs: its module-level
 * `participants = set()` becomes a SharedMap. Green threads here are
 * worker threads, so a module-level Set would exist once per thread, and
 * every handler would broadcast to an empty set of its own. The SharedMap
 * lives on the hub; each handler gets a handle to it, and the sockets
 * stored in it cross to whichever thread reads them back as handles to the
 * same connections.
 *
 * The accept loop is green (`chatServer`, in a green thread); the program
 * around it is async (`run(main)`), so it can stop cleanly on SIGTERM or
 * after `--serve-for` seconds: it kills the accept loop, which kills the
 * handlers it started, and each handler leaves the chat as it ends.
 */
import { run, getRunningLoop, CancelledError } from '../../src/loop/index.js';
import { runGreen, shutdownWorkers } from '../../src/bridge/index.js';
import {
  Event,
  GreenletExit,
  SharedMap,
  isMainGreenThread,
  listen,
  spawn,
  type GreenThread,
  type socket,
} from '../../src/green/index.js';
import { parseChatOptions } from '../chat-options.js';

type Participants = SharedMap<string, socket.Socket>;

/** One client: reads its lines and writes each to every other participant. */
export function readChatForever(name: string, connection: socket.Socket, participants: Participants): void {
  const reader = connection.makefile('r');
  try {
    for (let line = reader.readline(); line !== ''; line = reader.readline()) {
      console.log('Chat:', line.trim());
      for (const [other, writer] of participants) {
        if (other === name) continue; // Don't echo
        try {
          writer.sendall(line);
        } catch (error) {
          // A participant that closed its connection already: it leaves by itself.
          if (!['EPIPE', 'ECONNRESET'].includes((error as { code?: string }).code ?? '')) throw error;
        }
      }
    }
  } finally {
    participants.delete(name);
    connection.close();
    console.log('Participant left chat.');
  }
}

/** The accept loop: each participant joins the shared map and gets its own green thread. */
export function chatServer(port: number, participants: Participants, listening: Event<number>): void {
  const server = listen(['127.0.0.1', port]);
  const handlers = new Set<GreenThread<void>>();
  const listeningOn = Number(server.getsockname()[1]);
  console.log(`ChatServer starting up on port ${listeningOn}`);
  listening.send(listeningOn);
  try {
    for (;;) {
      const [connection, address] = server.accept();
      const name = `${address[0]}:${address[1]}`;
      participants.set(name, connection);
      console.log('Participant joined chat.');
      for (const handler of handlers) if (handler.dead) handlers.delete(handler);
      handlers.add(spawn(readChatForever, name, connection, participants));
    }
  } finally {
    server.close();
    stopHandlers(handlers);
  }
}

/** Kills the handlers still running and waits for them: each leaves the chat as it ends. */
function stopHandlers(handlers: Set<GreenThread<void>>): void {
  for (const handler of handlers) handler.kill();
  for (const handler of handlers) {
    try {
      handler.wait();
    } catch (error) {
      if (!(error instanceof GreenletExit)) throw error;
    }
  }
}

async function main(): Promise<void> {
  const { port, serveFor } = parseChatOptions(process.argv.slice(2));
  const participants: Participants = new SharedMap();
  const listening = new Event<number>();
  const server = runGreen(chatServer, port, participants, listening);
  const loop = getRunningLoop();
  const stop = loop.createFuture<void>();
  const stopNow = (): void => void (stop.done() || stop.setResult());
  loop.addSignalHandler('SIGTERM', stopNow);
  loop.addSignalHandler('SIGINT', stopNow);
  // An accept loop that failed ends the program too.
  server.link(stopNow);
  await Promise.race([listening.waitAsync(), stop]);
  // The time limit counts from when the server listens.
  const timer = serveFor === null ? null : loop.callLater(serveFor, stopNow);
  await stop;
  timer?.cancel();
  server.kill();
  try {
    await server;
  } catch (error) {
    if (!(error instanceof CancelledError)) throw error;
  }
  await shutdownWorkers();
  console.log('ChatServer exiting.');
}

if (isMainGreenThread()) await run(main);
