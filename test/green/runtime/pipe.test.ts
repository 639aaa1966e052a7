/**
 * The shared-memory pipes of a channel: messages arrive in the order sent,
 * each once, as structured clone would deliver them, whether they cross in
 * the ring or through the port (exotic, oversized, or no room); `send`
 * never blocks; a message that cannot cross throws and changes nothing.
 * Within one thread (a MessageChannel) and across a real worker thread.
 */
import { expect } from 'chai';
import sinon from 'sinon';
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { RING_CAPACITY, PipeReceiver, PipeSender, channelEnds, createChannelMemory } from '../../../src/green/runtime/pipe.js';
import { tsxApiUrl } from '../../../src/green/runtime/worker-boot.js';
import type { PushMessage, ReplyMessage } from '../../../src/green/runtime/protocol.js';
import type { WireMessage } from '../../../src/green/runtime/wire.js';
import { DOWN_BELL, STOP, UP_BELL, type EchoBoot } from './fixtures/pipe-echo.js';

/** The largest frame the ring takes (the codec's limit in the pipes). */
const MAX_FRAME = RING_CAPACITY / 4;

/** A small deterministic PRNG (mulberry32): the same seed, the same test. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Bytes that depend on the message's index, so a mixed-up or torn payload shows. */
function payload(index: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (index * 131 + i * 7) & 0xff;
  return bytes;
}

type Route = 'ring' | 'port';

/** What a test sent: the message's index and bytes, and which way it went (when watched). */
interface Sent {
  readonly index: number;
  readonly message: WireMessage;
  readonly bytes: Uint8Array;
  readonly route?: Route;
}

/**
 * A pipe within this thread. The sender's `postMessage` is watched (not
 * replaced) to tell which messages crossed through the port.
 */
class LocalPipe {
  readonly memory = createChannelMemory();
  readonly channel = new MessageChannel();
  readonly sender: PipeSender;
  readonly receiver: PipeReceiver;
  readonly posted: sinon.SinonSpy;
  readonly sent: Sent[] = [];
  received = 0;

  constructor() {
    this.sender = new PipeSender(this.memory, 'down', this.channel.port1);
    this.receiver = new PipeReceiver(this.memory, 'down', this.channel.port2);
    this.posted = sinon.spy(this.channel.port1, 'postMessage');
  }

  /** Sends a message carrying `index` and `bytes`; records its route. */
  send(index: number, bytes: Uint8Array, exotic = false): Route {
    const message = messageFor(index, bytes, exotic);
    const before = this.posted.callCount;
    this.sender.send(message);
    const route: Route = this.posted.callCount === before ? 'ring' : 'port';
    this.sent.push({ index, message, bytes, route });
    return route;
  }

  /** Receives up to `limit` messages, checking each is the next one sent; returns how many came. */
  drain(limit = Infinity): number {
    let count = 0;
    while (count < limit) {
      const message = this.receiver.receive();
      if (message === undefined) break;
      expect(this.received, 'no message more than sent').to.be.below(this.sent.length);
      expectDelivered(message, this.sent[this.received]);
      this.received++;
      count++;
    }
    return count;
  }

  /** Receives everything, and checks that nothing is left. */
  drainAll(): void {
    this.drain();
    expect(this.received, 'every message sent arrived').to.equal(this.sent.length);
    expect(this.receiver.pending).to.equal(false);
    expect(this.receiver.receive()).to.equal(undefined);
  }

  /** Closes both ports, and waits until they are. */
  async close(): Promise<void> {
    this.posted.restore();
    await closePorts(this.channel);
  }
}

/** Closes a channel's ports, and resolves once both are closed. */
async function closePorts({ port1, port2 }: MessageChannel): Promise<void> {
  const closed = Promise.all([once(port1, 'close'), once(port2, 'close')]);
  port1.close();
  await closed;
}

/** A message carrying `index` and `bytes`: a reply or a push, or an exotic push (a Map: the port). */
function messageFor(index: number, bytes: Uint8Array, exotic = false): WireMessage {
  if (exotic) return { p: `exotic ${index}`, v: new Map<string, unknown>([['bytes', bytes]]) };
  if (index % 2 === 0) return { r: index, ok: true, v: { index, bytes } } satisfies ReplyMessage;
  return { p: `push ${index}`, v: [index, bytes, 'tail'] } satisfies PushMessage;
}

/** The index and bytes a message carries (see messageFor). */
function contentOf(message: WireMessage): { index: number; bytes: Uint8Array } {
  if ('r' in message) return message.v as { index: number; bytes: Uint8Array };
  const push = message as PushMessage;
  if (push.v instanceof Map) return { index: Number(push.p.split(' ')[1]), bytes: push.v.get('bytes') as Uint8Array };
  const [index, bytes] = push.v as [number, Uint8Array];
  return { index, bytes };
}

/** `value` with every Uint8Array replaced by its class and length, for a fast deep comparison. */
function summarize(value: unknown): unknown {
  if (value instanceof Uint8Array) return { class: value.constructor.name, length: value.byteLength };
  if (value instanceof Map) return new Map([...value].map(([key, item]) => [key, summarize(item)]));
  if (Array.isArray(value)) return value.map(summarize);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, summarize(item)]));
  return value;
}

/** Checks that `message` is what was sent, as structured clone delivers it: same envelope, same bytes as a plain Uint8Array. */
function expectDelivered(message: WireMessage, expected: Sent): void {
  const { index, bytes } = contentOf(message);
  expect(index, 'messages arrive in the order sent').to.equal(expected.index);
  expect(Buffer.compare(bytes, expected.bytes), `message ${index}: payload`).to.equal(0);
  expect(summarize(message), `message ${index}`).to.deep.equal(summarize(expected.message));
}

/** Encoded size of a message whose bytes are `size` long, rounded into a ring frame (an upper bound). */
function frameBytes(size: number): number {
  return size + 64;
}

describe('runtime: the shared-memory pipe', function () {
  this.timeout(5000);

  describe('within one thread', () => {
    let pipe: LocalPipe;

    beforeEach(() => {
      pipe = new LocalPipe();
    });

    afterEach(async () => {
      await pipe.close();
    });

    it('receives nothing from an empty pipe', () => {
      expect(pipe.receiver.pending).to.equal(false);
      expect(pipe.receiver.receive()).to.equal(undefined);
    });

    it('keeps the order of thousands of random messages across ring, oversized, exotic and overflow', () => {
      const random = prng(0x5eed);
      const COUNT = 4000;
      let ringBytes = 0;
      let index = 0;
      while (index < COUNT) {
        // A burst of sends, then a drain of a random part of what waits: the ring fills at times.
        const burst = random() < 0.8 ? randomInt(random, 1, 20) : randomInt(random, 50, 150);
        for (let i = 0; i < burst && index < COUNT; i++, index++) {
          const roll = random();
          if (roll < 0.01) {
            expect(pipe.send(index, payload(index, randomInt(random, 0, 64)), true), 'a Map goes by the port').to.equal('port');
          } else if (roll < 0.02) {
            const size = randomInt(random, MAX_FRAME + 1, 3 * MAX_FRAME);
            expect(pipe.send(index, payload(index, size)), 'an oversized message goes by the port').to.equal('port');
          } else {
            const size = roll < 0.1 ? randomInt(random, 1000, MAX_FRAME - 100) : randomInt(random, 0, 600);
            if (pipe.send(index, payload(index, size)) === 'ring') ringBytes += size;
          }
        }
        const waiting = pipe.sent.length - pipe.received;
        const drainRoll = random();
        if (drainRoll < 0.6) pipe.drain();
        else if (drainRoll < 0.9) pipe.drain(randomInt(random, 0, waiting));
      }
      pipe.drainAll();

      expect(ringBytes, 'the ring wrapped many times').to.be.greaterThan(15 * RING_CAPACITY);
      // An overflow episode: a message the ring could take went by the port, then later ones by the ring again.
      let episodes = 0;
      let overflowing = false;
      for (const { message, bytes, route } of pipe.sent) {
        const ringable = !('p' in message && message.p.startsWith('exotic')) && bytes.length < MAX_FRAME - 100;
        if (ringable && route === 'port') overflowing = true;
        if (route === 'ring' && overflowing) {
          overflowing = false;
          episodes++;
        }
      }
      expect(episodes, 'overflow mode started and ended several times').to.be.at.least(20);
      expect(pipe.posted.callCount, 'the port carried many messages').to.be.greaterThan(COUNT / 10);
    });

    it('goes on sending without blocking when the ring is full, and delivers all in order once drained', () => {
      const SIZE = 1000;
      const COUNT = 300;
      const started = performance.now();
      for (let index = 0; index < COUNT; index++) pipe.send(index, payload(index, SIZE));
      expect(performance.now() - started, 'sends never wait for the receiver').to.be.below(1000);

      const routes = pipe.sent.map((sent) => sent.route);
      const firstPosted = routes.indexOf('port');
      // The ring took what fits, then everything went by the port: nothing overtook.
      expect(firstPosted).to.be.within(Math.floor(RING_CAPACITY / frameBytes(SIZE)), Math.ceil(RING_CAPACITY / SIZE));
      expect(routes.slice(firstPosted)).to.not.include('ring');

      // Draining part of the ring makes room, but the sender keeps to the port until all posted ones are taken.
      pipe.drain(10);
      expect(pipe.send(COUNT, payload(COUNT, 10))).to.equal('port');
      pipe.drainAll();
      expect(pipe.send(COUNT + 1, payload(COUNT + 1, 10)), 'back to the ring once drained').to.equal('ring');
      pipe.drainAll();
    });

    it('resumes the ring only after the receiver took every posted message', () => {
      for (let index = 0; index < 200; index++) pipe.send(index, payload(index, 1000));
      const posted = pipe.sent.filter((sent) => sent.route === 'port').length;
      expect(posted).to.be.greaterThan(0);
      // Take the whole ring and all posted messages but the last: still overflowing.
      pipe.drain(pipe.sent.length - 1);
      expect(pipe.send(200, payload(200, 10))).to.equal('port');
      pipe.drain(1);
      expect(pipe.send(201, payload(201, 10))).to.equal('port');
      pipe.drainAll();
      expect(pipe.send(202, payload(202, 10))).to.equal('ring');
      pipe.drainAll();
    });

    it('wraps frames that do not fit before the end of the ring', () => {
      // Frames of sizes that do not divide the ring: a later one must start over at the beginning.
      const random = prng(7);
      for (let index = 0; index < 2000; index++) {
        expect(pipe.send(index, payload(index, randomInt(random, 3000, 9000)))).to.equal('ring');
        pipe.drain();
      }
      pipe.drainAll();
    });

    it('throws a DataCloneError for a message that cannot cross, and keeps the pipe usable and ordered', () => {
      pipe.send(0, payload(0, 10));
      const uncloneable = (): WireMessage => ({ p: 'function', v: { callback: () => 1 } });
      expect(() => pipe.sender.send(uncloneable())).to.throw(DOMException).with.property('name', 'DataCloneError');
      expect(pipe.send(1, payload(1, 10)), 'still by the ring').to.equal('ring');
      pipe.drainAll();

      // The same while overflowing: the posted count is untouched, so the sender goes back to the ring.
      for (let index = 2; index < 200; index++) pipe.send(index, payload(index, 1000));
      expect(pipe.sent.at(-1)?.route).to.equal('port');
      expect(() => pipe.sender.send(uncloneable())).to.throw(DOMException).with.property('name', 'DataCloneError');
      expect(() => pipe.sender.send({ p: 'symbol', v: Symbol('no') })).to.throw(DOMException).with.property('name', 'DataCloneError');
      pipe.send(200, payload(200, 10));
      pipe.drainAll();
      expect(pipe.send(201, payload(201, 10)), 'not stuck in overflow mode').to.equal('ring');
      pipe.drainAll();
    });

    it('delivers a message a getter sends while its own message is being encoded, each with its names', () => {
      const { sender, receiver } = pipe;
      const value = {
        get nested(): string {
          // Sent first, while the outer message's new names are not in the ring yet.
          sender.send({ p: 'kind sent by a getter', v: 1 });
          return 'outer value';
        },
      };
      sender.send({ p: 'outer kind', v: value });
      sender.send({ p: 'outer kind', v: 'again' });
      sender.send({ p: 'kind sent by a getter', v: 2 });
      expect([receiver.receive(), receiver.receive(), receiver.receive(), receiver.receive()]).to.deep.equal([
        { p: 'kind sent by a getter', v: 1 },
        { p: 'outer kind', v: { nested: 'outer value' } },
        { p: 'outer kind', v: 'again' },
        { p: 'kind sent by a getter', v: 2 },
      ]);
      expect(receiver.receive()).to.equal(undefined);
    });

    it('delivers values as structured clone does, by ring or by port', () => {
      const value = { n: -0, nan: NaN, odd: 'a\uD800', bytes: Buffer.from('buffer'), nested: [[{ u: undefined, z: null }]] };
      pipe.sender.send({ p: 'ring', v: value });
      pipe.sender.send({ p: 'port', v: [value, new Map()] });
      expect(pipe.posted.callCount).to.equal(1);
      const byRing = pipe.receiver.receive() as PushMessage;
      const byPort = pipe.receiver.receive() as PushMessage;
      const expected = structuredClone(value);
      expect(byRing.v).to.deep.equal(expected);
      expect((byPort.v as unknown[])[0]).to.deep.equal(expected);
      const bytes = (byRing.v as { bytes: Uint8Array }).bytes;
      expect(bytes.constructor).to.equal(Uint8Array);
      expect(Object.is((byRing.v as { n: number }).n, -0)).to.equal(true);
    });

    it('keeps the two directions of a channel apart', async () => {
      const memory = createChannelMemory();
      const channel = new MessageChannel();
      const { port1, port2 } = channel;
      try {
        const hub = channelEnds(memory, port1, 'hub');
        const green = channelEnds(memory, port2, 'green');
        for (let i = 0; i < 300; i++) {
          green.sender.send({ s: i, o: 'up', a: [payload(i, 500)] });
          hub.sender.send(i % 50 === 0 ? { p: 'down', v: new Map([[i, i]]) } : { r: i, ok: true, v: payload(i, 700) });
        }
        for (let i = 0; i < 300; i++) {
          const up = hub.receiver.receive();
          const down = green.receiver.receive();
          expect(up).to.include({ s: i, o: 'up' });
          expect(down).to.deep.equal(i % 50 === 0 ? { p: 'down', v: new Map([[i, i]]) } : { r: i, ok: true, v: payload(i, 700) });
        }
        expect(hub.receiver.receive()).to.equal(undefined);
        expect(green.receiver.receive()).to.equal(undefined);
      } finally {
        await closePorts(channel);
      }
    });
  });

  describe('across a worker thread', () => {
    /** Starts the echo fixture; tsx is registered inside the worker first, so it can import TypeScript. */
    function startEcho(boot: EchoBoot): Worker {
      const fixture = new URL('./fixtures/pipe-echo.ts', import.meta.url).href;
      const tsx = tsxApiUrl();
      const bootstrap =
        tsx === null
          ? `import(${JSON.stringify(fixture)})`
          : `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(fixture)}); })`;
      return new Worker(bootstrap, { eval: true, execArgv: [], workerData: boot, transferList: [boot.port] });
    }

    it('delivers 10,000 messages to a worker and back, in order, with their payloads', async () => {
      const COUNT = 10_000;
      const WINDOW = 500;
      const memory = createChannelMemory();
      const bellMemory = new SharedArrayBuffer(8);
      const bells = new Int32Array(bellMemory);
      const { port1, port2 } = new MessageChannel();
      // Listened for from the start: the worker's closing its end may close this one first.
      const portClosed = once(port1, 'close');
      const worker = startEcho({ memory, port: port2, bells: bellMemory, idleLimit: 10 });
      const exited = once(worker, 'exit');
      let stopped = false;
      try {
        const hub = channelEnds(memory, port1, 'hub');
        const random = prng(0xec40);
        const sent: Sent[] = [];
        let received = 0;
        let portCrossings = 0;
        const deadline = performance.now() + 4000;
        while (received < COUNT) {
          if (sent.length < COUNT && sent.length - received < WINDOW) {
            const index = sent.length;
            const roll = random();
            // 1% exotic (a Map) and 1% oversized: the port; the rest small: the ring, unless it is full.
            const exotic = roll < 0.01;
            const oversized = roll >= 0.01 && roll < 0.02;
            const bytes = payload(index, oversized ? randomInt(random, MAX_FRAME + 1, 2 * MAX_FRAME) : randomInt(random, 0, 400));
            if (exotic || oversized) portCrossings++;
            const message = messageFor(index, bytes, exotic);
            hub.sender.send(message);
            sent.push({ index, message, bytes });
            Atomics.add(bells, DOWN_BELL, 1);
            Atomics.notify(bells, DOWN_BELL);
            continue;
          }
          const rung = Atomics.load(bells, UP_BELL);
          const echo = hub.receiver.receive();
          if (echo === undefined) {
            expect(performance.now(), `only ${received} of ${COUNT} echoes came back in time`).to.be.below(deadline);
            Atomics.wait(bells, UP_BELL, rung, 5);
            continue;
          }
          const expected = sent[received];
          expectDelivered(echo, expected);
          received++;
        }
        expect(portCrossings, 'some messages crossed by the port').to.be.greaterThan(50);
        expect(hub.receiver.receive()).to.equal(undefined);
        hub.sender.send({ p: STOP, v: null });
        stopped = true;
        Atomics.add(bells, DOWN_BELL, 1);
        Atomics.notify(bells, DOWN_BELL);
        const [code] = await exited;
        expect(code, 'the worker stopped by itself').to.equal(0);
      } finally {
        port1.close();
        await portClosed;
        if (!stopped) await worker.terminate();
        await exited.catch(() => undefined);
      }
    });
  });
});
