/**
 * The catalogue handlers in the green style: each lookup waits on the
 * "database" (a green sleep standing for its round trip). Step 1 migrates
 * these to async-handlers.ts and deletes this module.
 */
import { sleep, type socket } from '../../src/green/index.js';
import { serveLines } from './green-handlers.js';
import { answer, DB_LATENCY } from './protocol.js';

/** Green: serves a catalogue route (price, stock) on `conn`, after its route line was read through `file`. */
export function serveCatalogue(conn: socket.Socket, route: string, file: socket.SocketFile<Buffer>): void {
  serveLines(conn, file, (line) => {
    sleep(DB_LATENCY);
    return answer(route, line);
  });
}
