import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import sinon from 'sinon';
import {
  CancelledError,
  createTask,
  currentTask,
  EventLoop,
  getEventLoop,
  getRunningLoop,
  newEventLoop,
  run,
  Runner,
  RuntimeError,
  setEventLoop,
  sleep,
  type ExceptionContext,
  type Executor,
  type Task,
} from '../../src/loop/index.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

/** A real, minimal executor that runs functions inline and records its shutdowns. */
class InlineExecutor implements Executor {
  readonly shutdowns: { wait: boolean | undefined; loopClosed: boolean }[] = [];

  constructor(private readonly loop: EventLoop) {}

  async submit<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Promise<Awaited<R>> {
    return await fn(...args);
  }

  async shutdown(wait?: boolean): Promise<void> {
    this.shutdowns.push({ wait, loopClosed: this.loop.isClosed() });
  }
}

/** Detaches every SIGINT listener for the test, so the runner sees none. */
function withoutSigintListeners(): void {
  let saved: NodeJS.SignalsListener[] = [];
  beforeEach(() => {
    saved = process.listeners('SIGINT');
    for (const listener of saved) process.off('SIGINT', listener);
  });
  afterEach(() => {
    for (const listener of saved) process.on('SIGINT', listener);
  });
}

describe('run()', () => {
  it("returns main's result", async () => {
    const result = await run(async () => {
      await sleep(0);
      return 42;
    });
    expect(result).to.equal(42);
  });

  it("rejects with main's error", async () => {
    const err = await rejection(
      run(async () => {
        await sleep(0);
        throw new Error('spam');
      }),
    );
    expect(err).to.be.instanceOf(Error).with.property('message', 'spam');
  });

  it('runs generator functions, generator objects and started promises', async () => {
    function* gen(): Generator<unknown, string, unknown> {
      yield sleep(0);
      return 'gen';
    }
    async function later(): Promise<string> {
      await null;
      await sleep(0);
      return 'promise';
    }
    expect(await run(gen)).to.equal('gen');
    expect(await run(gen())).to.equal('gen');
    expect(await run(later())).to.equal('promise');
  });

  it('rejects what is not a coroutine with TypeError', async () => {
    for (const bad of [123, null, {}, 'main']) {
      const err = await rejection(run(bad as never));
      expect(err).to.be.instanceOf(TypeError).with.property('message').that.matches(/coroutine .* was expected/);
    }
  });

  it('rejects bad options with TypeError', async () => {
    expect(await rejection(run(async () => 1, { debug: 'yes' as never }))).to.be.instanceOf(TypeError);
    expect(await rejection(run(async () => 1, { loopFactory: 5 as never }))).to.be.instanceOf(TypeError);
    const err = await rejection(run(async () => 1, { loopFactory: () => undefined as never }));
    expect(err).to.be.instanceOf(TypeError).with.property('message').that.matches(/must return an EventLoop/);
  });

  it('cannot be called from a running loop', async () => {
    const err = await run(async () => rejection(run(async () => 1)));
    expect(err).to.be.instanceOf(RuntimeError).with.property('message', 'run() cannot be called from a running event loop');
  });

  it('sets debug mode from the option, else from GREENLOOP_DEBUG', async () => {
    const debugOfRunningLoop = async (): Promise<boolean> => getRunningLoop().getDebug();
    expect(await run(debugOfRunningLoop, { debug: true })).to.equal(true);
    expect(await run(debugOfRunningLoop, { debug: false })).to.equal(false);
    const saved = process.env.GREENLOOP_DEBUG;
    process.env.GREENLOOP_DEBUG = '1';
    try {
      expect(await run(debugOfRunningLoop)).to.equal(true);
      expect(await run(debugOfRunningLoop, { debug: false })).to.equal(false);
    } finally {
      if (saved === undefined) delete process.env.GREENLOOP_DEBUG;
      else process.env.GREENLOOP_DEBUG = saved;
    }
  });

  it('makes its loop the current loop, then closes and unsets it', async () => {
    const seen = await run(async () => ({ running: getRunningLoop(), current: getEventLoop() }));
    expect(seen.current).to.equal(seen.running);
    expect(seen.running.isClosed()).to.equal(true);
    const fresh = getEventLoop();
    try {
      expect(fresh).to.not.equal(seen.running);
    } finally {
      setEventLoop(null);
      fresh.close();
    }
  });

  it('runs on the loop loopFactory returns, and closes it', async () => {
    const loop = newEventLoop();
    const used = await run(async () => getRunningLoop(), { loopFactory: () => loop });
    expect(used).to.equal(loop);
    expect(loop.isClosed()).to.equal(true);
  });

  it('cancels the tasks main leaves pending and lets them clean up', async () => {
    const events: string[] = [];
    let leftover: Task<void> | null = null;
    const result = await run(async () => {
      leftover = createTask(async () => {
        try {
          await sleep(10);
        } catch (err) {
          events.push(err instanceof CancelledError ? 'cancelled' : 'other');
          await sleep(0); // cleanup may still await
          events.push('cleaned up');
          throw err;
        }
      });
      await sleep(0);
      return 123;
    });
    expect(result).to.equal(123);
    expect(events).to.deep.equal(['cancelled', 'cleaned up']);
    expect(leftover!.cancelled()).to.equal(true);
  });

  it('reports the errors pending tasks end with to the exception handler', async () => {
    const handler = sinon.spy();
    const boom = new Error('boom');
    let leftover: Task<void> | null = null;
    await run(async () => {
      getRunningLoop().setExceptionHandler(handler);
      leftover = createTask(async () => {
        try {
          await sleep(10);
        } catch {
          throw boom;
        }
      });
      await sleep(0);
    });
    expect(handler.calledOnce).to.equal(true);
    const context = handler.firstCall.args[1] as ExceptionContext;
    expect(context).to.deep.equal({ message: 'unhandled exception during run() shutdown', exception: boom, task: leftover });
  });

  it('shuts the default executor down, waiting, before closing the loop', async () => {
    let executor: InlineExecutor | null = null;
    const result = await run(async () => {
      const loop = getRunningLoop();
      executor = new InlineExecutor(loop);
      loop.setDefaultExecutor(executor);
      return await loop.runInExecutor(null, (x: number) => x * 2, 21);
    });
    expect(result).to.equal(42);
    expect(executor!.shutdowns).to.deep.equal([{ wait: true, loopClosed: false }]);
  });
});

describe('run(fn, ...args)', () => {
  it('calls main with the arguments, inside the main task', async () => {
    async function add(a: number, b: number): Promise<[number, boolean]> {
      await sleep(0);
      return [a + b, currentTask() !== null];
    }
    expect(await run(add, 2, 3)).to.deep.equal([5, true]);
  });

  it('passes arguments to a generator function too', async () => {
    function* greet(name: string, punctuation: string): Generator<unknown, string, unknown> {
      yield sleep(0);
      return `hello ${name}${punctuation}`;
    }
    expect(await run(greet, 'loop', '!')).to.equal('hello loop!');
  });

  it('passes a plain object to a main that takes parameters', async () => {
    const seen = await run(async (config: { debug: boolean }) => [config, getRunningLoop().getDebug()] as const, { debug: true });
    expect(seen[0]).to.deep.equal({ debug: true });
    expect(seen[1]).to.equal(false);
  });

  it('still reads { debug } after a main that takes none as options (the older form)', async () => {
    expect(await run(async () => getRunningLoop().getDebug(), { debug: true })).to.equal(true);
    const noParams = async (...rest: unknown[]): Promise<number> => rest.length;
    expect(await run(noParams, { debug: true }, 2)).to.equal(2);
  });

  it('run.withOptions(options, main, ...args) sets options and passes arguments', async () => {
    const seen = await run.withOptions({ debug: true }, async (x: number) => [x, getRunningLoop().getDebug()], 7);
    expect(seen).to.deep.equal([7, true]);
    const err = await rejection(run.withOptions({ debug: 'yes' as never }, async () => 1));
    expect(err).to.be.instanceOf(TypeError).with.property('message').that.matches(/^run\.withOptions\(\): debug must be a boolean/);
  });

  it('refuses arguments with a coroutine already started', async () => {
    const started = (async (): Promise<number> => 1)();
    const err = await rejection(run(started as never, 5));
    expect(err).to.be.instanceOf(TypeError).with.property('message').that.matches(/pass the coroutine function instead/);
    await started;
  });

  it('Runner.run(fn, ...args) passes the arguments', async () => {
    await using runner = new Runner();
    expect(await runner.run(async (a: string, b: number) => a.repeat(b), 'ab', 2)).to.equal('abab');
  });
});

describe('Runner', () => {
  it('sets the debug mode of its loop when asked', async () => {
    for (const debug of [true, false]) {
      const runner = new Runner({ debug });
      expect(runner.getLoop().getDebug()).to.equal(debug);
      await runner.close();
    }
  });

  it('uses the loop loopFactory creates, without making it the current loop', async () => {
    const loop = newEventLoop();
    const runner = new Runner({ loopFactory: () => loop });
    expect(runner.getLoop()).to.equal(loop);
    const current = getEventLoop();
    try {
      expect(current).to.not.equal(loop);
    } finally {
      setEventLoop(null);
      current.close();
    }
    await runner.close();
    expect(loop.isClosed()).to.equal(true);
  });

  it('runs several coroutines on one loop; a task left pending goes on in the next run', async () => {
    const runner = new Runner();
    const loop = runner.getLoop();
    const go = loop.createFuture<string>();
    let leftover: Task<string> | null = null;
    const first = await runner.run(async () => {
      leftover = createTask(async () => `leftover got ${await go}`);
      await sleep(0);
      return 'first';
    });
    expect(first).to.equal('first');
    expect(leftover!.done()).to.equal(false);
    const second = await runner.run(async () => {
      expect(getRunningLoop()).to.equal(loop);
      go.setResult('go');
      return await leftover!;
    });
    expect(second).to.equal('leftover got go');
    await runner.close();
    expect(loop.isClosed()).to.equal(true);
  });

  it('runs a Future of its loop', async () => {
    const runner = new Runner();
    const future = runner.getLoop().createFuture<number>();
    runner.getLoop().callSoon(() => future.setResult(7));
    expect(await runner.run(future)).to.equal(7);
    await runner.close();
  });

  it('rejects a coroutine that is not one with TypeError, before creating a loop', async () => {
    const factory = sinon.spy(() => newEventLoop());
    const runner = new Runner({ loopFactory: factory });
    expect(await rejection(runner.run(123 as never))).to.be.instanceOf(TypeError);
    expect(factory.called).to.equal(false);
    await runner.close();
  });

  it('is closed by close(): getLoop and run then throw, the loop is closed', async () => {
    const runner = new Runner();
    const loop = runner.getLoop();
    await runner.close();
    expect(loop.isClosed()).to.equal(true);
    expect(() => runner.getLoop()).to.throw(RuntimeError, 'Runner is closed');
    const err = await rejection(runner.run(async () => 1));
    expect(err).to.be.instanceOf(RuntimeError).with.property('message', 'Runner is closed');
  });

  it('closes once: a second close() is a no-op and concurrent calls share the first', async () => {
    const runner = new Runner();
    const loop = runner.getLoop();
    const first = runner.close();
    expect(runner.close()).to.equal(first);
    await first;
    await runner.close();
    expect(loop.isClosed()).to.equal(true);
  });

  it('creates no loop when closed before first use', async () => {
    const factory = sinon.spy(() => newEventLoop());
    const runner = new Runner({ loopFactory: factory });
    await runner.close();
    expect(factory.called).to.equal(false);
  });

  it('is closed at the end of an `await using` block', async () => {
    let loop: EventLoop;
    {
      await using runner = new Runner();
      loop = runner.getLoop();
      expect(await runner.run(async () => 'inside')).to.equal('inside');
    }
    expect(loop.isClosed()).to.equal(true);
  });

  it('cannot run from inside its own loop, nor close while the loop runs', async () => {
    const runner = new Runner();
    const [runError, closeError] = await runner.run(async () => [
      await rejection(runner.run(async () => 1)),
      await rejection(runner.close()),
    ]);
    expect(runError)
      .to.be.instanceOf(RuntimeError)
      .with.property('message', 'Runner.run() cannot be called from a running event loop');
    expect(closeError).to.be.instanceOf(RuntimeError).with.property('message').that.matches(/while the runner's loop is running/);
    await runner.close();
    expect(runner.getLoop.bind(runner)).to.throw(RuntimeError, 'Runner is closed');
  });

  it('rejects with CancelledError when main is cancelled other than by SIGINT', async () => {
    const runner = new Runner();
    const err = await rejection(
      runner.run(async () => {
        const main = currentTask()!;
        getRunningLoop().callSoon(() => main.cancel());
        await sleep(10);
      }),
    );
    expect(err).to.be.instanceOf(CancelledError);
    await runner.close();
  });

  describe('SIGINT listener', () => {
    withoutSigintListeners();

    it('listens for SIGINT only while run() runs', async () => {
      const runner = new Runner();
      const during = await runner.run(async () => process.listenerCount('SIGINT'));
      expect(during).to.equal(1);
      expect(process.listenerCount('SIGINT')).to.equal(0);
      const err = await rejection(runner.run(async () => Promise.reject(new Error('fail'))));
      expect(err).to.have.property('message', 'fail');
      expect(process.listenerCount('SIGINT')).to.equal(0);
      await runner.close();
    });

    it('leaves SIGINT alone when someone else listens for it', async () => {
      const own = (): void => undefined;
      process.on('SIGINT', own);
      try {
        const during = await run(async () => process.listeners('SIGINT'));
        expect(during).to.deep.equal([own]);
      } finally {
        process.off('SIGINT', own);
      }
    });
  });
});

describe('run() interrupted by SIGINT (subprocess)', function () {
  this.timeout(20000);
  const fixture = fileURLToPath(new URL('./fixtures/sigint-main.ts', import.meta.url));
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

  interface Outcome {
    lines: string[];
    code: number | null;
    signal: NodeJS.Signals | null;
  }

  /** Runs the fixture and sends it SIGINT each time it prints one of `interruptOn`. */
  function runFixture(mode: string, interruptOn: string[]): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const lines: string[] = [];
      let pending = '';
      const pendingInterrupts = [...interruptOn];
      const killer = setTimeout(() => child.kill('SIGKILL'), 15000);
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) {
          lines.push(line);
          if (line === pendingInterrupts[0]) {
            pendingInterrupts.shift();
            child.kill('SIGINT');
          }
        }
      });
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(killer);
        resolve({ lines, code, signal });
      });
    });
  }

  it('cancels main on the first SIGINT and rejects with KeyboardInterrupt', async () => {
    const outcome = await runFixture('cleanup', ['ready']);
    expect(outcome.lines).to.deep.equal([
      'listeners during run: 1',
      'ready',
      'main cancelled',
      'error: KeyboardInterrupt',
      'listeners after run: 0',
    ]);
    expect(outcome.code).to.equal(130);
  });

  it('returns normally when main handles the cancel and returns', async () => {
    const outcome = await runFixture('recover', ['ready']);
    expect(outcome.lines.slice(2)).to.deep.equal(['main cancelled', 'result: recovered', 'listeners after run: 0']);
    expect(outcome.code).to.equal(0);
  });

  it('terminates the process by SIGINT on the second SIGINT', async () => {
    const outcome = await runFixture('ignore', ['ready', 'main cancelled']);
    expect(outcome.lines.slice(1)).to.deep.equal(['ready', 'main cancelled']);
    expect(outcome.signal).to.equal('SIGINT');
  });
});
