/**
 * Error classes of the asyncio-style API.
 *
 * Every class sets `name` explicitly, so `err.name` survives minification and
 * structured cloning between threads. Where asyncio raises a built-in Python
 * exception (RuntimeError, ValueError, KeyboardInterrupt), greenloop has a class
 * of that name, so callers can tell the cases apart with `instanceof`.
 */

/** Base class of every greenloop error, so one `instanceof` catches them all. */
export class GreenloopError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GreenloopError';
  }
}

/** The operation was cancelled (a cancelled Future, Task or wait). */
export class CancelledError extends GreenloopError {
  constructor(message?: string) {
    super(message ?? '');
    this.name = 'CancelledError';
  }
}

/** A Future or Task was in the wrong state for the operation (e.g. result() before done). */
export class InvalidStateError extends GreenloopError {
  constructor(message?: string) {
    super(message);
    this.name = 'InvalidStateError';
  }
}

/** The operation exceeded its deadline (waitFor, timeout(), asCompleted). */
export class TimeoutError extends GreenloopError {
  constructor(message?: string) {
    super(message ?? '');
    this.name = 'TimeoutError';
  }
}

/** Misuse of the loop: running it twice, using it after close, no running loop... */
export class RuntimeError extends GreenloopError {
  constructor(message?: string) {
    super(message);
    this.name = 'RuntimeError';
  }
}

/** A bad argument value (over-released BoundedSemaphore, readline over the limit...). */
export class ValueError extends GreenloopError {
  constructor(message?: string) {
    super(message);
    this.name = 'ValueError';
  }
}

/** The Runner was interrupted by SIGINT and its main task ended cancelled. */
export class KeyboardInterrupt extends GreenloopError {
  constructor(message?: string) {
    super(message ?? 'KeyboardInterrupt');
    this.name = 'KeyboardInterrupt';
  }
}

/** A stream ended before `expected` bytes arrived; `partial` holds what did arrive. */
export class IncompleteReadError extends GreenloopError {
  readonly partial: Buffer;
  readonly expected: number | null;

  constructor(partial: Buffer, expected: number | null) {
    const what = expected === null ? 'undefined' : String(expected);
    super(`${partial.length} bytes read on a total of ${what} expected bytes`);
    this.name = 'IncompleteReadError';
    this.partial = partial;
    this.expected = expected;
  }
}

/** The stream's buffer limit was reached while looking for a separator. */
export class LimitOverrunError extends GreenloopError {
  /** How many bytes may be consumed without finding the separator. */
  readonly consumed: number;

  constructor(message: string, consumed: number) {
    super(message);
    this.name = 'LimitOverrunError';
    this.consumed = consumed;
  }
}

/** `getNowait()` on an empty queue. */
export class QueueEmpty extends GreenloopError {
  constructor(message?: string) {
    super(message ?? 'queue is empty');
    this.name = 'QueueEmpty';
  }
}

/** `putNowait()` on a full queue. */
export class QueueFull extends GreenloopError {
  constructor(message?: string) {
    super(message ?? 'queue is full');
    this.name = 'QueueFull';
  }
}

/** `put()`/`get()` on a queue after `shutdown()`. */
export class QueueShutDown extends GreenloopError {
  constructor(message?: string) {
    super(message ?? 'queue is shut down');
    this.name = 'QueueShutDown';
  }
}

/** A Barrier was reset or aborted while tasks waited on it. */
export class BrokenBarrierError extends GreenloopError {
  constructor(message?: string) {
    super(message ?? 'barrier is broken');
    this.name = 'BrokenBarrierError';
  }
}

/**
 * Several errors at once, as Python's ExceptionGroup: raised by TaskGroup when
 * one or more children fail. `exceptions` lists them in the order they happened.
 */
export class ExceptionGroup extends AggregateError {
  constructor(message: string, errors: readonly unknown[]) {
    super(errors, message);
    this.name = 'ExceptionGroup';
  }

  /** asyncio's name for `errors`. */
  get exceptions(): readonly unknown[] {
    return this.errors as unknown[];
  }
}

/**
 * Resolving a name or an address failed (Python's `socket.gaierror`), in
 * `getaddrinfo`/`getnameinfo`. `code` is Node's ('ENOTFOUND', 'EAI_AGAIN',
 * 'EAI_SERVICE', ...); `errno` is the Linux EAI_* number Python reports
 * (EAI_NONAME is -2); `syscall` names the call, `hostname` the host asked for.
 */
export class GaiError extends GreenloopError {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly hostname: string | undefined;

  constructor(
    message: string,
    details: { code: string; errno: number; syscall: string; hostname?: string; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'GaiError';
    this.code = details.code;
    this.errno = details.errno;
    this.syscall = details.syscall;
    this.hostname = details.hostname;
  }
}

/** What a ConnectionError keeps of the Node error it stands for. */
export interface ConnectionErrorDetails {
  code?: string;
  errno?: number;
  syscall?: string;
  cause?: unknown;
}

/**
 * A connection failed or broke (Python's `ConnectionError`, an OSError). The
 * Node error's `code` ('ECONNRESET', 'EPIPE', ...), `errno` and `syscall` are
 * kept, and the Node error itself is the `cause`.
 */
export class ConnectionError extends GreenloopError {
  readonly code: string | undefined;
  readonly errno: number | undefined;
  readonly syscall: string | undefined;

  constructor(message: string, details: ConnectionErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ConnectionError';
    this.code = details.code;
    this.errno = details.errno;
    this.syscall = details.syscall;
  }
}

/** The peer reset the connection (ECONNRESET), or it was lost while waiting on it. */
export class ConnectionResetError extends ConnectionError {
  constructor(message: string, details: ConnectionErrorDetails = {}) {
    super(message, { ...details, code: details.code ?? 'ECONNRESET' });
    this.name = 'ConnectionResetError';
  }
}

/** Nothing listens at the address connected to (ECONNREFUSED). */
export class ConnectionRefusedError extends ConnectionError {
  constructor(message: string, details: ConnectionErrorDetails = {}) {
    super(message, { ...details, code: details.code ?? 'ECONNREFUSED' });
    this.name = 'ConnectionRefusedError';
  }
}

/** The connection was aborted on this side (ECONNABORTED). */
export class ConnectionAbortedError extends ConnectionError {
  constructor(message: string, details: ConnectionErrorDetails = {}) {
    super(message, { ...details, code: details.code ?? 'ECONNABORTED' });
    this.name = 'ConnectionAbortedError';
  }
}

/** Writing to a connection whose peer has closed it (EPIPE). */
export class BrokenPipeError extends ConnectionError {
  constructor(message: string, details: ConnectionErrorDetails = {}) {
    super(message, { ...details, code: details.code ?? 'EPIPE' });
    this.name = 'BrokenPipeError';
  }
}

/**
 * A file or directory does not exist (Python's FileNotFoundError): e.g. the
 * program given to `createSubprocessExec`, or its `cwd`. `code` is 'ENOENT'
 * as on Node's errors; `cause` is Node's original error when there is one.
 */
export class FileNotFoundError extends GreenloopError {
  readonly code = 'ENOENT';
  readonly errno = -2;
  readonly path: string | undefined;
  readonly syscall: string | undefined;

  constructor(message: string, options: { path?: string; syscall?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'FileNotFoundError';
    this.path = options.path;
    this.syscall = options.syscall;
  }
}

/**
 * The process does not exist any more (Python's ProcessLookupError): a signal
 * sent through a subprocess transport that has finished. `code` is 'ESRCH'.
 */
export class ProcessLookupError extends GreenloopError {
  readonly code = 'ESRCH';

  constructor(message?: string) {
    super(message ?? 'No such process');
    this.name = 'ProcessLookupError';
  }
}
