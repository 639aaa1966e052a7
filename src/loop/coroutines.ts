/**
 * Generator-based (Trollius-style) coroutines and how to tell coroutines apart.
 *
 * A generator function is a coroutine as it is: a Task runs it, and another
 * generator may `yield` it. To `await` one from an async function, wrap the
 * function with `coroutine()`: its generator objects become thenable (each
 * await runs the generator as a Task, which the awaiting task cancels along
 * with itself).
 */
import { isThenable } from './futures.js';
import { ensureFuture, isGenerator, type Task } from './tasks.js';

const MARK = Symbol.for('greenloop.coroutine');

/** A generator object that can also be awaited from an async function. */
export type AwaitableGenerator<T> = Generator<unknown, T, unknown> & PromiseLike<T>;

/**
 * Marks a generator function as a coroutine and makes its generator objects
 * awaitable, so `await gen()` works inside async functions.
 */
export function coroutine<T, A extends unknown[]>(
  fn: (...args: A) => Generator<unknown, T, unknown>,
): (...args: A) => AwaitableGenerator<T> {
  if (typeof fn !== 'function') throw new TypeError(`coroutine() expects a generator function, got ${typeof fn}`);
  const wrapped = function (this: unknown, ...args: A): AwaitableGenerator<T> {
    const generator = fn.apply(this, args) as AwaitableGenerator<T>;
    if (!isGenerator(generator)) {
      throw new TypeError(`coroutine(): ${fn.name || 'the function'} did not return a generator`);
    }
    let task: Task<T> | null = null;
    const then: AwaitableGenerator<T>['then'] = (onfulfilled, onrejected) => {
      // A Task checks for generators before thenables, so it steps this one.
      task ??= ensureFuture(generator) as Task<T>;
      return task.then(onfulfilled, onrejected);
    };
    Object.defineProperty(generator, 'then', { value: then, configurable: true, writable: true });
    return generator;
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  Object.defineProperty(wrapped, MARK, { value: true });
  return wrapped;
}

/** True for a started coroutine: a generator object or a promise/thenable. */
export function isCoroutine(value: unknown): boolean {
  return isGenerator(value) || isThenable(value);
}

/** True for async functions, generator functions and `coroutine()` wrappers. */
export function isCoroutineFunction(value: unknown): boolean {
  if (typeof value !== 'function') return false;
  if ((value as unknown as Record<symbol, unknown>)[MARK] === true) return true;
  const tag = Object.prototype.toString.call(value);
  return tag === '[object AsyncFunction]' || tag === '[object GeneratorFunction]' || tag === '[object AsyncGeneratorFunction]';
}
