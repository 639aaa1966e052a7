/**
 * Queue, LifoQueue and PriorityQueue, in the spirit of CPython's
 * test_queues.py: order, blocking and FIFO fairness, cancellation races that
 * must lose no item, task accounting, and Python 3.13's shutdown().
 */
import { expect } from 'chai';
import {
  CancelledError,
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  TimeoutError,
  ValueError,
  compareItems,
  createTask,
  getRunningLoop,
  sleep,
  waitFor,
  type Task,
} from '../../src/loop/index.js';
import { runInLoop, rejection } from '../helpers.js';

/** Lets every ready task run until all of them wait (a short real sleep). */
function settle(): Promise<void> {
  return Promise.resolve(sleep(0.01));
}

function getter<T>(queue: Queue<T>, kind: 'async function' | 'generator' = 'async function'): Task<T> {
  if (kind === 'async function') return createTask(async () => queue.get());
  return createTask(function* () {
    return (yield queue.get()) as T;
  });
}

function putter<T>(queue: Queue<T>, item: T, kind: 'async function' | 'generator' = 'async function'): Task<void> {
  if (kind === 'async function') return createTask(async () => queue.put(item));
  return createTask(function* () {
    yield queue.put(item);
  });
}

function drain<T>(queue: Queue<T>): T[] {
  const items: T[] = [];
  while (!queue.empty()) items.push(queue.getNowait());
  return items;
}

describe('Queue', () => {
  describe('without waiting', () => {
    it('checks maxsize and reports its state', () => {
      expect(() => new Queue(1.5)).to.throw(TypeError, /maxsize must be an integer/);
      const queue = new Queue<number>(2);
      expect(queue.maxsize).to.equal(2);
      expect([queue.qsize(), queue.empty(), queue.full()]).to.deep.equal([0, true, false]);
      queue.putNowait(1);
      queue.putNowait(2);
      expect([queue.qsize(), queue.empty(), queue.full()]).to.deep.equal([2, false, true]);
      expect(String(queue)).to.equal('<Queue maxsize=2 qsize=2 tasks=2>');
    });

    it('is FIFO; getNowait/putNowait raise QueueEmpty/QueueFull', () => {
      const queue = new Queue<string>(3);
      expect(() => queue.getNowait()).to.throw(QueueEmpty, 'queue is empty');
      for (const item of ['a', 'b', 'c']) queue.putNowait(item);
      expect(() => queue.putNowait('d')).to.throw(QueueFull, 'queue is full');
      expect(drain(queue)).to.deep.equal(['a', 'b', 'c']);
    });

    it('an unbounded queue (maxsize <= 0) is never full', () => {
      for (const maxsize of [0, -1]) {
        const queue = new Queue<number>(maxsize);
        for (let i = 0; i < 1000; i++) queue.putNowait(i);
        expect(queue.full()).to.equal(false);
        expect(queue.qsize()).to.equal(1000);
      }
    });

    it('LifoQueue returns the newest item first', () => {
      const queue = new LifoQueue<number>();
      for (const item of [1, 2, 3]) queue.putNowait(item);
      queue.getNowait();
      queue.putNowait(4);
      expect(drain(queue)).to.deep.equal([4, 2, 1]);
    });
  });

  describe('PriorityQueue', () => {
    it('returns the lowest item first: numbers, bigints, strings', () => {
      const numbers = new PriorityQueue<number | bigint>();
      for (const item of [5, 1n, 4, -2, 3.5, 10n]) numbers.putNowait(item);
      expect(drain(numbers)).to.deep.equal([-2, 1n, 3.5, 4, 5, 10n]);
      const strings = new PriorityQueue<string>();
      for (const item of ['pear', 'apple', 'Zebra', 'apples']) strings.putNowait(item);
      expect(drain(strings)).to.deep.equal(['Zebra', 'apple', 'apples', 'pear']);
    });

    it('orders arrays element-wise like Python tuples; payloads never need comparing', () => {
      const queue = new PriorityQueue<unknown[]>();
      const job = (name: string): { name: string } => ({ name });
      const items = [[2, job('b')], [1, 'z'], [1, 'a'], [1], [2, job('c')], [0, 9, 9]];
      for (const item of items) queue.putNowait(item);
      expect(drain(queue)).to.deep.equal([[0, 9, 9], [1], [1, 'a'], [1, 'z'], [2, job('b')], [2, job('c')]]);
    });

    it('keeps equal items in insertion order', () => {
      const queue = new PriorityQueue<[number, { id: number }]>();
      const items: [number, { id: number }][] = [];
      for (let i = 0; i < 20; i++) items.push([i % 2, { id: i }]);
      for (const item of items) queue.putNowait(item);
      const out = drain(queue);
      expect(out).to.deep.equal([...items.filter((x) => x[0] === 0), ...items.filter((x) => x[0] === 1)]);
      expect(out[0]).to.equal(items[0]); // the very objects, unchanged
    });

    it('orders values of different kinds by the documented rule, never throwing', () => {
      const values = [{ a: 1 }, [1], 'x', NaN, 2, null, 1];
      const queue = new PriorityQueue<unknown>();
      for (const value of values) queue.putNowait(value);
      expect(drain(queue)).to.deep.equal([1, 2, NaN, 'x', [1], { a: 1 }, null]);
      expect(compareItems([1, 2], [1, 2])).to.equal(0);
      expect(compareItems([1, 2], [1, 3])).to.be.lessThan(0);
      expect(compareItems('b', 'a')).to.be.greaterThan(0);
    });

    it('uses a custom compare', () => {
      const queue = new PriorityQueue<{ due: number }>(0, { compare: (a, b) => b.due - a.due });
      for (const due of [3, 9, 1]) queue.putNowait({ due });
      expect(drain(queue).map((x) => x.due)).to.deep.equal([9, 3, 1]);
      expect(() => new PriorityQueue(0, { compare: 'desc' as unknown as () => number })).to.throw(TypeError);
    });

    it('blocks like a Queue', async () => {
      await runInLoop(async () => {
        const queue = new PriorityQueue<number>(2);
        const waiting = getter(queue);
        await settle();
        queue.putNowait(7);
        expect(await waiting).to.equal(7);
      });
    });
  });

  describe('blocking get() and put()', () => {
    for (const kind of ['async function', 'generator'] as const) {
      it(`get() waits for an item; waiting getters (${kind}) are served in FIFO order`, async () => {
        await runInLoop(async () => {
          const queue = new Queue<number>();
          const getters = [getter(queue, kind), getter(queue, kind), getter(queue, kind)];
          await settle();
          expect(String(queue)).to.equal('<Queue maxsize=0 qsize=0 getters[3]>');
          for (const item of [1, 2, 3]) queue.putNowait(item);
          expect(await Promise.all(getters)).to.deep.equal([1, 2, 3]);
          expect(queue.empty()).to.equal(true);
        });
      });
    }

    it('getters of both kinds are woken in the order they started waiting', async () => {
      await runInLoop(async () => {
        const queue = new Queue<number>();
        const getters: Task<number>[] = [];
        // An operation arrives when it is awaited or yielded: settle between them.
        for (const kind of ['generator', 'async function', 'generator'] as const) {
          getters.push(getter(queue, kind));
          await settle();
        }
        for (const item of [1, 2, 3]) {
          queue.putNowait(item);
          await settle();
        }
        expect(await Promise.all(getters)).to.deep.equal([1, 2, 3]);
      });
    });

    it('put() waits for a free slot; waiting putters are served in FIFO order', async () => {
      await runInLoop(async () => {
        const queue = new Queue<string>(1);
        await queue.put('first');
        const putters: Task<void>[] = [];
        // An operation arrives when it is awaited or yielded: settle between them.
        for (const [item, kind] of [['a', 'async function'], ['b', 'generator'], ['c', 'async function']] as const) {
          putters.push(putter(queue, item, kind));
          await settle();
        }
        expect(queue.qsize()).to.equal(1);
        const got: string[] = [];
        for (let i = 0; i < 4; i++) {
          got.push(await queue.get());
          await settle();
          expect(queue.qsize()).to.be.at.most(1);
        }
        await Promise.all(putters);
        expect(got).to.deep.equal(['first', 'a', 'b', 'c']);
      });
    });

    it("a newcomer's get() does not take the item of a woken getter", async () => {
      await runInLoop(function* () {
        const queue = new Queue<string>();
        const first = getter(queue, 'generator');
        yield settle();
        queue.putNowait('x'); // `first` is woken for it, and runs on the next iteration
        getRunningLoop().callSoon(() => queue.putNowait('y'));
        const mine = yield* queue.get(); // this task arrives after `first`
        expect(mine).to.equal('y');
        expect(first.result()).to.equal('x');
      });
    });

    it("a newcomer's put() does not take the slot of a woken putter", async () => {
      await runInLoop(function* () {
        const queue = new Queue<string>(1);
        queue.putNowait('a');
        const taken: string[] = [];
        putter(queue, 'woken', 'generator');
        yield settle();
        taken.push(queue.getNowait()); // frees the slot for the waiting putter
        getRunningLoop().callLater(0.01, () => taken.push(queue.getNowait()));
        yield* queue.put('newcomer'); // waits behind it
        expect(taken).to.deep.equal(['a', 'woken']);
        expect(drain(queue)).to.deep.equal(['newcomer']);
      });
    });

    it('a woken getter whose item getNowait() took keeps its place in line', async () => {
      await runInLoop(async () => {
        const queue = new Queue<string>();
        const first = getter(queue);
        const second = getter(queue);
        await settle();
        queue.putNowait('x'); // wakes `first` only
        expect(queue.getNowait()).to.equal('x'); // never waits, so it may take the item
        await settle();
        expect(first.done()).to.equal(false);
        queue.putNowait('y');
        await settle();
        expect(first.done()).to.equal(true);
        expect(second.done()).to.equal(false);
        queue.putNowait('z');
        expect([await first, await second]).to.deep.equal(['y', 'z']);
      });
    });

    it('a cancelled waiting getter takes nothing', async () => {
      await runInLoop(async () => {
        const queue = new Queue<number>();
        const cancelled = getter(queue);
        const next = getter(queue);
        await settle();
        cancelled.cancel();
        expect(await rejection(cancelled)).to.be.instanceOf(CancelledError);
        queue.putNowait(1);
        expect(await next).to.equal(1);
        expect(String(queue)).to.equal('<Queue maxsize=0 qsize=0 tasks=1>');
      });
    });

    for (const kind of ['async function', 'generator'] as const) {
      it(`a getter (${kind}) cancelled after its wake-up leaves the item to the next getter`, async () => {
        await runInLoop(async () => {
          const queue = new Queue<string>();
          const first = getter(queue, kind);
          const second = getter(queue, kind);
          await settle();
          queue.putNowait('item'); // wakes `first`...
          first.cancel(); // ...which is cancelled before it runs
          expect(await rejection(first)).to.be.instanceOf(CancelledError);
          expect(await second).to.equal('item');
          expect(queue.empty()).to.equal(true);
        });
      });

      it(`a getter (${kind}) cancelled after its wake-up, with no other getter, leaves the item queued`, async () => {
        await runInLoop(async () => {
          const queue = new Queue<string>();
          const only = getter(queue, kind);
          await settle();
          queue.putNowait('kept');
          only.cancel();
          expect(await rejection(only)).to.be.instanceOf(CancelledError);
          expect(queue.qsize()).to.equal(1);
          expect(await queue.get()).to.equal('kept');
        });
      });

      it(`a putter (${kind}) cancelled while waiting leaves no item behind`, async () => {
        await runInLoop(async () => {
          const queue = new Queue<string>(1);
          queue.putNowait('a');
          const ghost = putter(queue, 'ghost', kind);
          const real = putter(queue, 'b', kind);
          await settle();
          ghost.cancel();
          expect(await rejection(ghost)).to.be.instanceOf(CancelledError);
          expect(await queue.get()).to.equal('a');
          await real;
          expect(drain(queue)).to.deep.equal(['b']);
        });
      });

      it(`a putter (${kind}) cancelled after its wake-up passes the free slot on`, async () => {
        await runInLoop(async () => {
          const queue = new Queue<string>(1);
          queue.putNowait('a');
          const first = putter(queue, 'first', kind);
          const second = putter(queue, 'second', kind);
          await settle();
          expect(queue.getNowait()).to.equal('a'); // wakes `first`...
          first.cancel(); // ...which is cancelled before it runs
          expect(await rejection(first)).to.be.instanceOf(CancelledError);
          await second;
          expect(drain(queue)).to.deep.equal(['second']);
        });
      });
    }

    it('get() and put() time out through cancellation and lose nothing', async () => {
      await runInLoop(async () => {
        const queue = new Queue<number>(1);
        const task = getter(queue);
        task.getLoop().callLater(0.01, () => task.cancel());
        expect(await rejection(task)).to.be.instanceOf(CancelledError);
        expect(await rejection(waitFor(queue.get(), 0.01))).to.be.instanceOf(TimeoutError);
        queue.putNowait(1);
        expect(await rejection(waitFor(queue.put(2), 0.01))).to.be.instanceOf(TimeoutError);
        expect(String(queue)).to.equal('<Queue maxsize=1 qsize=1 tasks=1>');
        expect(queue.getNowait()).to.equal(1);
        expect(queue.empty()).to.equal(true);
      });
    });

    it('many producers and consumers on a bounded queue deliver every item exactly once', async () => {
      await runInLoop(async () => {
        const queue = new Queue<number>(3);
        const received: number[] = [];
        const producers = [0, 1, 2].map((p) =>
          createTask(async () => {
            for (let i = 0; i < 50; i++) await queue.put(p * 100 + i);
          }),
        );
        const consumers = [0, 1].map((c) =>
          createTask(
            c === 0
              ? async () => {
                  for (;;) {
                    received.push(await queue.get());
                    queue.taskDone();
                  }
                }
              : function* () {
                  for (;;) {
                    received.push((yield queue.get()) as number);
                    queue.taskDone();
                  }
                },
          ),
        );
        await Promise.all(producers);
        await queue.join();
        for (const consumer of consumers) consumer.cancel();
        expect([...received].sort((a, b) => a - b)).to.deep.equal(
          [0, 1, 2].flatMap((p) => Array.from({ length: 50 }, (_, i) => p * 100 + i)),
        );
        // Each producer's items arrive in the order it put them.
        for (const p of [0, 1, 2]) {
          const mine = received.filter((x) => Math.floor(x / 100) === p);
          expect(mine).to.deep.equal([...mine].sort((a, b) => a - b));
        }
      });
    });
  });

  describe('taskDone() and join()', () => {
    it('join() waits until every item put is marked done', async () => {
      await runInLoop(async () => {
        const queue = new Queue<number>();
        await queue.join(); // nothing pending: returns at once
        queue.putNowait(1);
        queue.putNowait(2);
        const joiner = createTask(async () => queue.join());
        queue.getNowait();
        queue.taskDone();
        await settle();
        expect(joiner.done()).to.equal(false);
        queue.getNowait();
        queue.taskDone();
        await joiner;
      });
    });

    it('taskDone() more times than items put raises ValueError', () => {
      const queue = new Queue<number>();
      expect(() => queue.taskDone()).to.throw(ValueError, 'task_done() called too many times');
      queue.putNowait(1);
      queue.taskDone();
      expect(() => queue.taskDone()).to.throw(ValueError, 'task_done() called too many times');
    });

    it('a generator coroutine can join', async () => {
      await runInLoop(async () => {
        const queue = new Queue<number>();
        queue.putNowait(1);
        const joiner = createTask(function* () {
          yield queue.join();
          return 'joined';
        });
        await settle();
        expect(joiner.done()).to.equal(false);
        queue.getNowait();
        queue.taskDone();
        expect(await joiner).to.equal('joined');
      });
    });
  });

  describe('shutdown()', () => {
    it('puts raise QueueShutDown; gets drain the queue, then raise', async () => {
      await runInLoop(async () => {
        const queue = new Queue<number>();
        queue.putNowait(1);
        queue.putNowait(2);
        queue.shutdown();
        expect(() => queue.putNowait(3)).to.throw(QueueShutDown);
        expect(await rejection(queue.put(3))).to.be.instanceOf(QueueShutDown);
        expect(await queue.get()).to.equal(1);
        expect(queue.getNowait()).to.equal(2);
        expect(() => queue.getNowait()).to.throw(QueueShutDown);
        expect(await rejection(queue.get())).to.be.instanceOf(QueueShutDown);
        expect(String(queue)).to.equal('<Queue maxsize=0 qsize=0 tasks=2 shutdown>');
      });
    });

    it('wakes blocked putters to raise, and blocked getters once the queue is empty', async () => {
      await runInLoop(async () => {
        const full = new Queue<number>(1);
        full.putNowait(1);
        const blockedPutters = [putter(full, 2), putter(full, 3, 'generator')];
        const empty = new Queue<number>();
        const blockedGetters = [getter(empty), getter(empty, 'generator')];
        await settle();
        full.shutdown();
        empty.shutdown();
        for (const task of [...blockedPutters, ...blockedGetters]) {
          expect(await rejection(task)).to.be.instanceOf(QueueShutDown);
        }
        expect(drain(full)).to.deep.equal([1]);
      });
    });

    it('getters blocked behind remaining items raise once those items are gone', async () => {
      await runInLoop(function* () {
        const queue = new Queue<string>();
        const first = getter(queue, 'generator');
        yield settle();
        queue.putNowait('last'); // claimed by `first`, which runs on the next iteration
        queue.shutdown();
        let error: unknown = null;
        try {
          yield* queue.get(); // waits behind `first`, then finds the queue empty
        } catch (err) {
          error = err;
        }
        expect(error).to.be.instanceOf(QueueShutDown);
        expect(first.result()).to.equal('last');
      });
    });

    it('shutdown(true) drains at once, counts drained items as done and releases join()', async () => {
      await runInLoop(async () => {
        const queue = new Queue<number>(5);
        for (const item of [1, 2, 3]) queue.putNowait(item);
        const joiner = createTask(async () => queue.join());
        await settle();
        queue.shutdown(true);
        expect(queue.qsize()).to.equal(0);
        expect(() => queue.getNowait()).to.throw(QueueShutDown);
        expect(await rejection(queue.get())).to.be.instanceOf(QueueShutDown);
        await joiner;
        expect(() => queue.taskDone()).to.throw(ValueError);
      });
    });

    it('after shutdown(true), join() still waits for items taken but not done', async () => {
      await runInLoop(async () => {
        const queue = new Queue<number>();
        queue.putNowait(1);
        queue.putNowait(2);
        queue.getNowait(); // being worked on
        const joiner = createTask(async () => queue.join());
        queue.shutdown(true);
        await settle();
        expect(joiner.done()).to.equal(false);
        queue.taskDone();
        await joiner;
      });
    });
  });
});
