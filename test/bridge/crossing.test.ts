/**
 * Errors crossing threads keep what users debug with: the class (user
 * classes exported from a module, registered with registerErrorClass), the
 * fields, the stack from the thread that threw, and a crossing line followed
 * by the receiving side's frames. Real green threads, both directions.
 */
import { expect } from 'chai';
import { runGreen } from '../../src/bridge/index.js';
import { runInLoop } from '../helpers.js';
import { useGreenWorkers } from '../green-workers.js';
import {
  classesOf,
  failInGreen,
  greenCallerOfAsync,
  greenReadsContext,
  requestContext,
  waitForFailing,
  type Seen,
} from './fixtures/crossing.js';

/** The error `thread` ended with, awaited from async code, and the thread's id. */
async function awaitFailure(kind: string): Promise<[Error & { code?: unknown; amount?: unknown }, number]> {
  return runInLoop(async () => {
    const thread = runGreen(failInGreen, kind);
    try {
      await thread;
    } catch (error) {
      return [error as Error, thread.id];
    }
    throw new Error('the green thread did not fail');
  });
}

/** The lines of `stack` from `marker` on. */
function linesFrom(stack: string, marker: RegExp): string[] {
  const lines = stack.split('\n');
  const index = lines.findIndex((line) => marker.test(line));
  return index < 0 ? [] : lines.slice(index);
}

describe('bridge: errors crossing from green code to async code', function () {
  this.timeout(20000);
  useGreenWorkers();

  it("keeps the green thread's stack and adds the crossing", async () => {
    const [error, id] = await awaitFailure('payment');
    const stack = error.stack ?? '';
    expect(stack).to.match(/^PaymentError: payment failed\n/);
    expect(stack).to.match(/at deepGreenFailure \(.*crossing\.ts:\d+:\d+\)\n\s+at failInGreen /);
    const crossing = linesFrom(stack, /--- crossed from/);
    expect(crossing[0]).to.equal(`    --- crossed from green thread ${id} into the main thread ---`);
    // What the green thread did comes before the crossing.
    expect(stack.indexOf('deepGreenFailure')).to.be.below(stack.indexOf('--- crossed'));
  });

  it('rebuilds user classes exported from a module, even one that does not set its name', async () => {
    const [plain] = await awaitFailure('plain');
    expect(classesOf(plain)).to.deep.equal(['PlainUserError', 'Error']);
    expect(plain.message).to.equal('plain failure');
    const [payment] = await awaitFailure('payment');
    expect(classesOf(payment)).to.deep.equal(['PaymentError', 'Error']);
    expect([payment.name, payment.code, payment.amount]).to.deep.equal(['PaymentError', 'EPAYMENT', 42]);
  });

  it('an unregistered class arrives as its nearest registered ancestor, or a plain Error, with its name and fields', async () => {
    const [declined] = await awaitFailure('declined');
    expect(classesOf(declined)).to.deep.equal(['PaymentError', 'Error']);
    expect([declined.name, declined.message, declined.amount]).to.deep.equal(['CardDeclined', 'card declined for 7', 7]);
    const [unknown] = await awaitFailure('unregistered');
    expect(classesOf(unknown)).to.deep.equal(['Error']);
    expect([unknown.name, unknown.message, unknown.code]).to.deep.equal(['UnregisteredError', 'nobody knows me', 'EUNREGISTERED']);
    expect(unknown.stack).to.match(/^UnregisteredError: nobody knows me\n\s+at makeError/);
  });

  it("a green thread waiting for another sees the failing thread's stack, then its own frames", async () => {
    const seen = (await runInLoop(async () => runGreen(waitForFailing, 'payment'))) as Seen & { thread: number };
    expect(seen.classes).to.deep.equal(['PaymentError', 'Error']);
    const crossing = linesFrom(seen.stack, /--- crossed from/);
    expect(crossing[0]).to.equal(`    --- crossed from green thread ${seen.thread} into the main thread ---`);
    const last = linesFrom(seen.stack, /--- crossed from the main thread into green thread \d+ ---/);
    expect(last[1]).to.match(/^\s+at waitForFailing \(.*crossing\.ts:\d+:\d+\)$/);
    expect(seen.stack.indexOf('at deepGreenFailure')).to.be.below(seen.stack.indexOf('at waitForFailing'));
  });
});

describe('bridge: errors crossing from async code to green code (callAsync)', function () {
  this.timeout(20000);
  useGreenWorkers();

  it("keeps the async function's stack, then the crossing and the green caller's frames", async () => {
    const seen = (await runInLoop(async () => runGreen(greenCallerOfAsync, 'payment'))) as Seen;
    expect(seen.stack).to.match(/^PaymentError: payment failed\n\s+at makeError .*\n\s+at deepAsyncFailure \(.*crossing\.ts/);
    const crossing = linesFrom(seen.stack, /--- crossed from/);
    expect(crossing[0]).to.match(/^ {4}--- crossed from the main thread into green thread \d+ ---$/);
    expect(crossing[1]).to.match(/^\s+at greenCallerOfAsync \(.*crossing\.ts:\d+:\d+\)$/);
    // greenloop's own frames (callAsync, the channel) are left out.
    expect(crossing.join('\n')).not.to.match(/src[\\/]bridge[\\/]/);
  });

  it('keeps user classes and fields', async () => {
    const plain = (await runInLoop(async () => runGreen(greenCallerOfAsync, 'plain'))) as Seen;
    expect(plain.classes).to.deep.equal(['PlainUserError', 'Error']);
    const payment = (await runInLoop(async () => runGreen(greenCallerOfAsync, 'payment'))) as Seen;
    expect([payment.classes, payment.code, payment.amount]).to.deep.equal([['PaymentError', 'Error'], 'EPAYMENT', 42]);
    const unknown = (await runInLoop(async () => runGreen(greenCallerOfAsync, 'unregistered'))) as Seen;
    expect([unknown.classes, unknown.name, unknown.code]).to.deep.equal([['Error'], 'UnregisteredError', 'EUNREGISTERED']);
  });

  it('AsyncLocalStorage context does not cross into the green thread, nor back through callAsync', async () => {
    const seen = await runInLoop(async () => {
      // The hub starts outside the context, so what it runs later owes nothing to it.
      await runGreen(greenReadsContext);
      return requestContext.run('request 7', async () => runGreen(greenReadsContext));
    });
    expect(seen).to.deep.equal(['no context', 'no context']);
  });
});
