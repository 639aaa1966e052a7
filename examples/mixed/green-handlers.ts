/**
 * The service's utility handlers in the green style, as they were written
 * for eventlet: a blocking file over the socket, one line in, one line
 * out, an idle connection closed after a while. Green threads run them, so
 * they are module-level exports.
 */
import { SocketTimeout, type socket } from '../../src/green/index.js';
import { answer, IDLE_TIMEOUT } from './protocol.js';

type LineFile = socket.SocketFile<Buffer>;

/** Reads the route line a client starts with, through the socket's file (which may read ahead). */
export function readRoute(conn: socket.Socket): [string, LineFile] {
  conn.settimeout(IDLE_TIMEOUT);
  const file = conn.makefile('rwb');
  return [file.readline().toString().trim(), file];
}

/**
 * Answers each line of `file` with `reply(line)` until the client
 * half-closes (or stays idle too long), then closes the connection.
 */
export function serveLines(conn: socket.Socket, file: LineFile, reply: (line: string) => string): void {
  try {
    for (const line of file) {
      file.write(reply(line.toString()));
      file.flush();
    }
  } catch (error) {
    if (!(error instanceof SocketTimeout)) throw error;
  } finally {
    file.close();
    conn.close();
  }
}

/**
 * Green: serves a utility route (echo, upper). `file` is the socket's file
 * when the caller already read the route line from it.
 */
export function serveUtility(conn: socket.Socket, route: string, file?: LineFile): void {
  if (file === undefined) conn.settimeout(IDLE_TIMEOUT);
  serveLines(conn, file ?? conn.makefile('rwb'), (line) => answer(route, line));
}
