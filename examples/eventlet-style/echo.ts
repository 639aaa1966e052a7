/**
 * eventlet's echoserver.py: a line echo server, one green thread per
 * client from a GreenPool, each reading its client through `makefile`.
 *
 *   npx tsx examples/eventlet-style/echo.ts                  # serves two scripted clients, then stops
 *   npx tsx examples/eventlet-style/echo.ts --serve-for 60   # serves anyone for 60 s on port 6000
 *                                                            # (try: nc 127.0.0.1 6000; --port N for another port)
 *
 * The handler lives in this file, so green threads import it: the program's
 * own code runs only in the main green thread (`isMainGreenThread()`, as
 * Python's `if __name__ == '__main__'`).
 */
import { GreenPool, SocketTimeout, isMainGreenThread, listen, connect, spawn, type socket } from '../../src/green/index.js';

/** Echoes each line back to the client until it closes (eventlet's `handle`). */
export function handle(client: socket.Socket): void {
  console.log('client connected');
  const file = client.makefile('rw');
  for (;;) {
    const line = file.readline();
    if (line === '') break;
    file.write(line);
    file.flush();
    console.log('echoed', line.trimEnd());
  }
  client.close();
  console.log('client disconnected');
}

/** A scripted client: sends `lines` one by one, checking each echo; returns the echoes. */
export function scriptedClient(port: number, lines: string[]): string[] {
  const sock = connect(['127.0.0.1', port]);
  sock.settimeout(10);
  const file = sock.makefile('rw');
  const echoes = lines.map((line) => {
    file.write(`${line}\n`);
    file.flush();
    return file.readline().trimEnd();
  });
  sock.close();
  return echoes;
}

/** Accepts connections for `seconds` (null: `count` of them), each served by a pool thread. */
function serve(server: socket.Socket, pool: GreenPool, until: { seconds: number | null; count: number }): void {
  const deadline = until.seconds === null ? Infinity : Date.now() + until.seconds * 1000;
  server.settimeout(0.5);
  for (let accepted = 0; until.seconds !== null || accepted < until.count; ) {
    if (Date.now() > deadline) break;
    try {
      const [client, address] = server.accept();
      console.log('accepted', address);
      pool.spawnN(handle, client);
      accepted++;
    } catch (error) {
      if (!(error instanceof SocketTimeout)) throw error;
    }
  }
}

if (isMainGreenThread()) {
  const at = process.argv.indexOf('--serve-for');
  const seconds = at === -1 ? null : Number(process.argv[at + 1]);
  const portAt = process.argv.indexOf('--port');
  const wanted = portAt !== -1 ? Number(process.argv[portAt + 1]) : seconds === null ? 0 : 6000;
  const server = listen(['127.0.0.1', wanted]);
  const port = (server.getsockname() as [string, number])[1];
  console.log(`server socket listening on port ${port}`);
  const pool = new GreenPool(10_000);
  const clients =
    seconds === null
      ? [spawn(scriptedClient, port, ['hello', 'green world']), spawn(scriptedClient, port, ['one', 'two', 'three'])]
      : [];
  serve(server, pool, { seconds, count: clients.length });
  for (const client of clients) console.log('client got back:', client.wait().join(' | '));
  pool.waitall();
  server.close();
  console.log('server closed');
}
