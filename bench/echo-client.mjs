// Echo load client: N connections, each sends one message, waits for its whole
// echo, and sends the next, for a fixed time. Prints one JSON line:
// { msgs, seconds, msgsPerSec, p50Us, p99Us } (latency per message, send to full echo).
//
//   node bench/echo-client.mjs PORT [connections=10] [seconds=3] [size=100] [shape=echo]
//
// Shape `http`: each message is a small line-based request (a request line and
// two header lines, ended by an empty line) and the server answers
// httpReply(size): a status line, a Content-Length header and `size` bytes of
// body, on the same connection (keep-alive). bench/echo-servers/*-http.* serve it.
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

const port = Number(process.argv[2]);
const connections = Number(process.argv[3] ?? 10);
const seconds = Number(process.argv[4] ?? 3);
const size = Number(process.argv[5] ?? 100);
const shape = process.argv[6] ?? 'echo';

/** The reply of the HTTP-shape servers to every request: headers, then `body` bytes. */
function httpReply(body) {
  return Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body}\r\n\r\n`), Buffer.alloc(body, 'x')]);
}

const message = shape === 'http' ? Buffer.from('GET /items/42 HTTP/1.1\r\nHost: bench\r\nAccept: */*\r\n\r\n') : Buffer.alloc(size, 'x');
/** Bytes each message's answer has. */
const expected = shape === 'http' ? httpReply(size).length : size;
let latencies = new Float64Array(1 << 20);
let count = 0;

function record(microseconds) {
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[count++] = microseconds;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const started = performance.now();
const deadline = started + seconds * 1000;
let open = connections;

function finish() {
  const elapsed = (performance.now() - started) / 1000;
  const sorted = latencies.subarray(0, count).sort();
  const result = {
    msgs: count,
    seconds: elapsed,
    msgsPerSec: count / elapsed,
    p50Us: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99),
  };
  console.log(JSON.stringify(result));
}

for (let i = 0; i < connections; i++) {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let received = 0;
  let sentAt = 0;
  const send = () => {
    sentAt = performance.now();
    socket.write(message);
  };
  socket.on('connect', send);
  socket.on('data', (data) => {
    received += data.length;
    while (received >= expected) {
      received -= expected;
      const now = performance.now();
      record((now - sentAt) * 1000);
      if (now < deadline) send();
      else {
        socket.end();
        return;
      }
    }
  });
  socket.on('error', (err) => {
    console.error(`echo client: ${err.message}`);
    process.exitCode = 1;
  });
  socket.on('close', () => {
    if (--open === 0) finish();
  });
}
