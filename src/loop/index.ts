/**
 * greenloop/loop: the asyncio-style API.
 */
export * from './errors.js';
export { EventLoop, type ExceptionContext, type ExceptionHandler, type CreateTaskOptions } from './event-loop.js';
export { Handle, TimerHandle } from './handles.js';
export { Future, isFuture, futureFromPromise, type DoneCallback, type FutureOptions } from './futures.js';
export {
  Task,
  createTask,
  currentTask,
  allTasks,
  ensureFuture,
  type Awaitable,
  type Coroutine,
  type CoroutineFunction,
  type CoroutineLike,
} from './tasks.js';
export { coroutine, isCoroutine, isCoroutineFunction, type AwaitableGenerator } from './coroutines.js';
export { sleep } from './sleep.js';
export { getEventLoop, getRunningLoop, newEventLoop, setEventLoop } from './running.js';
export { logger, setLogger, type Logger } from './log.js';
export { setDefaultExecutorFactory, type Executor } from './executor.js';
