/**
 * Error classes of the eventlet-style API.
 */
import { GreenloopError } from '../loop/errors.js';

/**
 * Raised inside a green thread by `kill()` (greenlet's GreenletExit): at the
 * blocking call the thread is parked in, or at its next one. The thread may
 * catch it and go on. `wait()` on a thread that ended with it raises it too,
 * and an async task awaiting such a thread gets CancelledError instead.
 */
export class GreenletExit extends GreenloopError {
  constructor(message?: string) {
    super(message ?? 'green thread killed');
    this.name = 'GreenletExit';
  }
}
