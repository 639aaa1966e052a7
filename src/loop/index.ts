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
export { run, Runner, type RunnerOptions } from './runners.js';
export { Lock, Event, Condition, Acquirable, Hold } from './locks.js';
export type { Operation, Outcome } from './operations.js';
export { Semaphore, BoundedSemaphore } from './semaphores.js';
export { Barrier } from './barrier.js';
export { gather, type GatherOptions } from './gather.js';
export {
  wait,
  waitFor,
  asCompleted,
  AsCompleted,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  ALL_COMPLETED,
  type ReturnWhen,
  type WaitOptions,
  type AsCompletedOptions,
  type AnyFuture,
  type CompletedFuture,
} from './wait.js';
export { shield } from './shield.js';
export { timeout, timeoutAt, Timeout, type ScopeBody } from './timeouts.js';
export { TaskGroup } from './taskgroups.js';
export {
  Queue,
  PriorityQueue,
  LifoQueue,
  compareItems,
  type Compare,
  type ItemStore,
  type PriorityQueueOptions,
} from './queues.js';
export * from './socket-constants.js';
export { DatagramSocketTransport, type Address, type DatagramEndpointOptions } from './datagram.js';
export type { AddrInfo, SockAddr, PortSpec, GetaddrinfoOptions } from './dns.js';
export { signalName, type SignalSpec } from './signals.js';
export { SocketTransport } from './socket-transport.js';
export { Server, ServerSocket } from './server.js';
export {
  createConnection,
  createServer,
  createUnixConnection,
  createUnixServer,
  type ClientSSL,
  type ServerSSL,
  type ConnectionOptions,
  type UnixConnectionOptions,
  type ServerOptions,
  type UnixServerOptions,
  type ServerHost,
} from './tcp.js';
export { StreamReader, DEFAULT_LIMIT, type Separator, type StreamReaderOptions } from './stream-reader.js';
export { StreamWriter, type StreamWriterProtocol } from './stream-writer.js';
export {
  StreamReaderProtocol,
  FlowControlProtocol,
  openConnection,
  openUnixConnection,
  startServer,
  startUnixServer,
  type ClientConnectedCallback,
  type StreamOptions,
} from './streams.js';
export { BaseProtocol, Protocol, DatagramProtocol, SubprocessProtocol } from './protocols.js';
export type {
  BaseTransport,
  ReadTransport,
  WriteTransport,
  Transport,
  DatagramTransport,
  SubprocessTransport,
  ExtraInfoName,
} from './transports.js';
export {
  Process,
  createSubprocessExec,
  createSubprocessShell,
  PIPE,
  STDOUT,
  DEVNULL,
  type ProcessOptions,
  type StdioSpec,
  type SubprocessOptions,
} from './subprocess.js';
export type { BaseSubprocessTransport } from './base-subprocess.js';

// The default executor is the green runtime's thread pool, loaded on first
// use only: a program that never uses it starts no worker. The entry wires
// it so that no module of the loop imports a layer above it.
import { setThreadPoolLoader } from './executor.js';
setThreadPoolLoader(() =>
  import('../green/runtime/thread-pool-executor.js').then(({ ThreadPoolExecutor }) => new ThreadPoolExecutor()),
);
