/**
 * How many green threads may be loading their function's module at once.
 *
 * A green thread's first job on a worker imports the function's module
 * there, with everything it imports. Node's ES module loader reads each
 * file through its thread pool and holds a file descriptor open while the
 * read waits in the pool's queue. A thousand green threads spawned at once
 * on fresh workers (a server taking a burst of connections) then hold tens
 * of thousands of descriptors, past the process's limit: workers fail with
 * EMFILE, and the imports gain nothing from running all at once on a
 * machine with a few cores.
 *
 * So at most `MAX_IMPORTING` green threads import at a time (four per core,
 * at least eight). A thread whose worker has not loaded its module yet
 * waits here, in spawn order, before its job is posted: it counts as
 * starting (a kill ends it without its body running). Its import is over
 * when the worker sends its first message for it (its first call or its
 * outcome). A worker that has loaded a module runs later jobs from it at
 * once.
 */
import { availableParallelism } from 'node:os';

/** Green threads that may be importing at once. */
export const MAX_IMPORTING = Math.max(8, 4 * availableParallelism());

/** Lets at most MAX_IMPORTING green threads import their modules at once. */
class ImportGate {
  private importing = 0;
  private readonly waiting: (() => void)[] = [];

  /** Calls `admit` once the thread may import: now, or when another thread's import is over. */
  enter(admit: () => void): void {
    if (this.importing < MAX_IMPORTING) {
      this.importing++;
      admit();
    } else {
      this.waiting.push(admit);
    }
  }

  /** A thread admitted by `enter` finished importing (or died): the next waiting one goes. */
  leave(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.importing--;
  }

  /** A waiting thread gave up (killed before it started): it will not be admitted. */
  withdraw(admit: () => void): void {
    const index = this.waiting.indexOf(admit);
    if (index >= 0) this.waiting.splice(index, 1);
  }

  /** Threads importing now, and waiting to. */
  stats(): { importing: number; waiting: number } {
    return { importing: this.importing, waiting: this.waiting.length };
  }
}

/** @internal The process's gate (one pool of workers per thread). */
export const importGate = new ImportGate();
