/**
 * Step 1: half the handlers migrated. The green accept loop stays; after
 * reading the route line, a catalogue connection is handed over, mid
 * conversation, to the async handler (what the client already sent, and
 * what the green file read ahead, goes with it); the utilities stay green.
 *
 *   npx tsx examples/mixed/step1.ts [port]
 */
import { handOver } from '../../src/bridge/index.js';
import { GreenPool, isMainGreenThread, listen, type socket } from '../../src/green/index.js';
import { serveCatalogue } from './async-handlers.js';
import { readRoute, serveUtility } from './green-handlers.js';
import { CATALOGUE, portArgument, readyLine, UTILITY } from './protocol.js';

/** Green: one connection; catalogue routes go to async code. */
export function dispatch(conn: socket.Socket): void {
  const [route, file] = readRoute(conn);
  if (CATALOGUE.includes(route)) handOver(conn, serveCatalogue, route);
  else serveUtility(conn, route, file);
}

if (isMainGreenThread()) {
  const server = listen(['127.0.0.1', portArgument()]);
  console.log(readyLine('step1', server.getsockname()[1] as number, UTILITY, CATALOGUE));
  const pool = new GreenPool(1000);
  for (;;) {
    const [conn] = server.accept();
    pool.spawnN(dispatch, conn);
  }
}
