/**
 * Node's own `*Sync` calls in green threads: each green thread is a worker
 * thread, so a `readFileSync` that blocks in the kernel stops only the
 * thread that made it (eventlet must monkey-patch to get there). The call
 * here blocks for real: reading a FIFO waits until a writer closes it, and
 * the only writer is another green thread that must keep running first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { spawn } from '../../src/green/index.js';
import { runInLoop } from '../helpers.js';
import { useGreenWorkers } from '../green-workers.js';
import { readFifo, tickThenWrite } from './fixtures/net-fetch.js';

describe("green: Node's *Sync calls", function () {
  this.timeout(20000);
  useGreenWorkers(2);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'greenloop-sync-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a readFileSync blocked in the kernel stops only its own green thread', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const [text, ticks] = await runInLoop(async () => {
      const reader = spawn(readFifo, fifo);
      // 20 sleeps on the hub while the reader is blocked in readFileSync; then the write that frees it.
      const writer = spawn(tickThenWrite, fifo, 20, 'written after 20 ticks');
      return Promise.all([reader, writer]);
    });
    expect(ticks).to.equal(20);
    expect(text).to.equal('written after 20 ticks');
  });
});
