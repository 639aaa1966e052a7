// The green design's floor, without greenloop: Node's net server on the main
// thread hands each connection's data to a worker thread of its own, parked
// in Atomics.wait, and writes what the worker hands back, woken by one shared
// doorbell through Atomics.waitAsync, as greenloop's hub is. Nothing else: no
// event loop of greenloop's, no operations, no codec, one message each way.
// What it costs beyond node-raw.mjs is what two thread wake-ups per echo cost
// on this machine; what green-echo.ts costs beyond it is greenloop's own.
//
//   node bench/echo-servers/node-handoff.mjs PORT [CONNECTIONS=10]
import { createServer } from 'node:net';
import { Worker } from 'node:worker_threads';

const port = Number(process.argv[2]);
const prestart = Number(process.argv[3] ?? 10);
const ROOM = 64 * 1024;
// Per worker, Int32 slots: DOWN bumped by the main thread per message, PARKED while the worker
// waits, the lengths of the message down and of the reply up (-1: none waiting).
const DOWN = 0;
const PARKED = 1;
const DOWN_LENGTH = 2;
const UP_LENGTH = 3;
// Shared by all: the doorbell counter, and whether the main thread waits on it.
const BELL = 0;
const WAITING = 1;

const WORKER = `
const { workerData } = require('node:worker_threads');
const { ctl, down, up, shared } = workerData;
const control = new Int32Array(ctl);
const bell = new Int32Array(shared);
const downBytes = Buffer.from(down);
const upBytes = Buffer.from(up);
let seen = 0;
for (;;) {
  Atomics.store(control, ${PARKED}, 1);
  Atomics.wait(control, ${DOWN}, seen);
  Atomics.store(control, ${PARKED}, 0);
  seen = Atomics.load(control, ${DOWN});
  // The message as its own Buffer, as a green recv() returns it; then sent back.
  const data = Buffer.from(downBytes.subarray(0, Atomics.load(control, ${DOWN_LENGTH})));
  data.copy(upBytes);
  Atomics.store(control, ${UP_LENGTH}, data.length);
  Atomics.add(bell, ${BELL}, 1);
  if (Atomics.load(bell, ${WAITING}) !== 0) Atomics.notify(bell, ${BELL});
}
`;

const shared = new Int32Array(new SharedArrayBuffer(8));
const idle = [];
const busy = new Set();

function startWorker() {
  const slot = {
    control: new Int32Array(new SharedArrayBuffer(16)),
    down: new SharedArrayBuffer(ROOM),
    up: new SharedArrayBuffer(ROOM),
    socket: null,
    queue: [],
    inFlight: false,
  };
  Atomics.store(slot.control, UP_LENGTH, -1);
  const workerData = { ctl: slot.control.buffer, down: slot.down, up: slot.up, shared: shared.buffer };
  slot.worker = new Worker(WORKER, { eval: true, workerData });
  slot.worker.unref();
  slot.downBytes = Buffer.from(slot.down);
  slot.upBytes = Buffer.from(slot.up);
  return slot;
}

function release(slot) {
  busy.delete(slot);
  idle.push(slot);
}

function handDown(slot) {
  if (slot.inFlight || slot.queue.length === 0) return;
  const data = slot.queue.length === 1 ? slot.queue[0] : Buffer.concat(slot.queue);
  slot.queue = [];
  const size = Math.min(data.length, ROOM);
  if (size < data.length) slot.queue.push(data.subarray(size));
  data.copy(slot.downBytes, 0, 0, size);
  Atomics.store(slot.control, DOWN_LENGTH, size);
  slot.inFlight = true;
  Atomics.add(slot.control, DOWN, 1);
  if (Atomics.load(slot.control, PARKED) !== 0) Atomics.notify(slot.control, DOWN);
}

/** Writes every reply waiting, and hands the next data down. */
function collect() {
  for (const slot of busy) {
    const length = Atomics.load(slot.control, UP_LENGTH);
    if (length < 0) continue;
    const reply = Buffer.from(slot.upBytes.subarray(0, length));
    Atomics.store(slot.control, UP_LENGTH, -1);
    slot.inFlight = false;
    if (slot.socket === null) release(slot);
    else slot.socket.write(reply);
    handDown(slot);
  }
}

async function listenToBell() {
  for (;;) {
    const seen = Atomics.load(shared, BELL);
    collect();
    Atomics.store(shared, WAITING, 1);
    const wait = Atomics.waitAsync(shared, BELL, seen);
    if (wait.async) await wait.value;
    Atomics.store(shared, WAITING, 0);
  }
}

for (let i = 0; i < prestart; i++) idle.push(startWorker());
void listenToBell();

createServer((socket) => {
  socket.setNoDelay(true);
  const slot = idle.pop() ?? startWorker();
  slot.socket = socket;
  busy.add(slot);
  socket.on('data', (data) => {
    slot.queue.push(data);
    handDown(slot);
  });
  socket.on('close', () => {
    slot.socket = null;
    slot.queue = [];
    // A reply still to come frees the slot when it does.
    if (!slot.inFlight) release(slot);
  });
  socket.on('error', () => undefined);
}).listen(port, '127.0.0.1', () => console.log('ready'));
