/**
 * How values cross threads: errors keep their class and fields, Buffers
 * stay Buffers, functions travel by reference.
 */
import { expect } from 'chai';
import {
  CancelledError,
  ExceptionGroup,
  IncompleteReadError,
  LimitOverrunError,
  TimeoutError,
} from '../../../src/loop/errors.js';
import { GreenletExit } from '../../../src/green/index.js';
import { HubClosedError, NotModuleLevelError, registerErrorClass } from '../../../src/bridge/index.js';
import { decodeArgsAsync, decodeError, decodeValue, encodeArgs, encodeError, encodeValue } from '../../../src/green/runtime/codec.js';
import { OrderError } from './fixtures/ops.js';
import { blockFor } from './fixtures/pool-calls.js';

/** What the other thread gets: encoded, structured-cloned, decoded. */
function cross<T>(value: T): T {
  return decodeValue(structuredClone(encodeValue(value))) as T;
}

class UnregisteredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnregisteredError';
  }
}

class LaterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaterError';
  }
}

describe('runtime: crossing values', () => {
  it("rebuilds greenloop's errors as their own classes", () => {
    for (const error of [new CancelledError('c'), new TimeoutError('t'), new GreenletExit(), new HubClosedError()]) {
      const copy = cross(error);
      expect(copy).to.be.instanceOf(error.constructor);
      expect(copy.name).to.equal(error.name);
      expect(copy.message).to.equal(error.message);
      expect(copy.stack).to.equal(error.stack);
    }
  });

  it('keeps built-in classes and the code of OS errors', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', errno: -111 });
    const copy = cross(error) as Error & { code: string; errno: number };
    expect(copy.code).to.equal('ECONNREFUSED');
    expect(copy.errno).to.equal(-111);
    expect(cross(new RangeError('r'))).to.be.instanceOf(RangeError);
  });

  it('keeps the fields of errors that carry data, Buffers included', () => {
    const incomplete = cross(new IncompleteReadError(Buffer.from('par'), 10));
    expect(incomplete).to.be.instanceOf(IncompleteReadError);
    expect(Buffer.isBuffer(incomplete.partial)).to.equal(true);
    expect(incomplete.partial.toString()).to.equal('par');
    expect(incomplete.expected).to.equal(10);
    expect(cross(new LimitOverrunError('over', 5)).consumed).to.equal(5);
  });

  it('keeps the inner errors of an ExceptionGroup and an error cause', () => {
    const group = cross(new ExceptionGroup('several', [new TypeError('a'), new OrderError('b', 2)]));
    expect(group).to.be.instanceOf(ExceptionGroup);
    expect(group.exceptions[0]).to.be.instanceOf(TypeError);
    expect(group.exceptions[1]).to.be.instanceOf(OrderError);
    const caused = cross(new Error('outer', { cause: new TimeoutError('inner') }));
    expect(caused.cause).to.be.instanceOf(TimeoutError);
  });

  it('rebuilds an application error class once registered, a plain Error with its name before', () => {
    const before = cross(new LaterError('x'));
    expect(before).not.to.be.instanceOf(LaterError);
    expect(before.name).to.equal('LaterError');
    registerErrorClass(LaterError);
    expect(cross(new LaterError('y'))).to.be.instanceOf(LaterError);
    expect(cross(new UnregisteredError('z')).name).to.equal('UnregisteredError');
  });

  it('rebuilds a registered class that does not set its name, and an unregistered subclass as its registered parent', () => {
    class Nameless extends Error {}
    class Parent extends Error {
      constructor(message: string) {
        super(message);
        this.name = 'CodecParent';
      }
    }
    class Child extends Parent {
      constructor() {
        super('child');
        this.name = 'CodecChild';
      }
    }
    registerErrorClass(Nameless, 'CodecNameless');
    registerErrorClass(Parent, 'CodecParent');
    const nameless = cross(new Nameless('n'));
    expect(nameless).to.be.instanceOf(Nameless);
    expect([nameless.name, nameless.message]).to.deep.equal(['Error', 'n']);
    const child = cross(new Child());
    expect(child).to.be.instanceOf(Parent);
    expect(child).not.to.be.instanceOf(Child);
    expect([child.name, child.message]).to.deep.equal(['CodecChild', 'child']);
    // A plain Error named after a registered class still goes by its name.
    expect(cross(Object.assign(new Error('t'), { name: 'TimeoutError' }))).to.be.instanceOf(TimeoutError);
  });

  it("appends the crossing and the receiving side's frames to a stack from another thread", () => {
    const error = new OrderError('far away', 1);
    const encoded = structuredClone(encodeError(error));
    expect(decodeError(structuredClone(encoded)).stack).to.equal(error.stack);
    encoded.origin = { thread: -1, label: 'green thread 99' };
    const stack = decodeError(encoded).stack ?? '';
    expect(stack.startsWith(`${error.stack ?? ''}\n    --- crossed from green thread 99 into the main thread ---\n`)).to.equal(true);
    const after = stack.slice((error.stack ?? '').length).split('\n').slice(2);
    expect(after[0]).to.match(/codec\.test\.ts:\d+:\d+/);
    expect(after.join('\n')).not.to.match(/src[\\/]bridge[\\/]codec\.ts/);
  });

  it('encodes a thrown non-error value as an Error describing it', () => {
    const error = decodeError(structuredClone(encodeError('just a string')));
    expect(error).to.be.instanceOf(Error);
    expect(error.message).to.match(/non-error value thrown: "just a string"/);
  });

  it('drops error fields structured clone cannot copy', () => {
    const error = Object.assign(new Error('with callback'), { callback: () => 1, code: 'E1' });
    const copy = cross(error) as Error & { callback?: unknown; code: string };
    expect(copy.callback).to.equal(undefined);
    expect(copy.code).to.equal('E1');
  });

  it('turns a Uint8Array into a Buffer on arrival', () => {
    const copy = cross(new Uint8Array([104, 105]));
    expect(Buffer.isBuffer(copy)).to.equal(true);
    expect(copy.toString()).to.equal('hi');
  });

  it('returns the same array when no argument needs encoding', () => {
    const args = [1, 'a', { b: 2 }];
    expect(encodeArgs(args)).to.equal(args);
  });

  it('sends a module-level function by reference and imports it on arrival', async () => {
    const [fn, other] = await decodeArgsAsync(structuredClone(encodeArgs([blockFor, 3])));
    expect(fn).to.equal(blockFor);
    expect(other).to.equal(3);
  });

  it('refuses a closure argument with NotModuleLevelError', () => {
    const captured = 1;
    expect(() => encodeArgs([() => captured])).to.throw(NotModuleLevelError);
  });
});
