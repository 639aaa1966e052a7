/**
 * The errors of green queues (eventlet's `queue.Empty` and `queue.Full`).
 * They cross threads as their own class.
 */
import { GreenloopError } from '../loop/errors.js';
import { registerErrorClass } from '../bridge/codec.js';

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
