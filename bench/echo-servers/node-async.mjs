// Node's net server with each connection served by an async/await loop over a
// minimal promise-based reader, no library: the floor for any streams-style
// (await read, write) echo server on Node.
import { createServer } from 'node:net';

function reader(socket) {
  const chunks = [];
  let wake = null;
  let ended = false;
  const notify = () => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  socket.on('data', (data) => {
    chunks.push(data);
    notify();
  });
  socket.on('end', () => {
    ended = true;
    notify();
  });
  socket.on('error', () => {
    ended = true;
    notify();
  });
  return async () => {
    while (chunks.length === 0 && !ended) await new Promise((resolve) => (wake = resolve));
    return chunks.length > 0 ? chunks.shift() : null;
  };
}

const port = Number(process.argv[2]);
createServer(async (socket) => {
  socket.setNoDelay(true);
  const read = reader(socket);
  for (let data = await read(); data !== null; data = await read()) socket.write(data);
  socket.end();
}).listen(port, '127.0.0.1', () => console.log('ready'));
