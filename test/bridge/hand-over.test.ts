/**
 * Live connections handed over mid-conversation, both ways, with a real
 * peer on 127.0.0.1 that keeps sending while the connection changes hands
 * and reads back the echo: every byte must come back once, in order, the
 * end of stream and a connection reset must carry over, and the object
 * left behind must be detached. Split points, chunk sizes and read sizes
 * come from a seeded generator: HANDOVER_SEED=<n> replays a failed run.
 */
import net from 'node:net';
import { expect } from 'chai';
import { handOver, runGreen, toGreenSocket, toStreams, HandedOverError } from '../../src/bridge/index.js';
import { gather, openConnection, RuntimeError, sleep, startServer, ValueError, type StreamReader, type StreamWriter } from '../../src/loop/index.js';
import { checkFdLeaks, portOf, rejection, runInLoop, seededRandom } from '../helpers.js';
import { TEST_POOL_SIZE, useGreenWorkers } from '../green-workers.js';
import {
  closeSocket,
  greenHead,
  greenMisuse,
  greenTail,
  handOverThenUse,
  openListener,
  portOfListener,
  type HeadMode,
  type HeadOutcome,
} from './fixtures/hand-over.js';

const SEED = Number(process.env.HANDOVER_SEED ?? Math.floor(Math.random() * 2 ** 31));

const random = seededRandom(SEED);
const between = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));

/** `size` bytes from the generator: no period a reordering could hide in. */
function payload(size: number): Buffer {
  const data = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) data[i] = Math.floor(random() * 256);
  return data;
}

interface PeerResult {
  received: Buffer;
  error: string | null;
}

/**
 * A peer that connects to `port`, sends `data` in chunks of random sizes
 * (yielding to the event loop between some of them, so the server sees it
 * arrive while it works), and collects what comes back. `ending`: 'end'
 * half-closes once everything is sent; 'reset' resets the connection once
 * the echo of everything came back.
 */
function peer(port: number, data: Buffer, ending: 'end' | 'reset'): Promise<PeerResult> {
  const chunks = [...chunked(data)];
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    let size = 0;
    let error: string | null = null;
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(60_000, () => socket.destroy(new Error('peer: no progress for 60 s')));
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      size += chunk.length;
      if (ending === 'reset' && size === data.length) socket.resetAndDestroy();
    });
    socket.on('error', (err) => (error = err.message));
    socket.on('close', () => resolve({ received: Buffer.concat(received), error }));
    const send = (): void => {
      while (chunks.length > 0) {
        const more = socket.write(chunks.shift() as Buffer);
        if (!more) {
          socket.once('drain', send);
          return;
        }
        if (random() < 0.3) {
          setImmediate(send);
          return;
        }
      }
      if (ending === 'end') socket.end();
    };
    socket.once('connect', send);
  });
}

function* chunked(data: Buffer): Generator<Buffer> {
  for (let at = 0; at < data.length; ) {
    const size = Math.min(data.length - at, between(1, 16384));
    yield data.subarray(at, at + size);
    at += size;
  }
}

/** Where `received` first differs from `sent`, for a readable failure. */
function describeMismatch(sent: Buffer, received: Buffer): string {
  let at = 0;
  while (at < Math.min(sent.length, received.length) && sent[at] === received[at]) at++;
  return `seed ${SEED}: sent ${sent.length} bytes, echoed ${received.length}, first difference at byte ${at}`;
}

describe('bridge: live connections handed over between green and async code', function () {
  this.timeout(120_000);
  useGreenWorkers(TEST_POOL_SIZE);
  checkFdLeaks(5000, { networkOnly: true });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`    hand-over seed: ${SEED} (replay with HANDOVER_SEED=${SEED})`);
  });

  /** One connection: a green head echoes `split` bytes then hands over; the peer sends all of `data`. */
  async function greenThenAsync(mode: HeadMode, data: Buffer, split: number, ending: 'end' | 'reset', pause = 0): Promise<[HeadOutcome, PeerResult]> {
    const listener = await runGreen(openListener);
    const port = await runGreen(portOfListener, listener);
    try {
      const head = runGreen(greenHead, listener, split, between(1, 70_000), mode, pause);
      const result = await peer(port, data, ending);
      return [await head, result];
    } finally {
      await runGreen(closeSocket, listener);
    }
  }

  for (const mode of ['recv', 'makefile', 'callAsync'] as const) {
    it(`green -> async (${mode === 'callAsync' ? 'callAsync + toStreams' : `handOver after ${mode}`}): every byte echoed once, in order`, async () => {
      await runInLoop(async () => {
        const rounds = await gather(
          ...[0, 1, 2].map(() => {
            const data = payload(between(100_000, 600_000));
            return greenThenAsync(mode, data, between(1, data.length - 1), 'end').then((outcome) => [data, outcome] as const);
          }),
        );
        for (const [data, [head, result]] of rounds) {
          expect(result.received.equals(data), describeMismatch(data, result.received)).to.equal(true);
          expect(result.error, `seed ${SEED}`).to.equal(null);
          expect(head.total, `seed ${SEED}`).to.equal(data.length);
          if (mode !== 'callAsync') expect(head.afterwards).to.equal('HandedOverError EBADF');
        }
      });
    });
  }

  it('green -> async: the end of stream, already received, carries over after the unread bytes', async () => {
    await runInLoop(async () => {
      const data = payload(between(20_000, 150_000));
      // The head waits 0.5 s after its share: the rest and the FIN are in the hub by then.
      const [head, result] = await greenThenAsync('recv', data, between(1, data.length - 1), 'end', 0.5);
      expect(result.received.equals(data), describeMismatch(data, result.received)).to.equal(true);
      expect(head.total).to.equal(data.length);
    });
  });

  it('green -> async: a connection reset carries over and is raised by the async side', async () => {
    await runInLoop(async () => {
      const data = payload(between(1_000, 50_000));
      // The head echoes everything, the peer resets on the last byte back, the head hands over 0.5 s later.
      const [head] = await greenThenAsync('recv', data, data.length, 'reset', 0.5);
      expect(head.head).to.equal(data.length);
      expect(head.total).to.equal('ConnectionResetError');
    });
  });

  /**
   * An async server whose handler echoes `split` bytes, then gives the
   * connection to the green `greenTail`; resolves to what the tail returned.
   */
  async function asyncThenGreen(data: Buffer, split: number, ending: 'end' | 'reset', pause = 0): Promise<[unknown, PeerResult, string[]]> {
    let handed: (tail: Promise<unknown>) => void = () => undefined;
    const tail = new Promise<Promise<unknown>>((resolve) => (handed = resolve));
    const afterwards: string[] = [];
    const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
      let done = 0;
      while (done < split) {
        const chunk = await reader.read(Math.min(between(1, 70_000), split - done));
        if (chunk.length === 0) break;
        writer.write(chunk);
        done += chunk.length;
      }
      if (pause > 0) await sleep(pause);
      const sock = toGreenSocket(reader, writer);
      handed(Promise.resolve(runGreen(greenTail, sock, done, 0)));
      afterwards.push(await reader.read(1).then(String, (error: unknown) => (error instanceof HandedOverError ? 'read: HandedOverError' : String(error))));
      try {
        writer.write('late');
        afterwards.push('write worked');
      } catch (error) {
        afterwards.push(error instanceof HandedOverError ? 'write: HandedOverError' : String(error));
      }
    }, '127.0.0.1', 0);
    try {
      const result = await peer(portOf(server), data, ending);
      return [await (await tail), result, afterwards];
    } finally {
      server.close();
      await server.waitClosed();
    }
  }

  it('async -> green (toGreenSocket): every byte echoed once, in order; the streams are detached', async () => {
    await runInLoop(async () => {
      const rounds = await gather(
        ...[0, 1, 2].map(() => {
          const data = payload(between(100_000, 600_000));
          return asyncThenGreen(data, between(1, data.length - 1), 'end').then((outcome) => [data, outcome] as const);
        }),
      );
      for (const [data, [total, result, afterwards]] of rounds) {
        expect(result.received.equals(data), describeMismatch(data, result.received)).to.equal(true);
        expect(total, `seed ${SEED}`).to.equal(data.length);
        expect(afterwards).to.deep.equal(['read: HandedOverError', 'write: HandedOverError']);
      }
    });
  });

  it('async -> green: the end of stream, already received, carries over after the unread bytes', async () => {
    await runInLoop(async () => {
      const data = payload(between(20_000, 100_000));
      const [total, result] = await asyncThenGreen(data, between(1, data.length - 1), 'end', 0.5);
      expect(result.received.equals(data), describeMismatch(data, result.received)).to.equal(true);
      expect(total).to.equal(data.length);
    });
  });

  it('async -> green: a connection reset carries over and is raised by the green side', async () => {
    await runInLoop(async () => {
      const data = payload(between(1_000, 50_000));
      const [total] = await asyncThenGreen(data, data.length, 'reset', 0.5);
      expect(total).to.equal('ConnectionResetError');
    });
  });

  describe('misuse and the objects left behind', () => {
    it('raises documented errors at the call: toStreams in green code, handOver of a socket with no connection', async () => {
      const outcome = await runInLoop(() => runGreen(greenMisuse));
      expect(outcome).to.deep.equal({
        'toStreams in green code': 'RuntimeError: ',
        'handOver of a listening socket': 'SocketError: ENOTCONN',
        'handOver of a closed socket': 'SocketError: EBADF',
      });
      expect(() => handOver(null as never, echoLater)).to.throw(RuntimeError, /handOver\(\) is for green code; async code takes a green socket with toStreams/);
    });

    it('a green socket handed over raises HandedOverError on every later call, and so does its file; close() does nothing', async () => {
      await runInLoop(async () => {
        const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
          writer.write('hello\nrest\n');
          writer.close();
          await reader.read();
        }, '127.0.0.1', 0);
        try {
          const seen = await runGreen(handOverThenUse, portOf(server));
          expect(seen.slice(0, 3)).to.have.length(3);
          for (const line of seen.slice(0, 3)) {
            expect(line).to.match(/^HandedOverError EBADF: \[Errno 9\] Bad file descriptor: <greenloop\.socket fd=\d+, .*> was handed over to the async handler echoTail \(handOver\); use that side from now on$/);
          }
          expect(seen[3]).to.equal('fileno -1');
        } finally {
          server.close();
          await server.waitClosed();
        }
      });
    });

    it('toGreenSocket refuses a writer already closing (ValueError) and detaches reader and writer, waitClosed included', async () => {
      await runInLoop(async () => {
        const outcomes: string[] = [];
        const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
          const sock = toGreenSocket(reader, writer);
          outcomes.push(String(await rejection(writer.waitClosed())).split(':')[0]);
          outcomes.push(await runGreen(greenTail, sock, 0, 0).then(String));
        }, '127.0.0.1', 0);
        const closing = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
          writer.write('bye\n');
          writer.close();
          try {
            toGreenSocket(reader, writer);
          } catch (error) {
            outcomes.push(error instanceof ValueError ? error.message : String(error));
          }
        }, '127.0.0.1', 0);
        try {
          const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
          writer.write('ping\n');
          writer.writeEof();
          expect((await reader.read()).toString()).to.equal('ping\n');
          writer.close();
          const [reader2, writer2] = await openConnection('127.0.0.1', portOf(closing));
          expect((await reader2.read()).toString()).to.equal('bye\n');
          writer2.close();
          await sleep(0.1);
          expect(outcomes).to.have.members(['toGreenSocket(): the writer is closing', 'HandedOverError', '5']);
        } finally {
          for (const each of [server, closing]) {
            each.close();
            await each.waitClosed();
          }
        }
      });
    });

    it('toStreams raises RuntimeError with no running loop', () => {
      expect(() => toStreams(null as never)).to.throw(RuntimeError);
    });
  });
});

/** Not module-level on purpose: handOver must refuse async code before it looks at it. */
async function echoLater(): Promise<void> {}

