// The entry of every greenloop worker thread (see worker-boot.ts).
// Plain JavaScript on purpose: it must load before any TypeScript support.
import { writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';

// A worker's stdout and stderr normally travel as messages to its parent
// thread, which writes them when its own event loop runs. A green program's
// parent is often parked in Atomics.wait (the hosted main thread) or busy, so
// that output would come late, out of order with the parent's, or be lost at
// exit. Green threads write to the process's descriptors directly instead:
// each write is complete before the call returns, in order per thread.
writeDirectly(process.stdout, 1);
writeDirectly(process.stderr, 2);

// When the application's modules are TypeScript run with tsx, tsx's loader
// is registered in this thread first (after greenloop's own compiled
// modules, when it is compiled: they need no loader); then the worker
// runtime is imported.
if (workerData.preloadUrl !== null) await import(workerData.preloadUrl);
if (workerData.tsxApiUrl !== null) {
  const { register } = await import(workerData.tsxApiUrl);
  register();
}
await import(workerData.runtimeUrl);

function writeDirectly(stream, fd) {
  stream.write = (chunk, encoding, callback) => {
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined];
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding ?? 'utf8') : chunk;
    let error = null;
    try {
      writeAll(fd, bytes);
    } catch (failure) {
      error = failure;
    }
    if (typeof callback === 'function') queueMicrotask(() => callback(error));
    return true;
  };
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes every byte, waiting out a full non-blocking pipe (EAGAIN). */
function writeAll(fd, bytes) {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
