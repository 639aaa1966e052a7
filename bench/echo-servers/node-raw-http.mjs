// Node's own net server answering the HTTP-style shape of bench/echo-client.mjs:
// line-based requests (ended by an empty line), each answered with a status
// line, Content-Length and BODY bytes. The floor the other HTTP-shape servers are compared with.
//
//   node bench/echo-servers/node-raw-http.mjs PORT [BODY=4096]
import { createServer } from 'node:net';

const port = Number(process.argv[2]);
const body = Number(process.argv[3] ?? 4096);
const reply = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body}\r\n\r\n`), Buffer.alloc(body, 'x')]);
const END = Buffer.from('\r\n\r\n');

createServer((socket) => {
  socket.setNoDelay(true);
  let pending = Buffer.alloc(0);
  socket.on('data', (data) => {
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    for (let end = pending.indexOf(END); end >= 0; end = pending.indexOf(END)) {
      pending = pending.subarray(end + END.length);
      socket.write(reply);
    }
  });
}).listen(port, '127.0.0.1', () => console.log('ready'));
