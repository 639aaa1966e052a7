/**
 * greenloop/green: the eventlet-style API.
 *
 * Green threads run module-level functions in pooled worker threads; their
 * blocking calls park them while the event loop's thread (the hub) does the
 * work. Loading this module also makes the thread pool the loops' default
 * executor (`loop.runInExecutor(null, fn, ...args)`).
 */
import './warm-ahead.js';

export { GreenletExit } from './errors.js';
export { GreenThread, spawn, spawnN, spawnAfter, getcurrent, kill } from './greenthread.js';
export { sleep } from './sleep.js';
export { execute } from './tpool.js';
export { isMainGreenThread, DeadlockError } from './runtime/index.js';
export { GreenPool, GreenPile, type Spawned, type ArgumentIterables } from './greenpool.js';
export { GreenMap } from './greenmap.js';
export { Queue, LightQueue, PriorityQueue, LifoQueue, Empty, Full } from './queue.js';
export { Event } from './event.js';
export { Semaphore, BoundedSemaphore, CappedSemaphore } from './semaphore.js';
export { SharedMap, type UpdateFunction } from './shared-map.js';
export { SharedSet } from './shared-set.js';
export { SharedCounter } from './shared-counter.js';
export { NotShareableError, type SharedKey } from './shared-value.js';
export { Timeout, withTimeout, type TimeoutValue } from './timeout.js';
export * as socket from './socket.js';
export { SocketTimeout, HandedOverError } from './socket-errors.js';
export { listen, connect, serve, StopServe, type ListenOptions } from './convenience.js';
export * as subprocess from './subprocess.js';
export * as ssl from './ssl.js';
export { fetch, Response, FetchError, type FetchInit, type FetchBody, type FetchHeaders } from './fetch.js';
