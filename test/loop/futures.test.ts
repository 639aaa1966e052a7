/**
 * Future: states, results, errors, callbacks and awaiting (in the spirit of
 * CPython's test_futures).
 */
import { expect } from 'chai';
import sinon from 'sinon';
import {
  CancelledError,
  EventLoop,
  Future,
  InvalidStateError,
  futureFromPromise,
  isFuture,
  newEventLoop,
  type ExceptionContext,
} from '../../src/loop/index.js';

describe('Future', () => {
  let loop: EventLoop;

  beforeEach(() => {
    loop = newEventLoop();
  });

  afterEach(() => {
    loop.close();
  });

  /** Runs the loop until the ready queue is empty for one iteration. */
  async function drain(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      loop.stop();
      await loop.runForever();
    }
  }

  it('starts pending; result() and exception() raise InvalidStateError', () => {
    const future = new Future({ loop });
    expect(future.done()).to.equal(false);
    expect(future.cancelled()).to.equal(false);
    expect(() => future.result()).to.throw(InvalidStateError, 'Result is not ready.');
    expect(() => future.exception()).to.throw(InvalidStateError, 'Exception is not set.');
    expect(future.getLoop()).to.equal(loop);
    expect(isFuture(future)).to.equal(true);
    expect(String(future)).to.equal('<Future pending>');
  });

  it('setResult completes it once', () => {
    const future = new Future<number>({ loop });
    future.setResult(42);
    expect(future.done()).to.equal(true);
    expect(future.result()).to.equal(42);
    expect(future.exception()).to.equal(null);
    expect(() => future.setResult(1)).to.throw(InvalidStateError, /FINISHED/);
    expect(() => future.setException(new Error('x'))).to.throw(InvalidStateError);
    expect(future.cancel()).to.equal(false);
    expect(String(future)).to.equal('<Future finished result=42>');
  });

  it('setException makes result() throw that error', () => {
    const future = new Future({ loop });
    const error = new RangeError('bad');
    future.setException(error);
    expect(() => future.result()).to.throw(error);
    expect(future.exception()).to.equal(error);
    expect(() => future.setResult(1)).to.throw(InvalidStateError);
  });

  it('cancel(msg) makes result() and exception() raise CancelledError with the message', () => {
    const future = new Future({ loop });
    expect(future.cancel('stop now')).to.equal(true);
    expect(future.cancelled()).to.equal(true);
    expect(future.done()).to.equal(true);
    expect(() => future.result()).to.throw(CancelledError, 'stop now');
    expect(() => future.exception()).to.throw(CancelledError, 'stop now');
    expect(future.cancel()).to.equal(false);
    expect(() => future.setResult(1)).to.throw(InvalidStateError, /CANCELLED/);
  });

  it('runs done callbacks through callSoon, in registration order, never synchronously', async () => {
    const future = new Future<string>({ loop });
    const seen: string[] = [];
    future.addDoneCallback((f) => seen.push(`a:${f.result()}`));
    future.addDoneCallback(() => seen.push('b'));
    future.setResult('x');
    expect(seen).to.deep.equal([]);
    await drain();
    expect(seen).to.deep.equal(['a:x', 'b']);
  });

  it('runs a callback added after completion too', async () => {
    const future = new Future<number>({ loop });
    future.setResult(1);
    const spy = sinon.spy();
    future.addDoneCallback(spy);
    expect(spy.called).to.equal(false);
    await drain();
    expect(spy.calledOnceWith(future)).to.equal(true);
  });

  it('removeDoneCallback removes every registration and counts them', async () => {
    const future = new Future({ loop });
    const spy = sinon.spy();
    const other = sinon.spy();
    future.addDoneCallback(spy);
    future.addDoneCallback(other);
    future.addDoneCallback(spy);
    expect(future.removeDoneCallback(spy)).to.equal(2);
    future.setResult(undefined);
    await drain();
    expect(spy.called).to.equal(false);
    expect(other.calledOnce).to.equal(true);
  });

  it('is awaitable: value, error and CancelledError', async () => {
    const ok = new Future<number>({ loop });
    const failed = new Future<number>({ loop });
    const cancelled = new Future<number>({ loop });
    setImmediate(() => {
      ok.setResult(5);
      failed.setException(new TypeError('nope'));
      cancelled.cancel('gone');
    });
    expect(await ok).to.equal(5);
    let error: unknown;
    try {
      await failed;
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(TypeError);
    try {
      await cancelled;
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(CancelledError);
    expect((error as Error).message).to.equal('gone');
  });

  it('chains with then/catch/finally like a promise', async () => {
    const future = new Future<number>({ loop });
    future.setResult(2);
    expect(await future.then((v) => v * 10)).to.equal(20);
    const failed = new Future<number>({ loop });
    failed.setException(new Error('e'));
    expect(await failed.catch((err: unknown) => (err as Error).message)).to.equal('e');
    const finallySpy = sinon.spy();
    await future.finally(finallySpy);
    expect(finallySpy.calledOnce).to.equal(true);
  });

  it('futureFromPromise follows a promise, and ignores it once cancelled', async () => {
    const resolved = futureFromPromise(Promise.resolve('v'), loop);
    const rejected = futureFromPromise(Promise.reject(new Error('r')), loop);
    let resolveLate!: (v: string) => void;
    const late = futureFromPromise(new Promise<string>((r) => (resolveLate = r)), loop);
    await new Promise((r) => setImmediate(r));
    expect(resolved.result()).to.equal('v');
    expect(() => rejected.result()).to.throw('r');
    late.cancel();
    resolveLate('too late');
    await new Promise((r) => setImmediate(r));
    expect(late.cancelled()).to.equal(true);
  });

  it('reports an exception that was never retrieved, when collected (best-effort)', async function () {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) {
      // Without --expose-gc, run the same check in a child process that has it.
      const { spawnSync } = await import('node:child_process');
      const script = [
        "import { newEventLoop } from './src/loop/index.ts';",
        'const loop = newEventLoop();',
        "loop.setExceptionHandler((_l, c) => console.log('reported:', c.message, String(c.exception)));",
        "(() => { const f = loop.createFuture(); f.setException(new Error('lost')); })();",
        'for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }',
      ].join('\n');
      const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 15000,
      });
      expect(child.stdout).to.include('reported: Future exception was never retrieved Error: lost');
      return;
    }
    const contexts: ExceptionContext[] = [];
    loop.setExceptionHandler((_l, context) => contexts.push(context));
    (() => {
      const future = loop.createFuture();
      future.setException(new Error('lost'));
    })();
    for (let i = 0; i < 5 && contexts.length === 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(contexts[0]?.message).to.equal('Future exception was never retrieved');
  });
});
