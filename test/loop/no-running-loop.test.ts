/**
 * "no running event loop": asyncio's idiom `run(main())` starts an async
 * function before any loop runs, so its first loop call fails; the error
 * names that call and says what to write instead.
 */
import { expect } from 'chai';
import {
  Barrier,
  Condition,
  Event,
  Lock,
  Queue,
  RuntimeError,
  Semaphore,
  TaskGroup,
  allTasks,
  createSubprocessExec,
  createTask,
  ensureFuture,
  getRunningLoop,
  newEventLoop,
  openConnection,
  openUnixConnection,
  run,
  sleep,
  startServer,
  startUnixServer,
  timeout,
  wait,
  waitFor,
} from '../../src/loop/index.js';

const FIX = 'no running event loop: if you called run(main()) or createTask(fn()), pass the function instead: run(main) / run(fn, ...args)';

async function failure(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

async function expectNoLoop(api: string, action: () => unknown): Promise<void> {
  const err = await failure(action);
  expect(err).to.be.instanceOf(RuntimeError);
  expect((err as Error).message).to.equal(`${api}: ${FIX}`);
}

describe('no running event loop: the error names the call and the fix', () => {
  it('run(main()) fails with the call that needed the loop and what to write instead', async () => {
    async function main(): Promise<void> {
      await openConnection('127.0.0.1', 9);
    }
    const err = await failure(() => run(main()));
    expect(err).to.be.instanceOf(RuntimeError);
    expect((err as Error).message).to.equal(`openConnection(): ${FIX}`);
  });

  it('run(main) with the function instead runs', async () => {
    async function main(): Promise<string> {
      await sleep(0);
      return 'ran';
    }
    expect(await run(main)).to.equal('ran');
  });

  it('createTask(worker(name, q)) outside a loop names createTask()', async () => {
    async function worker(name: string, q: Queue<string>): Promise<void> {
      q.putNowait(name);
    }
    const q = new Queue<string>();
    await expectNoLoop('createTask()', () => createTask(worker('a', q)));
  });

  it('names each API that needs a running loop', async () => {
    await expectNoLoop('getRunningLoop()', () => getRunningLoop());
    await expectNoLoop('createTask()', () => createTask(async () => undefined));
    await expectNoLoop('allTasks()', () => allTasks());
    await expectNoLoop('ensureFuture()', () => ensureFuture(Promise.resolve(1)));
    await expectNoLoop('sleep()', () => sleep(0.01));
    await expectNoLoop('timeout()', () => timeout(1));
    await expectNoLoop('waitFor()', () => waitFor(Promise.resolve(1), 1));
    const other = newEventLoop();
    await expectNoLoop('wait()', () => wait([other.createFuture()]));
    other.close();
    await expectNoLoop('openConnection()', () => openConnection('127.0.0.1', 9));
    await expectNoLoop('openUnixConnection()', () => openUnixConnection('/nonexistent.sock'));
    await expectNoLoop('startServer()', () => startServer(() => undefined, '127.0.0.1', 0));
    await expectNoLoop('startUnixServer()', () => startUnixServer(() => undefined, '/nonexistent.sock'));
    await expectNoLoop('createSubprocessExec()', () => createSubprocessExec('true'));
    await expectNoLoop('TaskGroup', () => TaskGroup.run(async () => undefined));
  });

  it('names the waiting call of a primitive', async () => {
    const lock = new Lock();
    await lock.acquire(); // free: no wait, no loop needed
    await expectNoLoop('Lock.acquire()', () => lock.acquire());
    await expectNoLoop('Event.wait()', () => new Event().wait());
    const semaphore = new Semaphore(0);
    await expectNoLoop('Semaphore.acquire()', () => semaphore.acquire());
    const condition = new Condition();
    await condition.acquire();
    await expectNoLoop('Condition.wait()', () => condition.wait());
    await expectNoLoop('Barrier.wait()', () => new Barrier(2).wait());
    const full = new Queue<number>(1);
    full.putNowait(1);
    await expectNoLoop('Queue.put()', () => full.put(2));
  });
});
