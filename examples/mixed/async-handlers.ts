/**
 * The service's handlers in the asyncio style: the same protocol over a
 * StreamReader/StreamWriter pair. These are what the green handlers become.
 */
import { sleep, waitFor, TimeoutError, type StreamReader, type StreamWriter } from '../../src/loop/index.js';
import { answer, DB_LATENCY, IDLE_TIMEOUT } from './protocol.js';

/** Reads the route line a client starts with. */
export async function readRoute(reader: StreamReader): Promise<string> {
  return (await waitFor(reader.readline(), IDLE_TIMEOUT)).toString().trim();
}

/**
 * Answers each line with `reply(line)` until the client half-closes (or
 * stays idle too long), then closes the connection.
 */
export async function serveLines(reader: StreamReader, writer: StreamWriter, reply: (line: string) => Promise<string> | string): Promise<void> {
  try {
    for (;;) {
      const line = await waitFor(reader.readline(), IDLE_TIMEOUT);
      if (line.length === 0) break;
      writer.write(await reply(line.toString()));
      await writer.drain();
    }
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
  } finally {
    writer.close();
  }
}

/** Serves a catalogue route (price, stock): each lookup waits on the "database". */
export async function serveCatalogue(reader: StreamReader, writer: StreamWriter, route: string): Promise<void> {
  await serveLines(reader, writer, async (line) => {
    await sleep(DB_LATENCY);
    return answer(route, line);
  });
}

/** Serves a utility route (echo, upper). */
export async function serveUtility(reader: StreamReader, writer: StreamWriter, route: string): Promise<void> {
  await serveLines(reader, writer, (line) => answer(route, line));
}
