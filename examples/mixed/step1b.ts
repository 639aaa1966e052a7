/**
 * Step 1b: the same split, the other way round. The accept loop is
 * migrated first (an asyncio-style server); the utilities, still green,
 * get their connection as a green socket after the async side read the
 * route line.
 *
 *   npx tsx examples/mixed/step1b.ts [port]
 */
import { runGreen, toGreenSocket } from '../../src/bridge/index.js';
import { run, startServer, type StreamReader, type StreamWriter } from '../../src/loop/index.js';
import { readRoute, serveCatalogue } from './async-handlers.js';
import { serveUtility } from './green-handlers.js';
import { CATALOGUE, portArgument, readyLine, UTILITY } from './protocol.js';

/** Async: one connection; utility routes go to green code. */
async function dispatch(reader: StreamReader, writer: StreamWriter): Promise<void> {
  const route = await readRoute(reader);
  if (UTILITY.includes(route)) await runGreen(serveUtility, toGreenSocket(reader, writer), route);
  else await serveCatalogue(reader, writer, route);
}

async function main(): Promise<void> {
  const server = await startServer(dispatch, '127.0.0.1', portArgument());
  console.log(readyLine('step1b', (server.address() as { port: number }).port, UTILITY, CATALOGUE));
  await server.serveForever();
}

await run(main);
