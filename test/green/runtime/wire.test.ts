/**
 * The channel's binary codec: every envelope and every value it takes comes
 * back exactly as structured clone would deliver it, and everything else is
 * refused (-1) so that it goes by structured clone instead.
 */
import { expect } from 'chai';
import { WireNames, WireReader, WireWriter, type WireMessage } from '../../../src/green/runtime/wire.js';
import type { DoneMessage, OpMessage, PushMessage, ReleaseMessage, ReplyMessage } from '../../../src/green/runtime/protocol.js';

/** The pipes' frame limit. */
const LIMIT = 16 * 1024;
/** Where the reader's region starts in its memory, and the frame in the region: never 0, as in a ring. */
const REGION_OFFSET = 24;
const FRAME_START = 12;
/** What surrounds a frame in the test memory, so a read past either end decodes garbage. */
const GARBAGE = 0xa5;

/** The encoding of `message`, copied out of the writer, or null when the codec refuses it. */
function encode(message: WireMessage, limit = LIMIT): Uint8Array | null {
  const writer = new WireWriter(limit);
  const size = writer.encodeMessage(message);
  if (size < 0) {
    expect(size, 'a refusal is -1').to.equal(-1);
    return null;
  }
  expect(writer.encoded.byteLength).to.equal(size);
  return writer.encoded.slice();
}

/** Decodes `bytes` from shared memory, at an offset inside the region, with garbage around it. */
function decode(bytes: Uint8Array): WireMessage {
  const memory = new SharedArrayBuffer(REGION_OFFSET + FRAME_START + bytes.byteLength + 16);
  const all = new Uint8Array(memory);
  all.fill(GARBAGE);
  all.set(bytes, REGION_OFFSET + FRAME_START);
  const reader = new WireReader(memory, REGION_OFFSET, memory.byteLength - REGION_OFFSET);
  const message = reader.decodeMessage(FRAME_START, bytes.byteLength);
  // What was decoded owns its memory: the frame's room may be reused at once.
  all.fill(GARBAGE);
  return message;
}

function roundTrip(message: WireMessage, limit = LIMIT): WireMessage {
  const bytes = encode(message, limit);
  expect(bytes, 'the codec takes the message').to.not.equal(null);
  return decode(bytes as Uint8Array);
}

function roundTripValue(value: unknown): unknown {
  return (roundTrip({ p: 'value', v: value }) as PushMessage).v;
}

/**
 * Asserts that `actual` is what structured clone delivered (`expected`),
 * beyond chai's deep equality: same prototypes, -0 and NaN, own keys in the
 * same order as plain data properties, no holes, and bytes that own their
 * memory.
 */
function expectSameAsClone(actual: unknown, expected: unknown, path = 'value'): void {
  expect(typeof actual, `${path}: type`).to.equal(typeof expected);
  if (typeof expected === 'number') {
    expect(Object.is(actual, expected), `${path}: ${String(actual)} is ${String(expected)}`).to.equal(true);
    return;
  }
  if (typeof expected !== 'object' || expected === null) {
    expect(actual, path).to.equal(expected);
    return;
  }
  const object = actual as object;
  expect(Object.getPrototypeOf(object), `${path}: prototype`).to.equal(Object.getPrototypeOf(expected));
  if (expected instanceof Uint8Array) {
    const bytes = object as Uint8Array;
    expect(Buffer.compare(bytes, expected), `${path}: bytes`).to.equal(0);
    expect(bytes.buffer, `${path}: own, unshared memory`).to.be.an.instanceOf(ArrayBuffer);
    expect([bytes.byteOffset, bytes.buffer.byteLength], `${path}: owns exactly its bytes`).to.deep.equal([0, bytes.byteLength]);
    return;
  }
  const keys = Reflect.ownKeys(object).filter((key) => !(Array.isArray(object) && key === 'length'));
  expect(keys, `${path}: own keys, in order`).to.deep.equal(Reflect.ownKeys(expected).filter((key) => !(Array.isArray(expected) && key === 'length')));
  for (const key of keys) {
    const descriptor = Object.getOwnPropertyDescriptor(object, key) as PropertyDescriptor;
    expect(descriptor, `${path}.${String(key)}: a plain data property`).to.include({ writable: true, enumerable: true, configurable: true });
    expectSameAsClone(descriptor.value, (expected as Record<PropertyKey, unknown>)[key], `${path}.${String(key)}`);
  }
}

function expectLikeStructuredClone(message: WireMessage): WireMessage {
  const decoded = roundTrip(message);
  const cloned = structuredClone(message);
  expect(decoded).to.deep.equal(cloned);
  expectSameAsClone(decoded, cloned, 'message');
  return decoded;
}

/** `levels` arrays, each holding the next, around `leaf`. */
function nest(levels: number, leaf: unknown = 0): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

describe('runtime: the wire codec', () => {
  describe('envelopes', () => {
    it('round-trips an op without timeout or module, and adds neither', () => {
      const op: OpMessage = { s: 7, o: 'sock.recv', a: [5, 1024] };
      const decoded = expectLikeStructuredClone(op);
      expect(decoded).to.not.have.any.keys('t', 'm');
    });

    it('round-trips an op with a timeout and a module', () => {
      expectLikeStructuredClone({ s: 2 ** 31 - 1, o: 'fs.read', a: ['path', { flag: 'r' }], t: 0.25, m: 'file:///app/ops.js' });
    });

    it('keeps a zero, an infinite and a fractional timeout', () => {
      for (const t of [0, Infinity, 1e-9]) {
        const decoded = expectLikeStructuredClone({ s: 0, o: 'sleep', a: [], t }) as OpMessage;
        expect(decoded.t).to.equal(t);
      }
    });

    it('round-trips an op that wants no reply (s = 0) with only a module', () => {
      const decoded = expectLikeStructuredClone({ s: 0, o: 'log', a: ['line'], m: 'file:///m.js' });
      expect(decoded).to.not.have.key('t');
    });

    it('round-trips a job outcome, returned and thrown', () => {
      expectLikeStructuredClone({ d: 12, ok: true, v: [1, 'two'] } satisfies DoneMessage);
      expectLikeStructuredClone({ d: 13, ok: false, v: { name: 'ValueError', message: 'bad', stack: 'ValueError: bad\n  at f' } } satisfies DoneMessage);
    });

    it('round-trips a release of handles', () => {
      expectLikeStructuredClone({ x: 'green', ids: [[1, 2], [3, 1]] } satisfies ReleaseMessage);
      expectLikeStructuredClone({ x: '', ids: [] } satisfies ReleaseMessage);
    });

    it('round-trips a reply, ok and failed', () => {
      expectLikeStructuredClone({ r: 99, ok: true, v: Buffer.from('data') } satisfies ReplyMessage);
      expectLikeStructuredClone({ r: 100, ok: false, v: { name: 'TimeoutError', message: '' } } satisfies ReplyMessage);
    });

    it('round-trips a push', () => {
      expectLikeStructuredClone({ p: 'sock.data', v: { fd: 3, chunk: new Uint8Array([1, 2, 3]) } } satisfies PushMessage);
    });

    it('decodes consecutive frames of one region, each from its own start', () => {
      const first = encode({ r: 1, ok: true, v: 'first' }) as Uint8Array;
      const second = encode({ p: 'second', v: [2] }) as Uint8Array;
      const memory = new SharedArrayBuffer(first.length + second.length);
      new Uint8Array(memory).set(first);
      new Uint8Array(memory).set(second, first.length);
      const reader = new WireReader(memory, 0, memory.byteLength);
      expect(reader.decodeMessage(first.length, second.length)).to.deep.equal({ p: 'second', v: [2] });
      expect(reader.decodeMessage(0, first.length)).to.deep.equal({ r: 1, ok: true, v: 'first' });
    });

    it('refuses to decode a frame whose length does not match its content', () => {
      const bytes = encode({ p: 'x', v: [1, 2, 3] }) as Uint8Array;
      const memory = new SharedArrayBuffer(bytes.length + 8);
      new Uint8Array(memory).set(bytes);
      const reader = new WireReader(memory, 0, memory.byteLength);
      expect(() => reader.decodeMessage(0, bytes.length + 4)).to.throw(Error, /corrupt channel frame/);
    });
  });

  describe("a pipe's envelope names", () => {
    /** Encodes `messages` in turn with one name table, committing each; decodes them in turn with one reader. */
    function throughOnePipe(messages: WireMessage[], sent: boolean[] = messages.map(() => true)): { sizes: number[]; decoded: WireMessage[] } {
      const writer = new WireWriter(LIMIT);
      const names = new WireNames();
      const frames: Uint8Array[] = [];
      const sizes: number[] = [];
      messages.forEach((message, index) => {
        const size = writer.encodeMessage(message, names);
        expect(size).to.be.greaterThan(0);
        sizes.push(size);
        // A message that went by the port instead: its definitions never reach the reader.
        if (!sent[index]) {
          names.discard();
          return;
        }
        names.commit();
        frames.push(Buffer.from(writer.encoded));
      });
      const memory = new SharedArrayBuffer(frames.reduce((total, frame) => total + frame.length, 0) + 8);
      const reader = new WireReader(memory, 0, memory.byteLength);
      const decoded = frames.map((frame) => {
        new Uint8Array(memory).set(frame);
        return reader.decodeMessage(0, frame.length);
      });
      return { sizes, decoded };
    }

    const module = 'file:///app/node_modules/greenloop/dist/green/socket.js';
    const recv = (s: number): OpMessage => ({ s, o: 'sock.recv', a: [5, s * 100, null], m: module });

    it('sends an operation and its module by name once, then by number', () => {
      const { sizes, decoded } = throughOnePipe([recv(1), recv(2), recv(3)]);
      expect(decoded).to.deep.equal([recv(1), recv(2), recv(3)]);
      // The second message carries two numbers instead of two definitions (number, length, UTF-16 text).
      expect(sizes[0] - sizes[1]).to.equal(2 * 4 + 2 * ('sock.recv'.length + module.length));
      expect(sizes[2]).to.equal(sizes[1]);
    });

    it('defines a name again when the message that defined it went by the port instead', () => {
      const { sizes, decoded } = throughOnePipe([recv(1), recv(2), recv(3)], [false, true, true]);
      expect(decoded).to.deep.equal([recv(2), recv(3)]);
      expect(sizes[1], 'the first sent message defines the names').to.equal(sizes[0]);
      expect(sizes[2]).to.be.below(sizes[1]);
    });

    it('numbers push kinds and release tags too, and writes names past 1,024 inline', () => {
      const messages: WireMessage[] = [];
      for (let i = 0; i < 1100; i++) messages.push({ p: `kind ${i}`, v: i } satisfies PushMessage);
      messages.push({ p: 'kind 5', v: 'again' }, { p: 'kind 1050', v: 'inline again' }, { x: 'gt', ids: [[1, 2]] } satisfies ReleaseMessage);
      const { decoded } = throughOnePipe(messages);
      expect(decoded).to.deep.equal(messages);
    });

    it('refuses a frame that refers to a name its reader was never given', () => {
      const writer = new WireWriter(LIMIT);
      const names = new WireNames();
      writer.encodeMessage(recv(1), names);
      names.commit();
      const second = writer.encodeMessage(recv(2), names);
      const memory = new SharedArrayBuffer(second + 8);
      new Uint8Array(memory).set(writer.encoded);
      expect(() => new WireReader(memory, 0, memory.byteLength).decodeMessage(0, second)).to.throw(Error, /corrupt channel frame: name/);
    });

    it("writes an operation's arguments as the values the handler gets spread: holes as undefined, named fields dropped", () => {
      const args: unknown[] & { extra?: string } = [1, , 3]; // eslint-disable-line no-sparse-arrays
      args.extra = 'not an argument';
      const message = roundTrip({ s: 1, o: 'op', a: args }) as OpMessage;
      expect(message.a).to.deep.equal([1, undefined, 3]);
      expect(1 in message.a, 'a hole becomes undefined, as spreading it gives').to.equal(true);
    });
  });

  describe('values', () => {
    const values: [string, unknown][] = [
      ['undefined', undefined],
      ['null', null],
      ['true', true],
      ['false', false],
      ['0', 0],
      ['-0', -0],
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
      ['the largest int32', 2 ** 31 - 1],
      ['the smallest int32', -(2 ** 31)],
      ['2 ** 31 (past int32)', 2 ** 31],
      ['-(2 ** 31) - 1 (past int32)', -(2 ** 31) - 1],
      ['2 ** 53 + 2', 2 ** 53 + 2],
      ['a fraction', 0.1],
      ['a negative fraction', -1.5],
      ['Number.MIN_VALUE', Number.MIN_VALUE],
      ['Number.MAX_VALUE', Number.MAX_VALUE],
      ['an empty string', ''],
      ['an ASCII string', 'hello'],
      ['a BMP string', 'héllo wörld ✓ 日本'],
      ['astral characters', '😀 𝄞'],
      ['NUL characters', 'a\u0000b\u0000'],
      ['a lone high surrogate', 'a\uD800'],
      ['a lone low surrogate', '\uDC00b'],
      ['a reversed surrogate pair', '\uDC00\uD800'],
      ['a string longer than the first scratch buffer', 'xy'.repeat(3000)],
      ['an empty Uint8Array', new Uint8Array(0)],
      ['a Uint8Array', Uint8Array.from([0, 1, 127, 128, 254, 255])],
      ['a pooled Buffer', Buffer.from('pooled bytes')],
      ['an allocated Buffer', Buffer.alloc(3, 7)],
      ['a Uint8Array viewing part of a larger buffer', new Uint8Array(16).map((_, i) => i).subarray(3, 7)],
      ['an empty array', []],
      ['an empty object', {}],
      ['nested arrays and objects', { list: [1, [2, [3, { deep: ['four', null] }]]], map: { a: { b: { c: true } } } }],
      ['undefined and null in containers', { a: undefined, b: null, c: [undefined, null, undefined] }],
      ['keys in order, integer-like ones included', { z: 1, 10: 2, a: 3, 2: 4, '-1': 5, '01': 6, '': 7 }],
      ['an own __proto__ key', JSON.parse('{"a":1,"__proto__":{"polluted":true},"b":2}')],
      ['16 levels of nesting', nest(16, 'bottom')],
      ['bytes at the deepest level', nest(16, new Uint8Array([1, 2]))],
      ['64 containers', Array.from({ length: 63 }, (_, i) => ({ i }))],
      ['the same primitive many times', ['same', 'same', 1.5, 1.5]],
    ];
    for (const [name, value] of values) {
      it(`round-trips ${name} as structured clone does`, () => {
        expectLikeStructuredClone({ p: 'value', v: value });
      });
    }

    it('keeps -0 and NaN (Object.is), in and out of containers', () => {
      const decoded = roundTripValue([-0, NaN, { z: -0, n: NaN }]) as [number, number, { z: number; n: number }];
      expect(Object.is(decoded[0], -0)).to.equal(true);
      expect(Object.is(decoded[1], NaN)).to.equal(true);
      expect(Object.is(decoded[2].z, -0)).to.equal(true);
      expect(Object.is(decoded[2].n, NaN)).to.equal(true);
    });

    it('keeps lone surrogates code unit for code unit, in values, keys and envelope strings', () => {
      const odd = 'x\uD83Dy\uDE00\uD800';
      const decoded = roundTrip({ s: 1, o: odd, a: [odd, { [odd]: odd }], m: odd }) as OpMessage;
      const units = (text: string) => Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
      expect(units(decoded.o)).to.deep.equal(units(odd));
      expect(units(decoded.m as string)).to.deep.equal(units(odd));
      expect(units(decoded.a[0] as string)).to.deep.equal(units(odd));
      expect(Object.keys(decoded.a[1] as object)).to.deep.equal([odd]);
      expect((decoded.a[1] as Record<string, string>)[odd]).to.equal(odd);
    });

    it('delivers a Buffer as a plain Uint8Array that owns its memory', () => {
      const source = Buffer.from('a pooled buffer');
      expect(source.byteOffset > 0 || source.buffer.byteLength > source.byteLength, 'the source is a view').to.equal(true);
      const bytes = roundTripValue(source) as Uint8Array;
      expect(Buffer.isBuffer(bytes)).to.equal(false);
      expect(bytes.constructor).to.equal(Uint8Array);
      expect(Buffer.from(bytes.buffer).toString()).to.equal('a pooled buffer');
      expect(bytes.byteOffset).to.equal(0);
      source.fill(0);
      expect(Buffer.from(bytes).toString(), 'a copy: changing the source changes nothing').to.equal('a pooled buffer');
    });

    it('keeps an own __proto__ key as an own key, without touching the prototype', () => {
      const source: Record<string, unknown> = { first: 1 };
      Object.defineProperty(source, '__proto__', { value: { polluted: true }, enumerable: true, writable: true, configurable: true });
      source.last = 2;
      const decoded = roundTripValue(source) as Record<string, unknown>;
      expect(Object.getPrototypeOf(decoded)).to.equal(Object.prototype);
      expect(Object.hasOwn(decoded, '__proto__')).to.equal(true);
      expect(Object.keys(decoded)).to.deep.equal(['first', '__proto__', 'last']);
      expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).to.deep.equal({ polluted: true });
      expect('polluted' in decoded).to.equal(false);
      expect('polluted' in {}, 'Object.prototype untouched').to.equal(false);
    });

    it('tells an undefined field from a missing one and from null', () => {
      const decoded = roundTripValue({ u: undefined, n: null, list: [undefined] }) as Record<string, unknown>;
      expect(Object.keys(decoded)).to.deep.equal(['u', 'n', 'list']);
      expect(decoded.u).to.equal(undefined);
      expect(decoded.n).to.equal(null);
      expect(0 in (decoded.list as unknown[]), 'an undefined item, not a hole').to.equal(true);
    });
  });

  describe('what goes by structured clone instead (-1)', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const holey: unknown[] = [1, 2, 3];
    delete holey[1];
    const shared = { shared: true };
    const bytesTwice = new Uint8Array(2);
    const namedArray: number[] & { extra?: string } = [1];
    namedArray.extra = 'kept by structured clone';
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const refused: [string, unknown][] = [
      ['a Map', new Map([[1, 2]])],
      ['a Set', new Set([1])],
      ['a Date', new Date(0)],
      ['a BigInt', 10n],
      ['a class instance', new Point(1)],
      ['an Error', new Error('boom')],
      ['an object without prototype', Object.create(null)],
      ['a typed array other than Uint8Array', new Int32Array(2)],
      ['a Uint8ClampedArray', new Uint8ClampedArray(2)],
      ['an ArrayBuffer', new ArrayBuffer(2)],
      ['a holey array', holey],
      ['the same object twice', [shared, shared]],
      ['a cycle', cycle],
      ['nesting deeper than 16', nest(17)],
      ['more than 64 containers', Array.from({ length: 64 }, () => ({}))],
      ['a function (which structured clone refuses too)', { f: () => 1 }],
      ['a symbol (which structured clone refuses too)', [Symbol('s')]],
      ['the same Uint8Array twice', [bytesTwice, bytesTwice]],
      ['an array with a named field', namedArray],
      ['bytes over a SharedArrayBuffer', new Uint8Array(new SharedArrayBuffer(4))],
      ['a Proxy', new Proxy({ a: 1 }, {})],
    ];
    for (const [name, value] of refused) {
      it(`refuses ${name}`, () => {
        expect(new WireWriter(LIMIT).encodeMessage({ p: 'value', v: value })).to.equal(-1);
      });
    }

    it('refuses ids past int32, which would come back as other numbers', () => {
      expect(encode({ r: 2 ** 31, ok: true, v: 1 })).to.equal(null);
      expect(encode({ s: 2 ** 31, o: 'op', a: [] })).to.equal(null);
      expect(encode({ d: -0, ok: true, v: 1 })).to.equal(null);
      expect(roundTrip({ r: 2 ** 31 - 1, ok: true, v: 1 })).to.deep.equal({ r: 2 ** 31 - 1, ok: true, v: 1 });
    });

    it('refuses a message larger than the limit', () => {
      expect(new WireWriter(LIMIT).encodeMessage({ r: 1, ok: true, v: new Uint8Array(LIMIT) })).to.equal(-1);
      expect(new WireWriter(LIMIT).encodeMessage({ s: 1, o: 'op', a: ['x'.repeat(LIMIT / 2)] })).to.equal(-1);
    });

    it('counts the op arguments array among the containers', () => {
      const objects = (count: number) => Array.from({ length: count }, () => ({}));
      expect(encode({ s: 1, o: 'op', a: objects(63) })).to.not.equal(null);
      expect(encode({ s: 1, o: 'op', a: objects(64) })).to.equal(null);
    });

    it('encodes the next message correctly after a refusal', () => {
      const writer = new WireWriter(LIMIT);
      expect(writer.encodeMessage({ p: 'big', v: ['x'.repeat(3000), new Map()] })).to.equal(-1);
      const size = writer.encodeMessage({ p: 'small', v: [1, 'two'] });
      expect(size).to.be.greaterThan(0);
      expect(decode(writer.encoded.slice())).to.deep.equal({ p: 'small', v: [1, 'two'] });
    });
  });

  describe('the size limit', () => {
    /** The encoded size of a push of kind 'limit' around an empty payload. */
    function overhead(payload: Uint8Array | string): number {
      return new WireWriter(LIMIT).encodeMessage({ p: 'limit', v: payload });
    }

    for (const limit of [64, 4096, 4097, LIMIT]) {
      it(`takes bytes that make exactly ${limit} bytes, and refuses one byte more`, () => {
        const size = limit - overhead(new Uint8Array(0));
        const payload = new Uint8Array(size).map((_, i) => i * 7);
        const writer = new WireWriter(limit);
        expect(writer.encodeMessage({ p: 'limit', v: payload })).to.equal(limit);
        const decoded = decode(writer.encoded.slice()) as PushMessage;
        expect(Buffer.compare(decoded.v as Uint8Array, payload)).to.equal(0);
        expect(writer.encodeMessage({ p: 'limit', v: new Uint8Array(size + 1) })).to.equal(-1);
      });
    }

    for (const size of [64, 4096, LIMIT]) {
      // Strings go as UTF-16 units: the limit is the one nearest `size` they can fill exactly.
      const limit = size - ((size - overhead('')) % 2);
      it(`takes a string that makes exactly ${limit} bytes, and refuses one character more`, () => {
        const units = (limit - overhead('')) / 2;
        expect(Number.isInteger(units), 'the limit leaves room for whole UTF-16 units').to.equal(true);
        const text = 'é\uD800'.repeat(units).slice(0, units);
        const writer = new WireWriter(limit);
        expect(writer.encodeMessage({ p: 'limit', v: text })).to.equal(limit);
        expect((decode(writer.encoded.slice()) as PushMessage).v).to.equal(text);
        expect(writer.encodeMessage({ p: 'limit', v: text + 'x' })).to.equal(-1);
      });
    }

    it('takes a message whose last field is an empty string ending exactly at the limit', () => {
      const shape = (bytes: number): PushMessage => ({ p: 'limit', v: [new Uint8Array(bytes), ''] });
      const size = LIMIT - new WireWriter(LIMIT).encodeMessage(shape(0));
      const writer = new WireWriter(LIMIT);
      expect(writer.encodeMessage(shape(size))).to.equal(LIMIT);
      expect(decode(writer.encoded.slice())).to.deep.equal(shape(size));
      expect(writer.encodeMessage(shape(size + 1))).to.equal(-1);
    });
  });
});
