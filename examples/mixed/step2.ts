/**
 * Step 2: all async, and the bridge dropped: run it with
 * GREENLOOP_BRIDGE=off. No green thread, no hub; `greenloop report` finds
 * no green code left.
 *
 *   GREENLOOP_BRIDGE=off npx tsx examples/mixed/step2.ts [port]
 */
import { bridgeEnabled } from '../../src/bridge/index.js';
import { run, startServer, type StreamReader, type StreamWriter } from '../../src/loop/index.js';
import { readRoute, serveCatalogue, serveUtility } from './async-handlers.js';
import { CATALOGUE, portArgument, readyLine, ROUTES } from './protocol.js';

async function dispatch(reader: StreamReader, writer: StreamWriter): Promise<void> {
  const route = await readRoute(reader);
  if (CATALOGUE.includes(route)) await serveCatalogue(reader, writer, route);
  else await serveUtility(reader, writer, route);
}

async function main(): Promise<void> {
  const server = await startServer(dispatch, '127.0.0.1', portArgument());
  console.log(`${readyLine('step2', (server.address() as { port: number }).port, [], ROUTES)} bridge=${bridgeEnabled() ? 'on' : 'off'}`);
  await server.serveForever();
}

await run(main);
