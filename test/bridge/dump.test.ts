/**
 * dump(): every task and every green thread, what each waits on right now
 * (a labelled Future: a queue, a lock, an event, a sleep, a stream read or
 * a socket recv with its peer, a callAsync's task) and for how long; taken
 * on the loop's thread or from a green thread; and the signal that prints it.
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  Event as LoopEvent,
  getRunningLoop,
  Lock,
  openConnection,
  Queue as LoopQueue,
  sleep as asyncSleep,
  startServer,
  type StreamWriter,
} from '../../src/loop/index.js';
import { Event, Queue, spawn } from '../../src/green/index.js';
import { configure, dump, type Dump, type GreenThreadDump, type TaskDump } from '../../src/bridge/index.js';
import { ValueError } from '../../src/loop/errors.js';
import { portOf, runInLoop, startScript, until } from '../helpers.js';
import { useGreenWorkers } from '../green-workers.js';
import {
  callGate,
  computeUntil,
  dumpFromGreen,
  getItem,
  hubGate,
  recvFrom,
  sleepFor,
  waitEvent,
} from './fixtures/dump-threads.js';

const SIGNAL_SCRIPT = fileURLToPath(new URL('./fixtures/dump-signal.ts', import.meta.url));

function task(taken: Dump, name: string): TaskDump {
  const found = taken.tasks.find((t) => t.name === name);
  expect(found, `task ${name} in ${taken.text}`).to.not.equal(undefined);
  return found as TaskDump;
}

function thread(taken: Dump, name: string): GreenThreadDump {
  const found = taken.greenThreads.find((t) => t.name === name);
  expect(found, `green thread ${name} in ${taken.text}`).to.not.equal(undefined);
  return found as GreenThreadDump;
}

describe('bridge: dump() of tasks and green threads', function () {
  this.timeout(60_000);
  useGreenWorkers(4);

  it('shows what each task awaits (loop and green primitives), where it was created, and for how long', async () => {
    const [first, second, port] = await runInLoop(
      async () => {
        const writers: StreamWriter[] = [];
        const server = await startServer((_r, w) => void writers.push(w), '127.0.0.1', 0);
        const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
        const queue = new LoopQueue<string>();
        const lock = new Lock();
        await lock.acquire();
        const event = new LoopEvent();
        const greenQueue = new Queue<string>();
        const loop = getRunningLoop();
        const tasks = [
          loop.createTask(async () => await queue.get(), { name: 'getter' }),
          loop.createTask(async () => await lock.acquire(), { name: 'locker' }),
          loop.createTask(async () => await event.wait(), { name: 'waiter' }),
          loop.createTask(async () => await asyncSleep(60), { name: 'sleeper' }),
          loop.createTask(async () => await reader.read(10), { name: 'reader' }),
          loop.createTask(async () => await greenQueue.getAsync(), { name: 'green-getter' }),
        ];
        await until(() => tasks.every((t) => dump().tasks.some((d) => d.name === t.getName() && d.waitingOn !== null)), 20);
        const taken = dump();
        await asyncSleep(0.05);
        const later = dump();
        for (const t of tasks) t.cancel();
        await Promise.allSettled(tasks);
        writer.close();
        for (const w of writers) w.close();
        const port = portOf(server);
        server.close();
        await server.waitClosed();
        return [taken, later, port] as const;
      },
      (loop) => loop.setDebug(true),
    );
    expect(task(first, 'getter').waitingOn).to.match(/^Queue\.get\(\) on <Queue /);
    expect(task(first, 'locker').waitingOn).to.match(/^Lock\.acquire\(\) on <Lock \[locked, waiters:1\]>/);
    expect(task(first, 'waiter').waitingOn).to.match(/^Event\.wait\(\) on <Event \[unset, waiters:1\]>/);
    expect(task(first, 'sleeper').waitingOn).to.equal('sleep(60)');
    expect(task(first, 'reader').waitingOn).to.equal(`StreamReader.read() from 127.0.0.1:${port}`);
    expect(task(first, 'green-getter').waitingOn).to.match(/^Queue\.get\(\) on <Queue maxsize=null qsize=0 getters\[1\]>$/);
    expect(task(first, 'getter').coro).to.equal('<anonymous>()');
    expect(task(first, 'getter').createdAt?.[0]).to.contain('dump.test.ts');
    expect(task(second, 'sleeper').waitingFor).to.be.greaterThan(task(first, 'sleeper').waitingFor);
    expect(first.text).to.contain('"sleeper" <anonymous>() waits').and.contain('on sleep(60)');
    expect(first.text).to.contain('created at').and.contain('dump.test.ts');
  });

  it('shows what each green thread is parked in, on which object, for how long; and the ones computing', async () => {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const { taken, later, fromGreen, port } = await runInLoop(async () => {
      const writers: StreamWriter[] = [];
      const server = await startServer((_r, w) => void writers.push(w), '127.0.0.1', 0);
      const event = new Event<string>();
      const queue = new Queue<string>();
      const threads = [
        spawn(waitEvent, event),
        spawn(getItem, queue),
        spawn(sleepFor, 60),
        spawn(recvFrom, portOf(server)),
        spawn(computeUntil, flag),
        spawn(callGate),
      ];
      const settled = (d: Dump): boolean =>
        d.greenThreads.filter((t) => t.state === 'parked').length === 5 &&
        d.greenThreads.some((t) => t.state === 'running') &&
        d.greenThreads.some((t) => t.waitingOn?.includes('awaiting') === true);
      await until(() => settled(dump()), 30);
      const first = dump();
      await asyncSleep(0.05);
      const second = dump();
      const own = await spawn(dumpFromGreen);
      Atomics.store(flag, 0, 1);
      event.send('go');
      await queue.putAsync('item');
      threads[2].kill();
      for (const w of writers) w.write(Buffer.from('hello'));
      hubGate().set();
      await Promise.allSettled(threads);
      for (const w of writers) w.close();
      const port = portOf(server);
      server.close();
      await server.waitClosed();
      return { taken: first, later: second, fromGreen: own, port };
    }, (loop) => loop.setDebug(true));
    expect(thread(taken, 'waitEvent')).to.include({ state: 'parked', operation: 'event.wait' });
    expect(thread(taken, 'waitEvent').waitingOn).to.match(/^event\.wait\(\) on <Event #\d+ unset, waiters:1>/);
    expect(thread(taken, 'getItem').waitingOn).to.match(/^queue\.get\(\) on <Queue #\d+ .*getters\[1\]>/);
    expect(thread(taken, 'sleepFor')).to.include({ operation: 'green.sleep', waitingOn: 'green.sleep(60)' });
    expect(thread(taken, 'recvFrom')).to.include({ operation: 'sock.recv' });
    expect(thread(taken, 'recvFrom').waitingOn).to.equal(`sock.recv on 127.0.0.1:${port} (peer)`);
    expect(thread(taken, 'computeUntil')).to.include({ state: 'running', operation: null });
    expect(thread(taken, 'callGate')).to.include({ operation: 'async.call' });
    expect(thread(taken, 'callGate').waitingOn).to.match(/^task "Task-\d+" \(awaitGate\(\)\) awaiting Event\.wait\(\) on <Event/);
    expect(thread(taken, 'waitEvent').spawnedAt?.[0]).to.contain('dump.test.ts');
    expect(thread(later, 'sleepFor').waitingFor).to.be.greaterThan(thread(taken, 'sleepFor').waitingFor);
    expect(taken.idleWorkers).to.be.a('number');
    expect(taken.text).to.match(/#\d+ recvFrom\(\) parked [\d.]+ s in sock\.recv on 127\.0\.0\.1:\d+ \(peer\)/);
    expect(taken.text).to.match(/#\d+ callGate\(\) parked [\d.]+ s in async\.call\(\): task "Task-\d+" \(awaitGate\(\)\)/);
    expect(taken.text).to.match(/#\d+ computeUntil\(\) running/);
    expect(taken.text).to.contain('spawned at').and.contain('dump.test.ts');
    // From a green thread: the hub's view, the caller itself running its dump call.
    expect(thread(fromGreen, 'dumpFromGreen')).to.include({ state: 'running', operation: 'runtime.dump' });
    expect(thread(fromGreen, 'waitEvent')).to.include({ state: 'parked', operation: 'event.wait' });
  });

  it('is empty where no loop runs on this thread', () => {
    const taken = dump();
    expect(taken.tasks).to.deep.equal([]);
    expect(taken.greenThreads).to.deep.equal([]);
    expect(taken.text).to.match(/^greenloop dump \(pid \d+, .*\): 0 tasks, 0 green threads, 0 idle workers\n$/);
  });
});

describe('bridge: the dump on a signal', function () {
  this.timeout(60_000);

  afterEach(() => configure({ dumpSignal: false }));

  it('configure({ dumpSignal }) installs one handler and removes it', () => {
    const before = process.listenerCount('SIGUSR2');
    configure({ dumpSignal: true });
    expect(process.listenerCount('SIGUSR2')).to.equal(before + 1);
    configure({ dumpSignal: 'SIGUSR2' });
    expect(process.listenerCount('SIGUSR2')).to.equal(before + 1);
    configure({ dumpSignal: 'SIGWINCH' });
    expect(process.listenerCount('SIGUSR2')).to.equal(before);
    expect(process.listenerCount('SIGWINCH')).to.be.greaterThan(0);
    configure({ dumpSignal: false });
    expect(process.listenerCount('SIGUSR2')).to.equal(before);
  });

  it('refuses a value that names no catchable signal', () => {
    expect(() => configure({ dumpSignal: 12 as unknown as boolean })).to.throw(TypeError, /dumpSignal must be a boolean or a signal name, got number 12/);
    expect(() => configure({ dumpSignal: 'SIGNOPE' as NodeJS.Signals })).to.throw(ValueError, /"SIGNOPE"/);
    expect(() => configure({ dumpSignal: 'SIGKILL' })).to.throw(ValueError, /catch/);
    expect(() => configure({ dumpSignal: 'SIGUSR1' })).to.throw(ValueError, /SIGUSR1/);
  });

  it('GREENLOOP_DUMP=SIGUSR2: kill -USR2 prints the dump to stderr while the program waits', async () => {
    const child = startScript(SIGNAL_SCRIPT, { env: { GREENLOOP_DUMP: 'SIGUSR2' }, hangLimit: 50 });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ended = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('ready')) resolve();
      });
      child.on('close', () => resolve());
    });
    child.kill('SIGUSR2');
    const code = await ended;
    expect(code, stderr).to.equal(0);
    expect(stdout).to.contain('done woken');
    expect(stderr).to.match(/greenloop dump \(pid \d+/);
    expect(stderr).to.match(/#\d+ waitEvent\(\) parked [\d.]+ s in event\.wait\(\) on <Event #\d+ unset, waiters:1>/);
    expect(stderr).to.match(/waits [\d.]+ s on GreenThread\.wait\(\) on <GreenThread \d+ waitEvent running in event\.wait\(\)>/);
  });
});
