/**
 * Green Event, after eventlet's event_test: one value for many waiters in
 * any green thread, errors, wait(timeout), reset, kill while waiting, and
 * the async twin.
 */
import { expect } from 'chai';
import { Event, GreenletExit, spawn } from '../../src/green/index.js';
import { BlockingOnHubError } from '../../src/bridge/index.js';
import { CancelledError, RuntimeError } from '../../src/loop/errors.js';
import { createTask, sleep as asyncSleep } from '../../src/loop/index.js';
import { runInLoop } from '../helpers.js';
import { useGreenWorkers, waitUntil } from '../green-workers.js';
import {
  doubleException,
  makeEvent,
  pollCases,
  resetCases,
  sendAfter,
  sendEvent,
  sendRangeError,
  timedWait,
  waitEvent,
  waitForError,
  waitThenSignal,
  waitUntilKilled,
} from './fixtures/primitives-event.js';

describe('green: Event across green threads', () => {
  useGreenWorkers();

  it('wakes a waiter in another green thread with the value sent', async () => {
    const value = await runInLoop(async () => {
      const event = new Event<Buffer>();
      const waiter = spawn(waitEvent, event);
      spawn(sendAfter, 0.01, event, Buffer.from('hi'));
      return await waiter;
    });
    expect(Buffer.isBuffer(value)).to.equal(true);
    expect(String(value)).to.equal('hi');
  });

  it('wakes every waiter (eventlet test_multiple_waiters)', async () => {
    const got = await runInLoop(async () => {
      const event = new Event<string>();
      const dones = [new Event<string>(), new Event<string>(), new Event<string>()];
      const waiters = dones.map((done, i) => spawn(waitThenSignal, event, done, `w${i}`));
      await asyncSleep(0.02);
      event.send('go');
      const results = await Promise.all(dones.map((done) => done.waitAsync()));
      await Promise.all(waiters);
      return results;
    });
    expect(got).to.deep.equal(['w0 got go', 'w1 got go', 'w2 got go']);
  });

  it('raises the sent error in every waiter, as its own class', async () => {
    const results = await runInLoop(async () => {
      const event = new Event();
      const a = spawn(waitForError, event);
      const b = spawn(waitForError, event);
      spawn(sendRangeError, event, 'bad');
      return Promise.all([a, b]);
    });
    expect(results).to.deep.equal(['RangeError: bad', 'RangeError: bad']);
  });

  it('returns undefined after wait(timeout), having waited at least that long', async () => {
    const [result, waited] = await runInLoop(async () => spawn(timedWait, new Event(), 0.03));
    expect(result).to.equal('undefined');
    expect(waited).to.be.at.least(0.03);
  });

  it('returns the value when it comes within wait(timeout)', async () => {
    const [result] = await runInLoop(async () => {
      const event = new Event<string>();
      const waiter = spawn(timedWait, event, 2);
      spawn(sendAfter, 0.02, event, 'in time');
      return await waiter;
    });
    expect(result).to.equal('in time');
  });

  it('refuses a second send until reset (eventlet test_reset)', async () => {
    expect(await runInLoop(async () => spawn(resetCases))).to.deep.equal([
      'fresh reset: Trying to re-reset() a fresh event.',
      'some stuff',
      'resend: Trying to re-send() an already-triggered event.',
      'some stuff',
      'ready after reset: false',
      'second stuff',
    ]);
  });

  it('forgets a sent error on reset (eventlet test_double_exception)', async () => {
    expect(await runInLoop(async () => spawn(doubleException))).to.deep.equal([
      'true true false',
      'RangeError',
      'Timeout',
    ]);
  });

  it('answers poll, ready and hasResult from green code', async () => {
    expect(await runInLoop(async () => spawn(pollCases))).to.deep.equal([
      'not ready',
      false,
      false,
      7,
      true,
      true,
      false,
    ]);
  });

  it('interrupts a wait with kill(); the event still works', async () => {
    await runInLoop(async () => {
      const event = new Event<string>();
      const ready = new Event<string>();
      const waiter = spawn(waitUntilKilled, event, ready);
      await ready.waitAsync();
      await asyncSleep(0.01);
      waiter.kill();
      expect(await waiter).to.equal('GreenletExit');
      event.send('later');
      expect(await spawn(waitEvent, event)).to.equal('later');
    });
  });

  it('is made in a green thread and sent from async code', async () => {
    const value = await runInLoop(async () => {
      const event = await spawn(makeEvent);
      expect(event).to.be.instanceOf(Event);
      const waiter = spawn(waitEvent, event);
      await asyncSleep(0.01);
      event.send('from async');
      return await waiter;
    });
    expect(value).to.equal('from async');
  });
});

describe('green: Event from async code', () => {
  useGreenWorkers();

  it('waits with waitAsync() for a value sent by a green thread', async () => {
    const value = await runInLoop(async () => {
      const event = new Event<number>();
      spawn(sendEvent, event, 42);
      return await event.waitAsync();
    });
    expect(value).to.equal(42);
  });

  it('returns undefined from waitAsync(timeout), and the value once sent', async () => {
    await runInLoop(async () => {
      const event = new Event<string>();
      const started = performance.now();
      expect(await event.waitAsync(0.02)).to.equal(undefined);
      expect(performance.now() - started).to.be.at.least(19);
      event.send('now');
      expect(await event.waitAsync(0.02)).to.equal('now');
      expect(event.wait()).to.equal('now');
    });
  });

  it('raises the sent error from waitAsync() and wait()', async () => {
    await runInLoop(async () => {
      const event = new Event();
      event.sendException(new RuntimeError('sent'));
      expect(() => event.wait()).to.throw(RuntimeError, 'sent');
      const error = await event.waitAsync().then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).to.be.instanceOf(RuntimeError);
    });
  });

  it('cancels waitAsync() with its task, leaving the event usable', async () => {
    await runInLoop(async () => {
      const event = new Event<string>();
      const task = createTask(async () => event.waitAsync());
      await asyncSleep(0);
      task.cancel();
      const outcome = await task.then(
        () => 'finished',
        (err: unknown) => (err instanceof CancelledError ? 'cancelled' : String(err)),
      );
      expect(outcome).to.equal('cancelled');
      event.send('after');
      expect(await event.waitAsync()).to.equal('after');
    });
  });

  it('refuses a blocking wait() on the loop thread before the event is sent', async () => {
    await runInLoop(async () => {
      const event = new Event();
      expect(() => event.wait()).to.throw(BlockingOnHubError, /waitAsync/);
      expect(event.poll('nothing yet')).to.equal('nothing yet');
    });
  });

  it('refuses a second send and a fresh reset, as eventlet', () => {
    const event = new Event();
    expect(() => event.reset()).to.throw(RuntimeError, 'Trying to re-reset() a fresh event.');
    event.send(1);
    expect(() => event.send(2)).to.throw(RuntimeError, 'Trying to re-send() an already-triggered event.');
    expect(event.hasResult()).to.equal(true);
  });

  it('raises GreenletExit in a waiter killed by a task cancel', async () => {
    await runInLoop(async () => {
      const event = new Event<string>();
      const waiter = spawn(waitEvent, event);
      const awaiter = createTask(async () => await waiter);
      await asyncSleep(0.02);
      awaiter.cancel();
      await awaiter.then(
        () => undefined,
        () => undefined,
      );
      expect(await waitUntil(() => waiter.dead)).to.equal(true);
      expect(() => waiter.wait()).to.throw(GreenletExit);
      event.send('nobody waits');
    });
  });
});
