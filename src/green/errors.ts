/**
 * Error classes of the eventlet-style API that belong to no one module:
 * the kill signal (defined by the runtime, re-exported here) and the
 * queues' `Empty` and `Full` (eventlet's `queue.Empty`, `queue.Full`).
 * Each crosses threads as its own class.
 */
import { GreenloopError } from '../loop/errors.js';
import { registerErrorClass } from './runtime/index.js';

export { GreenletExit } from './runtime/index.js';

/** `get()` found no item: without blocking, or within its timeout. */
export class Empty extends GreenloopError {
  constructor(message?: string) {
    super(message ?? 'the queue is empty');
    this.name = 'Empty';
  }
}

/** `put()` found no free slot (or, on a channel, no getter): without blocking, or within its timeout. */
export class Full extends GreenloopError {
  constructor(message?: string) {
    super(message ?? 'the queue is full');
    this.name = 'Full';
  }
}

registerErrorClass(Empty);
registerErrorClass(Full);
