/**
 * Streams: StreamReader semantics (fed directly, as CPython's test_streams
 * does), and openConnection / startServer over real sockets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  CancelledError,
  ConnectionError,
  ConnectionResetError,
  createTask,
  currentTask,
  getRunningLoop,
  IncompleteReadError,
  LimitOverrunError,
  newEventLoop,
  openConnection,
  openUnixConnection,
  RuntimeError,
  sleep,
  startServer,
  startUnixServer,
  StreamReader,
  ValueError,
  type ExceptionContext,
  type Server,
  type StreamWriter,
  type Transport,
} from '../../src/loop/index.js';
import { checkFdLeaks, runInLoop, until, rejection, portOf, seededRandom } from '../helpers.js';

/** A reader fed `chunks` and then EOF. */
function fedReader(chunks: (string | Buffer)[], options: { limit?: number; eof?: boolean } = {}): StreamReader {
  const reader = new StreamReader({ limit: options.limit, loop: getRunningLoop() });
  for (const chunk of chunks) reader.feedData(Buffer.from(chunk));
  if (options.eof ?? true) reader.feedEof();
  return reader;
}

const randomGenerator = seededRandom;

describe('StreamReader', () => {
  checkFdLeaks();

  it('read(0) is empty, read(n) returns what is buffered, read() reads to EOF', async () => {
    await runInLoop(async () => {
      const reader = fedReader(['line1\n', 'line2\n', 'line3']);
      expect((await reader.read(0)).length).to.equal(0);
      expect((await reader.read(3)).toString()).to.equal('lin');
      expect((await reader.read(5)).toString()).to.equal('e1\nli');
      expect((await reader.read()).toString()).to.equal('ne2\nline3');
      expect(reader.atEof()).to.equal(true);
      expect((await reader.read(10)).length).to.equal(0);
      expect((await reader.read(-1)).length).to.equal(0);
    });
  });

  it('read(n) waits for data and wakes on feedData or feedEof', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const reader = new StreamReader({ loop });
      const pending = reader.read(30);
      loop.callSoon(() => reader.feedData(Buffer.from('chunk')));
      expect((await pending).toString()).to.equal('chunk');
      const atEof = reader.read(30);
      loop.callSoon(() => reader.feedEof());
      expect((await atEof).length).to.equal(0);
      expect(reader.atEof()).to.equal(true);
    });
  });

  it('read() to EOF collects more than the limit', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const reader = new StreamReader({ limit: 4, loop });
      const all = reader.read();
      for (const chunk of ['0123', '4567', '89']) {
        await sleep(0);
        reader.feedData(Buffer.from(chunk));
      }
      reader.feedEof();
      expect((await all).toString()).to.equal('0123456789');
    });
  });

  it('readline() returns lines, then the partial last line, then empty', async () => {
    await runInLoop(async () => {
      const reader = fedReader(['chunk1 ', 'chunk2 ', 'chunk3 \n chunk4', ' tail']);
      expect((await reader.readline()).toString()).to.equal('chunk1 chunk2 chunk3 \n');
      expect((await reader.readline()).toString()).to.equal(' chunk4 tail');
      expect((await reader.readline()).length).to.equal(0);
      expect(reader.atEof()).to.equal(true);
    });
  });

  it('readline() discards an over-limit line and raises ValueError (separator found)', async () => {
    await runInLoop(async () => {
      const reader = fedReader(['li', 'ne1\nline2\n'], { limit: 3 });
      const err = await rejection(reader.readline());
      expect(err).to.be.instanceOf(ValueError);
      expect((err as Error).message).to.equal('Separator is found, but chunk is longer than limit');
      // line1 and its newline went; the next line is intact.
      expect((await reader.read()).toString()).to.equal('line2\n');
    });
  });

  it('readline() clears the buffer and raises ValueError when no separator fits the limit', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const reader = new StreamReader({ limit: 7, loop });
      reader.feedData(Buffer.from('1234567'));
      reader.feedData(Buffer.from('89'));
      const err = await rejection(reader.readline());
      expect(err).to.be.instanceOf(ValueError);
      expect((err as Error).message).to.equal('Separator is not found, and chunk exceed the limit');
      reader.feedData(Buffer.from('ok\n'));
      expect((await reader.readline()).toString()).to.equal('ok\n');
    });
  });

  it('readuntil() with a multi-byte separator, across chunks', async () => {
    await runInLoop(async () => {
      const reader = fedReader(['lineAA', 'A', 'AAxyzAAA']);
      expect((await reader.readuntil('AAA')).toString()).to.equal('lineAAA');
      expect((await reader.readuntil(Buffer.from('AAA'))).toString()).to.equal('AAxyzAAA');
      expect(reader.atEof()).to.equal(true);
    });
  });

  it('readuntil() with several separators returns the shortest match', async () => {
    await runInLoop(async () => {
      const reader = fedReader(['abcXYde\r\nfg\n']);
      expect((await reader.readuntil(['\r\n', 'Y', 'XYd'])).toString()).to.equal('abcXY');
      expect((await reader.readuntil(['\n', '\r\n'])).toString()).to.equal('de\r\n');
      expect((await reader.readuntil(['g\n', 'fg\n'])).toString()).to.equal('fg\n');
      expect(await rejection(reader.readuntil([]))).to.be.instanceOf(ValueError);
      expect(await rejection(reader.readuntil(''))).to.be.instanceOf(ValueError);
      expect(await rejection(reader.readuntil(['x', '']))).to.be.instanceOf(ValueError);
    });
  });

  it('readuntil() raises LimitOverrunError with consumed and leaves the buffer intact', async () => {
    await runInLoop(async () => {
      const found = fedReader(['some dataAAA'], { limit: 3 });
      const err = (await rejection(found.readuntil('AAA'))) as LimitOverrunError;
      expect(err).to.be.instanceOf(LimitOverrunError);
      expect(err.consumed).to.equal(9);
      expect(err.message).to.equal('Separator is found, but chunk is longer than limit');
      expect((await found.read()).toString()).to.equal('some dataAAA');

      const notFound = fedReader(['some dataAA'], { limit: 3, eof: false });
      const overrun = (await rejection(notFound.readuntil('AAA'))) as LimitOverrunError;
      expect(overrun.consumed).to.equal(9);
      expect(overrun.message).to.equal('Separator is not found, and chunk exceed the limit');
      notFound.feedEof();
      expect((await notFound.read()).toString()).to.equal('some dataAA');
    });
  });

  it('readuntil() raises IncompleteReadError with the partial data at EOF, clearing the buffer', async () => {
    await runInLoop(async () => {
      const reader = fedReader(['no separatorAA']);
      const err = (await rejection(reader.readuntil('AAA'))) as IncompleteReadError;
      expect(err).to.be.instanceOf(IncompleteReadError);
      expect(err.partial.toString()).to.equal('no separatorAA');
      expect(err.expected).to.equal(null);
      expect(reader.atEof()).to.equal(true);
    });
  });

  it('readexactly() returns exactly n bytes, or IncompleteReadError at EOF', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const reader = new StreamReader({ loop });
      const data = '0123456789abcdefgh';
      const exact = reader.readexactly(2 * data.length);
      loop.callSoon(() => reader.feedData(Buffer.from(data)));
      loop.callLater(0.001, () => reader.feedData(Buffer.from(data)));
      loop.callLater(0.002, () => reader.feedData(Buffer.from(data)));
      expect((await exact).toString()).to.equal(data + data);
      expect((await reader.readexactly(data.length)).toString()).to.equal(data);

      const short = fedReader([data]);
      const err = (await rejection(short.readexactly(2 * data.length))) as IncompleteReadError;
      expect(err).to.be.instanceOf(IncompleteReadError);
      expect(err.message).to.equal('18 bytes read on a total of 36 expected bytes');
      expect(err.partial.toString()).to.equal(data);
      expect(err.expected).to.equal(36);
      expect((await short.readexactly(0)).length).to.equal(0);
      expect(await rejection(short.readexactly(-1))).to.be.instanceOf(ValueError);
    });
  });

  it('readexactly() over twice the limit resumes a paused transport instead of stalling', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const server = await startServer(
        async (_reader, writer) => {
          writer.write(Buffer.alloc(100_000, 'q'));
          await writer.drain();
          writer.close();
        },
        '127.0.0.1',
        0,
      );
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server), { limit: 10 });
      await until(() => writer.transport.isClosing() || !(writer.transport as Transport).isReading());
      expect((await reader.readexactly(100_000)).length).to.equal(100_000);
      writer.close();
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
      expect(loop.isRunning()).to.equal(true);
    });
  });

  it('iterates lines with for await', async () => {
    await runInLoop(async () => {
      const reader = fedReader(['line1\nline2\n', 'line3']);
      const lines: string[] = [];
      for await (const line of reader) lines.push(line.toString());
      expect(lines).to.deep.equal(['line1\n', 'line2\n', 'line3']);
    });
  });

  it('refuses a second concurrent read', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const reader = new StreamReader({ loop });
      const first = reader.readuntil('\n');
      await sleep(0);
      const err = await rejection(reader.read(10));
      expect(err).to.be.instanceOf(RuntimeError);
      expect((err as Error).message).to.equal('read() called while another coroutine is already waiting for incoming data');
      const second = await rejection(reader.readuntil('\n'));
      expect((second as Error).message).to.equal(
        'readuntil() called while another coroutine is already waiting for incoming data',
      );
      reader.feedData(Buffer.from('done\n'));
      expect((await first).toString()).to.equal('done\n');
    });
  });

  it('a cancelled read raises CancelledError and leaves buffered data for the next', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const reader = new StreamReader({ loop });
      const reading = loop.createTask(() => reader.read(5));
      await sleep(0);
      reading.cancel();
      expect(await rejection(reading)).to.be.instanceOf(CancelledError);
      const fromGenerator = loop.createTask(function* () {
        return yield reader.read(5);
      });
      await sleep(0);
      fromGenerator.cancel();
      expect(await rejection(fromGenerator)).to.be.instanceOf(CancelledError);
      const exactly = loop.createTask(() => reader.readexactly(10));
      await sleep(0);
      reader.feedData(Buffer.from('12345'));
      await sleep(0);
      exactly.cancel();
      expect(await rejection(exactly)).to.be.instanceOf(CancelledError);
      const until = loop.createTask(() => reader.readuntil('!'));
      await sleep(0);
      until.cancel();
      expect(await rejection(until)).to.be.instanceOf(CancelledError);
      reader.feedData(Buffer.from('67890'));
      expect((await reader.readexactly(10)).toString()).to.equal('1234567890');
    });
  });

  it('a read by a task with a cancel pending raises CancelledError at once and leaves the reader free', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const reader = new StreamReader({ loop });
      const task = loop.createTask(async () => {
        currentTask()!.cancel('pending');
        try {
          await reader.read(5);
        } catch (err) {
          return err;
        }
        return null;
      });
      const err = await task;
      expect(err).to.be.instanceOf(CancelledError);
      expect((err as Error).message).to.equal('pending');
      expect(String(reader)).to.not.contain('waiter');
      const next = reader.read(5);
      reader.feedData(Buffer.from('after'));
      expect((await next).toString()).to.equal('after');
    });
  });

  it('refuses a read from a task of another loop', async () => {
    const other = newEventLoop();
    const reader = new StreamReader({ loop: other });
    const err = await runInLoop(async () => rejection(createTask(() => reader.read(5))));
    other.close();
    expect(err).to.be.instanceOf(RuntimeError);
    expect((err as Error).message).to.match(/attached to a different loop/);
  });

  it('raises the exception set on it from every read, and wakes a waiting one with it', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const reader = new StreamReader({ loop });
      const waiting = reader.readline();
      const failure = new ConnectionResetError('gone');
      loop.callSoon(() => reader.setException(failure));
      expect(await rejection(waiting)).to.equal(failure);
      expect(reader.exception()).to.equal(failure);
      expect(await rejection(reader.read())).to.equal(failure);
      expect(await rejection(reader.readexactly(1))).to.equal(failure);
      expect(await rejection(reader.readuntil('x'))).to.equal(failure);
    });
  });

  it('rejects a limit <= 0 and a read size that is not an integer', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      expect(() => new StreamReader({ limit: 0, loop })).to.throw(ValueError, 'Limit cannot be <= 0');
      expect(() => new StreamReader({ limit: -5, loop })).to.throw(ValueError);
      expect(await rejection(new StreamReader({ loop }).read(1.5))).to.be.instanceOf(TypeError);
      expect(await rejection(openConnection('127.0.0.1', 1, { limit: 0 }))).to.be.instanceOf(ValueError);
      expect(await rejection(startServer(() => undefined, '127.0.0.1', 0, { limit: -1 }))).to.be.instanceOf(ValueError);
    });
  });

  it('gives the same lines for any chunking of the same bytes (property)', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const random = randomGenerator(20240611);
      for (let round = 0; round < 200; round++) {
        const lines: string[] = [];
        const lineCount = 1 + Math.floor(random() * 8);
        for (let i = 0; i < lineCount; i++) {
          const length = Math.floor(random() * 12);
          lines.push(`${'x'.repeat(length)}${i}\n`);
        }
        if (random() < 0.5) lines.push('no-newline');
        const bytes = Buffer.from(lines.join(''));
        const reader = new StreamReader({ limit: 16, loop });
        const reading = (async () => {
          const got: string[] = [];
          for await (const line of reader) got.push(line.toString());
          return got;
        })();
        for (let at = 0; at < bytes.length; ) {
          const size = 1 + Math.floor(random() * 7);
          reader.feedData(bytes.subarray(at, at + size));
          at += size;
          if (random() < 0.5) await sleep(0);
        }
        reader.feedEof();
        expect(await reading, `round ${round}`).to.deep.equal(lines);
      }
    });
  });

  it('shows its state in toString()', async () => {
    await runInLoop(async () => {
      const reader = fedReader(['abc'], { limit: 5 });
      expect(String(reader)).to.equal('<StreamReader 3 bytes eof limit=5>');
    });
  });
});

describe('openConnection / startServer', () => {
  checkFdLeaks();

  /** A line echo server: each line back, upper-cased. */
  async function upperServer(): Promise<Server> {
    return startServer(
      async (reader, writer) => {
        for await (const line of reader) {
          writer.write(line.toString().toUpperCase());
          await writer.drain();
        }
        writer.close();
        await writer.waitClosed();
      },
      '127.0.0.1',
      0,
    );
  }

  it('exchanges lines, then closes on both sides', async () => {
    await runInLoop(async () => {
      const server = await upperServer();
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.write('hello\n');
      writer.writelines(['a', 'b\n']);
      await writer.drain();
      expect((await reader.readline()).toString()).to.equal('HELLO\n');
      expect((await reader.readline()).toString()).to.equal('AB\n');
      expect(writer.canWriteEof()).to.equal(true);
      writer.writeEof();
      expect((await reader.read()).length).to.equal(0);
      expect(reader.atEof()).to.equal(true);
      writer.close();
      expect(writer.isClosing()).to.equal(true);
      await writer.waitClosed();
      expect(writer.getExtraInfo('peername')).to.deep.equal(['127.0.0.1', portOf(server)]);
      server.close();
      await server.waitClosed();
    });
  });

  it('drain() waits only while the transport is paused, and wakes every drainer', async () => {
    await runInLoop(async () => {
      let serverReader: StreamReader | null = null;
      const server = await startServer(
        async (reader) => {
          serverReader = reader;
        },
        '127.0.0.1',
        0,
        { limit: 1024 },
      );
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      await writer.drain(); // nothing buffered: at once
      writer.transport.setWriteBufferLimits(0);
      writer.write(Buffer.alloc(8 * 1024 * 1024));
      const drains = [writer.drain(), writer.drain(), writer.drain()];
      let drained = 0;
      for (const drain of drains) void drain.then(() => drained++);
      await sleep(0.02);
      expect(drained).to.equal(0);
      await until(() => serverReader !== null);
      // Read everything: the client's buffer empties and every drain() returns.
      const received = await serverReader!.readexactly(8 * 1024 * 1024);
      expect(received.length).to.equal(8 * 1024 * 1024);
      await Promise.all(drains);
      expect(drained).to.equal(3);
      writer.close();
      await writer.waitClosed();
      expect(reader.atEof()).to.equal(true);
      server.close();
      server.abortClients();
      await server.waitClosed();
    });
  });

  it('drain() raises a ConnectionError instead of hanging once the peer is gone', async () => {
    await runInLoop(async () => {
      const server = await startServer(
        (_reader, writer) => {
          (writer.getExtraInfo('socket') as { resetAndDestroy(): void }).resetAndDestroy();
        },
        '127.0.0.1',
        0,
      );
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      let error: unknown = null;
      for (let i = 0; i < 1000 && error === null; i++) {
        writer.write(Buffer.alloc(64 * 1024));
        try {
          await writer.drain();
        } catch (err) {
          error = err;
        }
      }
      expect(error).to.be.instanceOf(ConnectionError);
      expect((error as ConnectionError).code).to.be.oneOf(['ECONNRESET', 'EPIPE']);
      const readError = await rejection(reader.read());
      expect(readError).to.be.instanceOf(ConnectionError);
      expect(await rejection(writer.waitClosed())).to.equal(readError);
      server.close();
      await server.waitClosed();
    });
  });

  it('drain() after close() raises ConnectionResetError once the connection is lost', async () => {
    await runInLoop(async () => {
      const server = await upperServer();
      const [, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.close();
      await writer.waitClosed();
      const err = await rejection(writer.drain());
      expect(err).to.be.instanceOf(ConnectionResetError);
      expect((err as Error).message).to.equal('Connection lost');
      expect((err as ConnectionResetError).code).to.equal('ECONNRESET');
      writer.write('ignored'); // after close: dropped, no error
      server.close();
      await server.waitClosed();
    });
  });

  it('pauses reading above twice the limit and resumes once drained to the limit', async () => {
    await runInLoop(async () => {
      const server = await startServer(
        async (_reader, writer) => {
          writer.write(Buffer.alloc(64 * 1024, 'p'));
          await writer.drain();
        },
        '127.0.0.1',
        0,
      );
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server), { limit: 1000 });
      const transport = writer.transport as Transport;
      await until(() => !transport.isReading());
      expect(String(reader)).to.contain('paused');
      // Read down to the limit: reading starts again.
      let total = 0;
      while (String(reader).includes('paused')) total += (await reader.read(500)).length;
      expect(transport.isReading()).to.equal(true);
      while (total < 64 * 1024) total += (await reader.read(64 * 1024)).length;
      expect(total).to.equal(64 * 1024);
      writer.close();
      await writer.waitClosed();
      server.close();
      server.abortClients();
      await server.waitClosed();
    });
  });

  it('reports a failing client callback and closes its connection', async () => {
    const contexts: ExceptionContext[] = [];
    await runInLoop(
      async () => {
        const failure = new Error('handler failed');
        const server = await startServer(
          async () => {
            throw failure;
          },
          '127.0.0.1',
          0,
        );
        const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
        expect((await reader.read()).length).to.equal(0);
        expect(contexts).to.have.length(1);
        expect(contexts[0].message).to.equal('Unhandled exception in client_connected_cb');
        expect(contexts[0].exception).to.equal(failure);
        writer.close();
        await writer.waitClosed();
        server.close();
        await server.waitClosed();
      },
      (loop) => loop.setExceptionHandler((_loop, context) => contexts.push(context)),
    );
  });

  it('runs generator-function client callbacks as tasks too', async () => {
    await runInLoop(async () => {
      const server = await startServer(
        function* (reader: StreamReader, writer: StreamWriter) {
          const line = (yield reader.readline()) as Buffer;
          writer.write(`gen:${line.toString()}`);
          writer.close();
        },
        '127.0.0.1',
        0,
      );
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.write('hi\n');
      expect((await reader.read()).toString()).to.equal('gen:hi\n');
      writer.close();
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
    });
  });

  it('cancelling a task blocked in a read ends it with CancelledError', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const server = await upperServer();
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      const reading = loop.createTask(() => reader.readline());
      await sleep(0.01);
      reading.cancel();
      expect(await rejection(reading)).to.be.instanceOf(CancelledError);
      writer.write('after cancel\n');
      expect((await reader.readline()).toString()).to.equal('AFTER CANCEL\n');
      writer.close();
      await writer.waitClosed();
      server.close();
      await server.waitClosed();
    });
  });

  it('works over Unix sockets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'greenloop-streams-'));
    try {
      await runInLoop(async () => {
        const path = join(dir, 'streams.sock');
        const server = await startUnixServer(async (reader, writer) => {
          writer.write(await reader.readexactly(5));
          writer.close();
        }, path);
        const [reader, writer] = await openUnixConnection(path);
        writer.write('12345');
        expect((await reader.read()).toString()).to.equal('12345');
        expect(writer.getExtraInfo('peername')).to.equal(path);
        writer.close();
        await writer.waitClosed();
        server.close();
        await server.waitClosed();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
