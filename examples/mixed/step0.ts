/**
 * Step 0: the service as it was, all green (eventlet style). A green main
 * flow listens and gives each connection to a green thread of a pool,
 * which reads the route line and serves it.
 *
 *   npx tsx examples/mixed/step0.ts [port]
 */
import { GreenPool, isMainGreenThread, listen, type socket } from '../../src/green/index.js';
import { serveCatalogue } from './green-catalogue.js';
import { readRoute, serveUtility } from './green-handlers.js';
import { CATALOGUE, portArgument, readyLine, ROUTES } from './protocol.js';

/** Green: one connection, every route served green. */
export function dispatch(conn: socket.Socket): void {
  const [route, file] = readRoute(conn);
  if (CATALOGUE.includes(route)) serveCatalogue(conn, route, file);
  else serveUtility(conn, route, file);
}

if (isMainGreenThread()) {
  const server = listen(['127.0.0.1', portArgument()]);
  console.log(readyLine('step0', server.getsockname()[1] as number, ROUTES, []));
  const pool = new GreenPool(1000);
  for (;;) {
    const [conn] = server.accept();
    pool.spawnN(dispatch, conn);
  }
}
