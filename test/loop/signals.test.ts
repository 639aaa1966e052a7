/**
 * loop.addSignalHandler / removeSignalHandler with real signals sent to this
 * process and to child processes, in the spirit of CPython's
 * test_asyncio/test_unix_events.py signal tests.
 *
 * Only SIGUSR2 and SIGWINCH are sent to the test process itself, and SIGUSR2
 * only while a handler is installed (its default action ends the process).
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import {
  currentTask,
  getRunningLoop,
  newEventLoop,
  RuntimeError,
  sleep,
  ValueError,
  waitFor,
  type EventLoop,
  type SignalSpec,
} from '../../src/loop/index.js';
import { checkFdLeaks, runInLoop } from '../helpers.js';

/** Resolves with the arguments of the next call of the returned callback. */
function nextCall(loop: EventLoop): { callback: (...args: unknown[]) => void; called: Promise<unknown[]> } {
  const future = loop.createFuture<unknown[]>();
  const callback = (...args: unknown[]): void => {
    if (!future.done()) future.setResult([...args, { running: loop.isRunning(), inTask: currentTask() !== null }]);
  };
  return { callback, called: waitFor(future, 2) };
}

describe('loop.addSignalHandler', () => {
  checkFdLeaks();

  it('runs the callback through the loop when the signal arrives', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const { callback, called } = nextCall(loop);
      loop.addSignalHandler('SIGUSR2', callback, 'a', 1);
      process.kill(process.pid, 'SIGUSR2');
      expect(await called).to.deep.equal(['a', 1, { running: true, inTask: false }]);
      expect(loop.removeSignalHandler('SIGUSR2')).to.equal(true);
    });
  });

  it('accepts signal numbers, and replaces the handler of the same signal', async () => {
    const before = process.listenerCount('SIGUSR2');
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const first = nextCall(loop);
      const second = nextCall(loop);
      loop.addSignalHandler(osConstants.signals.SIGUSR2, first.callback);
      loop.addSignalHandler('SIGUSR2', second.callback, 'second');
      expect(process.listenerCount('SIGUSR2')).to.equal(before + 1);
      process.kill(process.pid, 'SIGUSR2');
      expect((await second.called)[0]).to.equal('second');
      await sleep(0.01);
      expect(await Promise.race([first.called.then(() => 'called'), sleep(0.01, 'not called')])).to.equal('not called');
      expect(loop.removeSignalHandler(osConstants.signals.SIGUSR2)).to.equal(true);
    });
    expect(process.listenerCount('SIGUSR2')).to.equal(before);
  });

  it('removeSignalHandler returns whether there was a handler, and stops the calls', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      let calls = 0;
      const baseline = process.listenerCount('SIGWINCH');
      expect(loop.removeSignalHandler('SIGWINCH')).to.equal(false);
      loop.addSignalHandler('SIGWINCH', () => calls++);
      expect(process.listenerCount('SIGWINCH')).to.equal(baseline + 1);
      expect(loop.removeSignalHandler('SIGWINCH')).to.equal(true);
      expect(loop.removeSignalHandler('SIGWINCH')).to.equal(false);
      expect(process.listenerCount('SIGWINCH')).to.equal(baseline);
      process.kill(process.pid, 'SIGWINCH'); // default action: ignored
      await sleep(0.05);
      expect(calls).to.equal(0);
    });
  });

  it('gives each loop its own handler', async () => {
    const other = newEventLoop();
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const mine = nextCall(loop);
      let otherCalls = 0;
      other.addSignalHandler('SIGUSR2', () => otherCalls++);
      loop.addSignalHandler('SIGUSR2', mine.callback);
      process.kill(process.pid, 'SIGUSR2');
      await mine.called;
      expect(other.removeSignalHandler('SIGUSR2')).to.equal(true);
      expect(loop.removeSignalHandler('SIGUSR2')).to.equal(true);
      // The other loop never ran: its call waited in its ready queue.
      expect(otherCalls).to.equal(0);
    });
    other.close();
  });

  it('removes the handlers of a loop when it closes', async () => {
    const before = process.listenerCount('SIGWINCH') + process.listenerCount('SIGHUP');
    const loop = newEventLoop();
    loop.addSignalHandler('SIGWINCH', () => undefined);
    loop.addSignalHandler('SIGHUP', () => undefined);
    expect(process.listenerCount('SIGWINCH') + process.listenerCount('SIGHUP')).to.equal(before + 2);
    loop.close();
    expect(process.listenerCount('SIGWINCH') + process.listenerCount('SIGHUP')).to.equal(before);
    expect(loop.removeSignalHandler('SIGHUP')).to.equal(false);
    expect(() => loop.addSignalHandler('SIGHUP', () => undefined)).to.throw(RuntimeError, /closed/);
  });

  it('rejects bad signals and callbacks with clear errors', () => {
    const loop = newEventLoop();
    try {
      const callback = (): void => undefined;
      const cases: Array<[unknown, new (...args: never[]) => Error, RegExp]> = [
        ['SIGFOO', ValueError, /invalid signal name "SIGFOO"/],
        ['sigint', ValueError, /invalid signal name/],
        [0, ValueError, /invalid signal number 0/],
        [999, ValueError, /invalid signal number 999/],
        [2.5, ValueError, /invalid signal number 2.5/],
        [null, TypeError, /sig must be a signal name or number, not null/],
        [{}, TypeError, /not object/],
        ['SIGKILL', RuntimeError, /sig SIGKILL cannot be caught/],
        [osConstants.signals.SIGSTOP, RuntimeError, /sig SIGSTOP cannot be caught/],
      ];
      for (const [sig, errorClass, message] of cases) {
        expect(() => loop.addSignalHandler(sig as SignalSpec, callback), String(sig)).to.throw(errorClass, message);
      }
      expect(() => loop.removeSignalHandler('SIGFOO' as SignalSpec)).to.throw(ValueError);
      expect(() => loop.removeSignalHandler(undefined as unknown as SignalSpec)).to.throw(TypeError);
      expect(() => loop.addSignalHandler('SIGUSR2', async () => undefined)).to.throw(TypeError, /coroutines cannot/);
      expect(() => loop.addSignalHandler('SIGUSR2', function* () {})).to.throw(TypeError, /coroutines cannot/);
      expect(() => loop.addSignalHandler('SIGUSR2', 'nope' as unknown as () => void)).to.throw(TypeError, /function/);
      expect(process.listenerCount('SIGKILL')).to.equal(0);
    } finally {
      loop.close();
    }
  });

  it('refuses to work off the main thread', async () => {
    const worker = new Worker(new URL('./fixtures/signals-worker.mjs', import.meta.url));
    const message = await new Promise<unknown>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await new Promise((resolve) => worker.once('exit', resolve));
    expect(message).to.deep.include({ name: 'RuntimeError' });
    expect((message as { message: string }).message).to.match(/main thread/);
  });
});

describe('removeSignalHandler in a child process', () => {
  checkFdLeaks();

  const fixture = fileURLToPath(new URL('./fixtures/signals-default.ts', import.meta.url));

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`gives ${sig} its default action back`, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, sig], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
      );
      expect(output).to.equal('handled\nremoved true\n');
      expect([code, signal]).to.deep.equal([null, sig]);
    });
  }
});
