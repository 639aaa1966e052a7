/**
 * Green queues, after eventlet's queue_test: producers and consumers in
 * different green threads, the Queue(0) channel, timeouts, FIFO fairness
 * across threads, kill while blocked, tasks and join, resize, async twins,
 * and queues crossing threads.
 */
import { expect } from 'chai';
import { Empty, Full, GreenletExit, LifoQueue, LightQueue, PriorityQueue, Queue, spawn } from '../../src/green/index.js';
import { BlockingOnHubError } from '../../src/bridge/index.js';
import { CancelledError, ValueError } from '../../src/loop/errors.js';
import { createTask, sleep as asyncSleep } from '../../src/loop/index.js';
import { runInLoop } from '../helpers.js';
import { useGreenWorkers, waitUntil } from '../green-workers.js';
import {
  asyncTwinInGreen,
  consume,
  consumeTasks,
  getOne,
  getUntilKilled,
  joinQueue,
  makeQueue,
  nowaitErrors,
  pipeline,
  produce,
  putAndLog,
  putOne,
  putSpecialItems,
  sizes,
  taskDoneTooOften,
  timedGet,
  timedPut,
} from './fixtures/primitives-queue.js';

/** Waits until `count()` reaches `n` (green threads parked in the queue). */
async function parkedIn(count: () => number, n: number): Promise<void> {
  expect(await waitUntil(() => count() === n), `${n} parked`).to.equal(true);
}

describe('green: queues between green threads', () => {
  useGreenWorkers();

  it('carries items in order from a producer thread to a consumer thread, through a small queue', async () => {
    const items = Array.from({ length: 300 }, (_, i) => i);
    const received = await runInLoop(async () => {
      const queue = new Queue<number>(4);
      const consumer = spawn(consume, queue, items.length);
      expect(await spawn(produce, queue, items)).to.equal(items.length);
      return await consumer;
    });
    expect(received).to.deep.equal(items);
  });

  it('orders items LIFO and by priority', async () => {
    await runInLoop(async () => {
      const lifo = new LifoQueue<number>();
      const priority = new PriorityQueue<[number, string]>();
      await spawn(produce, lifo, [1, 2, 3]);
      await spawn(produce, priority, [[3, 'c'], [1, 'a'], [2, 'b'], [1, 'a2']]);
      expect([lifo.getNowait(), lifo.getNowait(), lifo.getNowait()]).to.deep.equal([3, 2, 1]);
      expect(await spawn(consume, priority, 4)).to.deep.equal([[1, 'a'], [1, 'a2'], [2, 'b'], [3, 'c']]);
    });
  });

  it('blocks put() while maxsize items are queued (eventlet test_max_size)', async () => {
    await runInLoop(async () => {
      const queue = new Queue<string>(2);
      const log = new Queue<string>();
      const putter = spawn(putAndLog, queue, ['a', 'b', 'c'], log);
      await parkedIn(() => queue.putting(), 1);
      expect([log.getNowait(), log.getNowait(), log.qsize()]).to.deep.equal(['a', 'b', 0]);
      expect(queue.getNowait()).to.equal('a');
      expect(await log.getAsync()).to.equal('c');
      expect([queue.getNowait(), queue.getNowait()]).to.deep.equal(['b', 'c']);
      await putter;
    });
  });

  it('raises Empty and Full after the timeout, having waited at least that long', async () => {
    const [got, put] = await runInLoop(async () => {
      const full = new Queue<number>(1);
      full.putNowait(1);
      return Promise.all([spawn(timedGet, new Queue(), 0.03), spawn(timedPut, full, 2, 0.03)]);
    });
    expect(got[0]).to.equal('Empty');
    expect(got[1]).to.be.at.least(0.03);
    expect(put[0]).to.equal('Full');
    expect(put[1]).to.be.at.least(0.03);
  });

  it('serves blocked getters in FIFO order, whatever their thread', async () => {
    const results = await runInLoop(async () => {
      const queue = new Queue<string>();
      const getters = [];
      for (let i = 1; i <= 3; i++) {
        getters.push(spawn(getOne, queue));
        await parkedIn(() => queue.getting(), i);
      }
      for (const item of ['first', 'second', 'third']) queue.putNowait(item);
      return Promise.all(getters);
    });
    expect(results).to.deep.equal(['first', 'second', 'third']);
  });

  it('serves blocked putters in FIFO order, whatever their thread', async () => {
    const results = await runInLoop(async () => {
      const queue = new Queue<string>(1);
      queue.putNowait('queued');
      const putters = [];
      for (let i = 1; i <= 3; i++) {
        putters.push(spawn(putOne, queue, `p${i}`));
        await parkedIn(() => queue.putting(), i);
      }
      const order = [];
      for (let i = 0; i < 4; i++) order.push(await queue.getAsync());
      await Promise.all(putters);
      return order;
    });
    expect(results).to.deep.equal(['queued', 'p1', 'p2', 'p3']);
  });

  it('interrupts a blocked get() with kill(); the item put next is not lost', async () => {
    await runInLoop(async () => {
      const queue = new Queue<string>();
      const ready = new LightQueue<string>();
      const getter = spawn(getUntilKilled, queue, ready);
      expect(await ready.getAsync()).to.equal('parked');
      await parkedIn(() => queue.getting(), 1);
      getter.kill();
      expect(await getter).to.equal('GreenletExit');
      expect(queue.getting()).to.equal(0);
      queue.putNowait('kept');
      expect(queue.getNowait()).to.equal('kept');
    });
  });

  it('puts back an item handed to a getter killed at that very moment', async () => {
    await runInLoop(async () => {
      const queue = new Queue<string>();
      const getter = spawn(getOne, queue);
      await parkedIn(() => queue.getting(), 1);
      queue.putNowait('handed over');
      getter.kill();
      expect(await waitUntil(() => getter.dead)).to.equal(true);
      expect(() => getter.wait()).to.throw(GreenletExit);
      expect(await queue.getAsync(1)).to.equal('handed over');
    });
  });

  it('counts tasks until taskDone() and releases join() in green and async code', async () => {
    await runInLoop(async () => {
      const queue = new Queue<number>();
      for (let i = 0; i < 5; i++) queue.putNowait(i);
      expect(queue.unfinishedTasks).to.equal(5);
      expect(await spawn(joinQueue, queue, 0.01)).to.equal(false);
      const joiner = spawn(joinQueue, queue, null);
      const asyncJoin = createTask(async () => queue.joinAsync());
      expect(await spawn(consumeTasks, queue, 5)).to.deep.equal([0, 1, 2, 3, 4]);
      expect(await joiner).to.equal(true);
      expect(await asyncJoin).to.equal(true);
      expect(queue.join()).to.equal(true);
    });
  });

  it('raises ValueError when taskDone() is called too often', async () => {
    expect(await runInLoop(async () => spawn(taskDoneTooOften))).to.equal(
      'ValueError: task_done() called too many times',
    );
    expect(() => new Queue().taskDone()).to.throw(ValueError);
  });

  it('answers the size queries from green code', async () => {
    const result = await runInLoop(async () => {
      const queue = new Queue<number>(1);
      queue.putNowait(1);
      return spawn(sizes, queue);
    });
    expect(result).to.deep.equal([1, 1, false, true, 0, 0, null, false]);
  });

  it('passes errors and Buffers as items, as their own class', async () => {
    await runInLoop(async () => {
      const queue = new Queue();
      await spawn(putSpecialItems, queue);
      const error = queue.getNowait();
      expect(error).to.be.instanceOf(RangeError);
      expect(Buffer.isBuffer(queue.getNowait())).to.equal(true);
    });
  });
});

describe('green: Queue(0), a channel', () => {
  useGreenWorkers();

  it('blocks put() until a getter takes the item', async () => {
    await runInLoop(async () => {
      const channel = new Queue<string>(0);
      expect([channel.empty(), channel.full()]).to.deep.equal([true, true]);
      const putter = spawn(putOne, channel, 'hi');
      await parkedIn(() => channel.putting(), 1);
      await asyncSleep(0.02);
      expect(putter.dead).to.equal(false);
      expect(channel.qsize()).to.equal(0);
      expect(channel.getNowait()).to.equal('hi');
      expect(await putter).to.equal('put');
      expect(channel.unfinishedTasks).to.equal(1);
    });
  });

  it('hands each item from a blocked putter thread to a blocked getter thread', async () => {
    const received = await runInLoop(async () => {
      const channel = new Queue<number>(0);
      const getter = spawn(consume, channel, 3);
      await parkedIn(() => channel.getting(), 1);
      await spawn(produce, channel, [1, 2, 3]);
      return await getter;
    });
    expect(received).to.deep.equal([1, 2, 3]);
  });

  it('times out put() without a getter, and refuses the nowait calls (eventlet test_channel_sender_timing_out)', async () => {
    const [result, errors] = await runInLoop(async () =>
      Promise.all([spawn(timedPut, new Queue(0), 'hi', 0.01), spawn(nowaitErrors)]),
    );
    expect(result[0]).to.equal('Full');
    expect(errors).to.deep.equal(['Empty:true', 'Full:true']);
  });

  it('succeeds putNowait() when a getter waits (eventlet test_put_nowait_unlock)', async () => {
    await runInLoop(async () => {
      const channel = new Queue<number>(0);
      const getter = spawn(getOne, channel);
      await parkedIn(() => channel.getting(), 1);
      channel.putNowait(10);
      expect(await getter).to.equal(10);
    });
  });

  it('lets a blocked putter in when resized up (eventlet test_resize_up)', async () => {
    await runInLoop(async () => {
      const channel = new Queue<string>(0);
      const putter = spawn(putOne, channel, 'hi');
      await parkedIn(() => channel.putting(), 1);
      channel.resize(1);
      expect(await putter).to.equal('put');
      expect(channel.qsize()).to.equal(1);
      channel.resize(null);
      expect(channel.maxsize).to.equal(null);
    });
  });
});

describe('green: queues from async code and across threads', () => {
  useGreenWorkers();

  it('waits with getAsync() for a green producer, and with putAsync() for a green consumer', async () => {
    const received = await runInLoop(async () => {
      const queue = new Queue<number>(1);
      const producer = spawn(produce, queue, [1, 2]);
      const got = [await queue.getAsync(), await queue.getAsync()];
      await producer;
      const consumer = spawn(consume, queue, 3);
      for (const item of [3, 4, 5]) await queue.putAsync(item);
      return [...got, ...((await consumer) as number[])];
    });
    expect(received).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('raises Empty from getAsync(timeout) and Full from putAsync(item, timeout)', async () => {
    await runInLoop(async () => {
      const queue = new Queue<number>(1);
      const started = performance.now();
      expect(await queue.getAsync(0.02).then(() => null, (err: unknown) => err)).to.be.instanceOf(Empty);
      expect(performance.now() - started).to.be.at.least(19);
      queue.putNowait(1);
      expect(await queue.putAsync(2, 0.01).then(() => null, (err: unknown) => err)).to.be.instanceOf(Full);
      expect(queue.qsize()).to.equal(1);
    });
  });

  it('takes nothing when the task waiting in getAsync() is cancelled', async () => {
    await runInLoop(async () => {
      const queue = new Queue<string>();
      const task = createTask(async () => queue.getAsync());
      await asyncSleep(0);
      expect(queue.getting()).to.equal(1);
      task.cancel();
      expect(await task.then(() => 'got', (err: unknown) => err instanceof CancelledError)).to.equal(true);
      expect(queue.getting()).to.equal(0);
      queue.putNowait('kept');
      expect(queue.qsize()).to.equal(1);
    });
  });

  it('gives back an item handed to a task cancelled before it ran', async () => {
    await runInLoop(async () => {
      const queue = new Queue<string>();
      const task = createTask(async () => queue.getAsync());
      await asyncSleep(0);
      queue.putNowait('handed over');
      task.cancel();
      expect(await task.then(() => 'got', (err: unknown) => err instanceof CancelledError)).to.equal(true);
      expect(queue.getNowait()).to.equal('handed over');
    });
  });

  it('works in generator coroutines', async () => {
    const result = await runInLoop(function* () {
      const queue = new Queue<string>();
      spawn(produce, queue, ['from green']);
      return (yield queue.getAsync()) as string;
    });
    expect(result).to.equal('from green');
  });

  it('refuses to block the loop thread, naming the async twin', async () => {
    await runInLoop(async () => {
      const queue = new Queue<number>(0);
      expect(() => queue.get()).to.throw(BlockingOnHubError, /getAsync/);
      expect(() => queue.put(1)).to.throw(BlockingOnHubError, /putAsync/);
      expect(() => queue.get(false)).to.throw(Empty);
      expect(() => queue.put(1, false)).to.throw(Full);
      expect(() => queue.get(true, -1)).to.throw(ValueError);
    });
    expect(() => new Queue(1.5)).to.throw(TypeError);
    expect(new Queue(-3).maxsize).to.equal(null);
  });

  it('is made in a green thread and reaches async code as the same queue', async () => {
    await runInLoop(async () => {
      const queue = await spawn(makeQueue, 3);
      expect(queue).to.be.instanceOf(Queue);
      expect(queue.maxsize).to.equal(3);
      expect(queue.getNowait()).to.equal('made in green');
    });
  });

  it('is made in a green thread and passed to the thread it spawns', async () => {
    expect(await runInLoop(async () => spawn(pipeline, 20))).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
  });

  it('refuses the async twins in green code, naming the blocking call', async () => {
    const message = await runInLoop(async () => spawn(asyncTwinInGreen, new Queue()));
    expect(message).to.equal(
      "RuntimeError: Queue.getAsync() is for async code on the event loop's thread; green code uses get()",
    );
    expect('join' in LightQueue.prototype).to.equal(false);
  });
});
