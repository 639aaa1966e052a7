// Node's own net server, no abstraction: the floor the other servers are compared with.
import { createServer } from 'node:net';

const port = Number(process.argv[2]);
createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('data', (data) => socket.write(data));
}).listen(port, '127.0.0.1', () => console.log('ready'));
