/**
 * Subprocesses with real children (sh, cat, sleep, node), in the spirit of
 * CPython's test_asyncio/test_subprocess.py: the protocol level
 * (`loop.subprocessExec`/`subprocessShell`) and the Process level
 * (`createSubprocessExec`/`createSubprocessShell`).
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import sinon from 'sinon';
import { DEVNULL, PIPE, STDOUT, type BaseSubprocessTransport } from '../../src/loop/base-subprocess.js';
import { taskContext } from '../../src/loop/context.js';
import {
  BrokenPipeError,
  CancelledError,
  FileNotFoundError,
  ProcessLookupError,
  ValueError,
} from '../../src/loop/errors.js';
import {
  createSubprocessExec,
  createSubprocessShell,
  Future,
  getRunningLoop,
  logger,
  Process,
  sleep,
  type EventLoop,
} from '../../src/loop/index.js';
import { SubprocessProtocol } from '../../src/loop/protocols.js';
import type { ReadTransport, WriteTransport } from '../../src/loop/transports.js';
import { checkFdLeaks, runInLoop } from '../helpers.js';

const UPPER = fileURLToPath(new URL('./fixtures/subprocess-upper.mjs', import.meta.url));

/** Records every protocol call, in order; `finished` resolves at connectionLost. */
class RecordingProtocol extends SubprocessProtocol {
  readonly events: string[] = [];
  readonly output = new Map<number, Buffer[]>();
  readonly pipeErrors = new Map<number, Error | null>();
  readonly finished: Future<void>;
  transport: BaseSubprocessTransport | null = null;

  constructor(loop: EventLoop = getRunningLoop()) {
    super();
    this.finished = loop.createFuture<void>();
  }

  override connectionMade(transport: BaseSubprocessTransport): void {
    this.transport = transport;
    this.events.push('connectionMade');
  }
  override pipeDataReceived(fd: number, data: Buffer): void {
    if (this.events.at(-1) !== `data ${fd}`) this.events.push(`data ${fd}`);
    this.output.set(fd, [...(this.output.get(fd) ?? []), data]);
  }
  override pipeConnectionLost(fd: number, error: Error | null): void {
    this.pipeErrors.set(fd, error);
    this.events.push(`pipeConnectionLost ${fd} ${error === null ? 'null' : error.name}`);
  }
  override processExited(): void {
    this.events.push('processExited');
  }
  override connectionLost(error: Error | null): void {
    this.events.push(`connectionLost ${String(error)}`);
    this.finished.setResult();
  }
  text(fd: number): string {
    return Buffer.concat(this.output.get(fd) ?? []).toString();
  }
}

const newProtocol = (): RecordingProtocol => new RecordingProtocol();

describe('subprocess: loop.subprocessExec and subprocessShell', function () {
  checkFdLeaks();

  it('calls connectionMade first, each pipe’s data before its pipeConnectionLost, processExited after every pipe, connectionLost last', async () => {
    const events = await runInLoop(async () => {
      const script = 'read line; echo "out $line"; echo err >&2; exit 3';
      const [transport, protocol] = await getRunningLoop().subprocessExec(newProtocol, 'sh', ['-c', script], {
        stdin: PIPE,
        stdout: PIPE,
        stderr: PIPE,
      });
      expect(protocol.events).to.deep.equal(['connectionMade']);
      (transport.getPipeTransport(0) as WriteTransport).write('hello\n');
      await protocol.finished;
      expect(transport.getReturncode()).to.equal(3);
      expect(protocol.text(1)).to.equal('out hello\n');
      expect(protocol.text(2)).to.equal('err\n');
      return protocol.events;
    });
    expect(events[0]).to.equal('connectionMade');
    expect(events.slice(-2)).to.deep.equal(['processExited', 'connectionLost null']);
    for (const fd of [1, 2]) {
      expect(events.indexOf(`data ${fd}`)).to.be.above(0).and.below(events.indexOf(`pipeConnectionLost ${fd} null`));
    }
    expect(events.filter((e) => e.startsWith('pipeConnectionLost'))).to.have.members([
      'pipeConnectionLost 0 null',
      'pipeConnectionLost 1 null',
      'pipeConnectionLost 2 null',
    ]);
    expect(events, events.join(", ")).to.have.length(8);
  });

  it('round-trips stdin to stdout through cat; writeEof ends the child', async () => {
    await runInLoop(async () => {
      const [transport, protocol] = await getRunningLoop().subprocessExec(newProtocol, 'cat', [], {
        stdin: PIPE,
        stdout: PIPE,
      });
      const stdin = transport.getPipeTransport(0) as WriteTransport;
      expect(stdin.canWriteEof()).to.equal(true);
      stdin.write('line 1\n');
      stdin.writelines([Buffer.from('line 2\n'), new Uint8Array([0x33, 0x0a])]);
      stdin.writeEof();
      expect(stdin.isClosing()).to.equal(true);
      await protocol.finished;
      expect(protocol.text(1)).to.equal('line 1\nline 2\n3\n');
      expect(transport.getReturncode()).to.equal(0);
      expect(protocol.events).to.include('pipeConnectionLost 0 null');
    });
  });

  it('gives a WriteTransport for fd 0, ReadTransports for fds 1 and 2, null for fds not piped', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const [transport, protocol] = await loop.subprocessExec(newProtocol, 'true', [], { stdout: PIPE });
      expect(transport.getPid()).to.be.a('number');
      expect(transport.getPipeTransport(0)).to.equal(null);
      expect(transport.getPipeTransport(2)).to.equal(null);
      expect((transport.getPipeTransport(1) as ReadTransport).isReading()).to.equal(true);
      expect(transport.getProtocol()).to.equal(protocol);
      await protocol.finished;
      expect(transport.getReturncode()).to.equal(0);
    });
  });

  it('sends stderr into the stdout pipe with STDOUT, interleaved as written', async () => {
    await runInLoop(async () => {
      const script = 'echo 1; echo 2 >&2; echo 3; echo 4 >&2';
      const [transport, protocol] = await getRunningLoop().subprocessShell(newProtocol, script, {
        stdout: PIPE,
        stderr: STDOUT,
      });
      expect(transport.getPipeTransport(2)).to.equal(null);
      await protocol.finished;
      expect(protocol.text(1)).to.equal('1\n2\n3\n4\n');
      expect(protocol.events).to.not.include('data 2');
    });
  });

  it('connects DEVNULL fds to /dev/null', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const [, catProtocol] = await loop.subprocessExec(newProtocol, 'cat', [], { stdin: DEVNULL, stdout: PIPE });
      await catProtocol.finished;
      expect(catProtocol.text(1)).to.equal('');
      const [transport, protocol] = await loop.subprocessShell(newProtocol, 'echo hidden; echo shown >&2', {
        stdout: DEVNULL,
        stderr: PIPE,
      });
      expect(transport.getPipeTransport(1)).to.equal(null);
      await protocol.finished;
      expect(protocol.text(2)).to.equal('shown\n');
    });
  });

  it('connects an fd given as a number: the child writes into our open file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'greenloop-subprocess-'));
    const file = join(dir, 'out.txt');
    const fd = openSync(file, 'w');
    try {
      await runInLoop(async () => {
        const [, protocol] = await getRunningLoop().subprocessShell(newProtocol, 'echo to-file; echo err >&2', {
          stdout: fd,
          stderr: STDOUT,
        });
        await protocol.finished;
      });
      expect(readFileSync(file, 'utf8')).to.equal('to-file\nerr\n');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });

  it('runs the child in cwd with env', async () => {
    await runInLoop(async () => {
      const [, protocol] = await getRunningLoop().subprocessShell(newProtocol, 'pwd; echo "$GREENLOOP_TEST"', {
        stdout: PIPE,
        cwd: '/',
        env: { GREENLOOP_TEST: 'value', PATH: process.env.PATH },
      });
      await protocol.finished;
      expect(protocol.text(1)).to.equal('/\nvalue\n');
    });
  });

  it('pauseReading stops pipeDataReceived and leaves the child blocked; resumeReading delivers the rest', async () => {
    await runInLoop(async () => {
      const total = 2_000_000;
      const [transport, protocol] = await getRunningLoop().subprocessExec(newProtocol, 'head', ['-c', `${total}`, '/dev/zero'], {
        stdout: PIPE,
      });
      const stdout = transport.getPipeTransport(1) as ReadTransport;
      stdout.pauseReading();
      expect(stdout.isReading()).to.equal(false);
      await sleep(0.05);
      const received = protocol.text(1).length;
      expect(received).to.be.below(total);
      expect(transport.getReturncode()).to.equal(null);
      stdout.resumeReading();
      await protocol.finished;
      expect(protocol.text(1).length).to.equal(total);
      expect(transport.getReturncode()).to.equal(0);
    });
  });

  it('calls pauseWriting when stdin’s buffer goes over the high-water mark and resumeWriting once it drains', async () => {
    await runInLoop(async () => {
      const calls: string[] = [];
      class FlowProtocol extends RecordingProtocol {
        override pauseWriting(): void {
          calls.push(`pause`);
        }
        override resumeWriting(): void {
          calls.push('resume');
        }
      }
      const [transport, protocol] = await getRunningLoop().subprocessShell(
        () => new FlowProtocol(),
        'sleep 0.05; cat >/dev/null',
        { stdin: PIPE },
      );
      const stdin = transport.getPipeTransport(0) as WriteTransport;
      expect(() => stdin.setWriteBufferLimits(1, 2)).to.throw(ValueError);
      stdin.setWriteBufferLimits(1024);
      expect(stdin.getWriteBufferLimits()).to.deep.equal([256, 1024]);
      stdin.write(Buffer.alloc(1_000_000));
      expect(calls).to.deep.equal(['pause']);
      expect(stdin.getWriteBufferSize()).to.be.above(1024);
      while (calls.length < 2) await sleep(0.01);
      expect(calls).to.deep.equal(['pause', 'resume']);
      expect(stdin.getWriteBufferSize()).to.be.at.most(256);
      stdin.close();
      await protocol.finished;
      expect(transport.getReturncode()).to.equal(0);
    });
  });

  it('reports a write to a child that closed its stdin as BrokenPipeError in pipeConnectionLost(0), then drops writes', async () => {
    await runInLoop(async () => {
      const [transport, protocol] = await getRunningLoop().subprocessShell(newProtocol, 'exec 0<&-; sleep 0.1', {
        stdin: PIPE,
      });
      await sleep(0.03);
      const stdin = transport.getPipeTransport(0) as WriteTransport;
      stdin.write(Buffer.alloc(2_000_000));
      while (!protocol.pipeErrors.has(0)) await sleep(0.005);
      expect(protocol.pipeErrors.get(0)).to.be.instanceOf(BrokenPipeError).with.property('code', 'EPIPE');
      stdin.write('dropped');
      await protocol.finished;
      expect(transport.getReturncode()).to.equal(0);
    });
  });

  it('closes stdin without error when the child exits without reading it', async () => {
    await runInLoop(async () => {
      const [, protocol] = await getRunningLoop().subprocessExec(newProtocol, 'true', [], { stdin: PIPE });
      await protocol.finished;
      expect(protocol.events).to.include('pipeConnectionLost 0 null');
    });
  });

  it('gives -9 after kill(), -15 after terminate(), minus the signal after sendSignal()', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const results: number[] = [];
      for (const send of [
        (t: BaseSubprocessTransport) => t.kill(),
        (t: BaseSubprocessTransport) => t.terminate(),
        (t: BaseSubprocessTransport) => t.sendSignal('SIGINT'),
        (t: BaseSubprocessTransport) => t.sendSignal(1),
      ]) {
        const [transport, protocol] = await loop.subprocessExec(newProtocol, 'sleep', ['10']);
        send(transport);
        await protocol.finished;
        results.push(transport.getReturncode() as number);
      }
      expect(results).to.deep.equal([-9, -15, -2, -1]);
    });
  });

  it('raises ProcessLookupError for a signal once the transport has finished; TypeError for an unknown signal', async () => {
    await runInLoop(async () => {
      const [transport, protocol] = await getRunningLoop().subprocessExec(newProtocol, 'sleep', ['10']);
      expect(() => transport.sendSignal('SIGNOPE' as NodeJS.Signals)).to.throw(TypeError);
      transport.kill();
      await protocol.finished;
      expect(() => transport.kill()).to.throw(ProcessLookupError).with.property('code', 'ESRCH');
    });
  });

  it('close() kills a running child, closes its pipes and still calls the protocol to the end', async () => {
    await runInLoop(async () => {
      const [transport, protocol] = await getRunningLoop().subprocessExec(newProtocol, 'sleep', ['10'], {
        stdin: PIPE,
        stdout: PIPE,
      });
      transport.close();
      expect(transport.isClosing()).to.equal(true);
      await protocol.finished;
      expect(transport.getReturncode()).to.equal(-9);
      expect(protocol.events.slice(-2)).to.deep.equal(['processExited', 'connectionLost null']);
    });
  });

  it('raises FileNotFoundError (code ENOENT) for a missing program or cwd, and never calls the protocol', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const protocol = new RecordingProtocol();
      const error = await loop
        .subprocessExec(() => protocol, 'greenloop-no-such-program', [], { stdin: PIPE, stdout: PIPE, stderr: PIPE })
        .catch((err: unknown) => err);
      expect(error).to.be.instanceOf(FileNotFoundError);
      expect(error).to.include({ code: 'ENOENT', path: 'greenloop-no-such-program' });
      const badCwd = await loop
        .subprocessExec(newProtocol, 'true', [], { cwd: '/greenloop/no/such/dir' })
        .catch((err: unknown) => err);
      expect(badCwd).to.be.instanceOf(FileNotFoundError);
      await sleep(0.01);
      expect(protocol.events).to.deep.equal([]);
    });
  });

  it('passes on other failures to start, such as EACCES for a file that is not executable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'greenloop-subprocess-'));
    try {
      const file = join(dir, 'not-executable');
      writeFileSync(file, 'echo never\n');
      chmodSync(file, 0o644);
      const error = await runInLoop(() => getRunningLoop().subprocessExec(newProtocol, file).catch((err: unknown) => err));
      expect(error).to.have.property('code', 'EACCES');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('raises TypeError naming the bad argument', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const bad: [() => Promise<unknown>, RegExp][] = [
        [() => loop.subprocessExec(newProtocol, 42 as unknown as string), /program/],
        [() => loop.subprocessExec(newProtocol, '', []), /program/],
        [() => loop.subprocessExec(newProtocol, 'true', 'x' as unknown as string[]), /args/],
        [() => loop.subprocessExec(newProtocol, 'true', ['a', 1 as unknown as string]), /args\[1\]/],
        [() => loop.subprocessExec(newProtocol, 'true', ['a\0b']), /args\[0\].*null byte/],
        [() => loop.subprocessExec(newProtocol, 'true', [], { stdin: 'pipe' as unknown as number }), /stdin/],
        [() => loop.subprocessExec(newProtocol, 'true', [], { stdout: STDOUT }), /stdout/],
        [() => loop.subprocessExec(newProtocol, 'true', [], { stderr: -7 }), /stderr/],
        [() => loop.subprocessExec(newProtocol, 'true', [], { shell: true } as object), /shell/],
        [() => loop.subprocessExec(newProtocol, 'true', [], { env: 'x' as unknown as Record<string, string> }), /env/],
        [() => loop.subprocessExec(newProtocol, 'true', [], { cwd: 5 as unknown as string }), /cwd/],
        [() => loop.subprocessExec('x' as unknown as () => RecordingProtocol, 'true'), /protocolFactory/],
        [() => loop.subprocessShell(newProtocol, ['ls'] as unknown as string), /cmd/],
      ];
      for (const [call, pattern] of bad) {
        const error = await call().catch((err: unknown) => err);
        expect(error).to.be.instanceOf(TypeError);
        expect((error as Error).message).to.match(pattern);
      }
    });
  });

  it('creates the child outside any task context, so its Node callbacks never run in a task', async () => {
    const store = await runInLoop(async () => {
      const [transport, protocol] = await getRunningLoop().subprocessExec(newProtocol, 'sleep', ['10']);
      const seen = getRunningLoop().createFuture<unknown>();
      const child = transport.getExtraInfo('subprocess') as ChildProcess;
      child.on('exit', () => seen.setResult(taskContext.getStore()));
      transport.kill();
      await protocol.finished;
      return await seen;
    });
    expect(store).to.equal(undefined);
  });

  it('kills a child still running when the loop closes, and frees its pipes', async () => {
    const warning = sinon.stub(logger, 'warning');
    try {
      const pid = await runInLoop(async () => {
        const [transport] = await getRunningLoop().subprocessExec(newProtocol, 'sleep', ['10'], { stdout: PIPE });
        return transport.getPid() as number;
      });
      expect(warning.calledOnce).to.equal(true);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(() => process.kill(pid, 0)).to.throw().with.property('code', 'ESRCH');
    } finally {
      warning.restore();
    }
  });

  it('kills and reaps the child when the task starting it is cancelled', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      let protocol: RecordingProtocol | null = null;
      const task = loop.createTask(() =>
        loop.subprocessExec(() => (protocol = new RecordingProtocol()), 'sleep', ['10'], { stdout: PIPE }),
      );
      await sleep(0);
      task.cancel();
      const error = await task.then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).to.be.instanceOf(CancelledError);
      const events = (protocol as RecordingProtocol | null)?.events ?? [];
      expect(events.at(-1)).to.equal('connectionLost null');
    });
  });
});

describe('subprocess: createSubprocessExec, createSubprocessShell and Process', function () {
  checkFdLeaks();

  it('communicate(input) round-trips stdin to stdout through cat', async () => {
    await runInLoop(async () => {
      const proc = await createSubprocessExec('cat', [], { stdin: PIPE, stdout: PIPE });
      expect(proc).to.be.instanceOf(Process);
      expect(proc.pid).to.be.a('number');
      expect(proc.stderr).to.equal(null);
      const [stdout, stderr] = await proc.communicate('hello\n');
      expect(stdout?.toString()).to.equal('hello\n');
      expect(stderr).to.equal(null);
      expect(proc.returncode).to.equal(0);
    });
  });

  it('communicate() moves several MB in and out at once without blocking either side', async () => {
    await runInLoop(async () => {
      const input = Buffer.alloc(4_000_000);
      for (let i = 0; i < input.length; i += 4096) input.writeUInt32BE(i, i);
      const proc = await createSubprocessExec('cat', [], { stdin: PIPE, stdout: PIPE });
      const [stdout] = await proc.communicate(input);
      expect(stdout?.equals(input)).to.equal(true);
    });
  });

  it('communicate() reads several MB from stdout and stderr at once', async () => {
    await runInLoop(async () => {
      const script = 'head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2; echo end';
      const proc = await createSubprocessShell(script, { stdout: PIPE, stderr: PIPE });
      const [stdout, stderr] = await proc.communicate();
      expect(stdout?.length).to.equal(3_000_004);
      expect(stdout?.subarray(-4).toString()).to.equal('end\n');
      expect(stderr?.length).to.equal(2_000_000);
    });
  });

  it('keeps stderr separate, merges it into stdout with STDOUT, drops it with DEVNULL', async () => {
    await runInLoop(async () => {
      const script = 'echo out; echo err >&2';
      const separate = await createSubprocessShell(script, { stdout: PIPE, stderr: PIPE });
      expect((await separate.communicate()).map(String)).to.deep.equal(['out\n', 'err\n']);
      const merged = await createSubprocessShell(script, { stdout: PIPE, stderr: STDOUT });
      expect(merged.stderr).to.equal(null);
      expect((await merged.communicate()).map(String)).to.deep.equal(['out\nerr\n', 'null']);
      const quiet = await createSubprocessShell(script, { stdout: DEVNULL, stderr: DEVNULL });
      expect(quiet.stdout).to.equal(null);
      expect(await quiet.communicate()).to.deep.equal([null, null]);
      expect(quiet.returncode).to.equal(0);
    });
  });

  it('reports exit codes through wait() and returncode', async () => {
    await runInLoop(async () => {
      const codes: (number | null)[] = [];
      for (const [program, args] of [
        ['true', []],
        ['false', []],
        ['sh', ['-c', 'exit 42']],
      ] as const) {
        const proc = await createSubprocessExec(program, [...args]);
        codes.push(await proc.wait(), proc.returncode);
      }
      expect(codes).to.deep.equal([0, 0, 1, 1, 42, 42]);
    });
  });

  it('gives -9 after kill() and -15 after terminate()', async () => {
    await runInLoop(async () => {
      const killed = await createSubprocessExec('sleep', ['10']);
      killed.kill();
      const terminated = await createSubprocessExec('sleep', ['10']);
      terminated.terminate();
      expect([await killed.wait(), await terminated.wait()]).to.deep.equal([-9, -15]);
      expect(() => killed.sendSignal('SIGTERM')).to.throw(ProcessLookupError);
      // Reaped, not a zombie: kill(pid, 0) succeeds on zombies.
      expect(() => process.kill(killed.pid, 0)).to.throw().with.property('code', 'ESRCH');
    });
  });

  it('communicate() without input closes stdin, so cat ends with no output', async () => {
    await runInLoop(async () => {
      const proc = await createSubprocessExec('cat', [], { stdin: PIPE, stdout: PIPE });
      const [stdout] = await proc.communicate();
      expect(stdout?.length).to.equal(0);
      expect(proc.returncode).to.equal(0);
    });
  });

  it('communicate() ignores a child that exits or closes stdin without reading its input', async () => {
    await runInLoop(async () => {
      const closer = await createSubprocessShell('exec 0<&-; echo done', { stdin: PIPE, stdout: PIPE });
      const [stdout] = await closer.communicate(Buffer.alloc(1_000_000));
      expect(stdout?.toString()).to.equal('done\n');
      const exited = await createSubprocessExec('true', [], { stdin: PIPE });
      await sleep(0.05);
      expect(await exited.communicate(Buffer.alloc(1_000_000))).to.deep.equal([null, null]);
      expect(exited.returncode).to.equal(0);
    });
  });

  it('talks line by line with a child through stdin.write/drain and stdout.readline', async () => {
    await runInLoop(async () => {
      const proc = await createSubprocessExec(process.execPath, [UPPER, '5'], {
        stdin: PIPE,
        stdout: PIPE,
        stderr: PIPE,
      });
      const stdin = proc.stdin as StreamWriterLike;
      const stdout = proc.stdout as StreamReaderLike;
      for (const word of ['one', 'two']) {
        stdin.write(`${word}\n`);
        await stdin.drain();
        expect((await stdout.readline()).toString()).to.equal(`${word.toUpperCase()}\n`);
      }
      stdin.close();
      await stdin.waitClosed();
      expect((await stdout.readline()).length).to.equal(0);
      expect((await (proc.stderr as StreamReaderLike).read()).toString()).to.equal('2 lines\n');
      expect(await proc.wait()).to.equal(5);
    });
  });

  it('gives every concurrent wait() the return code, and wait() after the exit too', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const proc = await createSubprocessExec('sleep', ['0.05']);
      const waiters = Array.from({ length: 5 }, () => loop.createTask(() => proc.wait()));
      const codes = await Promise.all(waiters);
      expect(codes).to.deep.equal([0, 0, 0, 0, 0]);
      expect(await proc.wait()).to.equal(0);
    });
  });

  it('cancelling wait() raises CancelledError and leaves the child running; it can still be killed', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const proc = await createSubprocessExec('sleep', ['10']);
      const other = loop.createTask(() => proc.wait());
      const waiter = loop.createTask(() => proc.wait());
      await sleep(0.01);
      waiter.cancel();
      expect(await waiter.then(() => null, (err: unknown) => err)).to.be.instanceOf(CancelledError);
      expect(proc.returncode).to.equal(null);
      expect(() => process.kill(proc.pid, 0)).to.not.throw();
      proc.kill();
      expect(await proc.wait()).to.equal(-9);
      expect(await other).to.equal(-9);
    });
  });

  it('cancelling communicate() raises CancelledError and leaves the child running; it can still be killed', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      const proc = await createSubprocessShell('echo started; exec sleep 10', { stdin: PIPE, stdout: PIPE, stderr: PIPE });
      const task = loop.createTask(() => proc.communicate('input'));
      await sleep(0.05);
      task.cancel();
      expect(await task.then(() => null, (err: unknown) => err)).to.be.instanceOf(CancelledError);
      expect(proc.returncode).to.equal(null);
      proc.kill();
      expect(await proc.wait()).to.equal(-9);
    });
  });

  it('passes limit to the readers: a longer line makes readline() raise ValueError', async () => {
    await runInLoop(async () => {
      // One write, so the long line and the short one arrive together.
      const proc = await createSubprocessShell("printf '%0100d\\nshort\\n' 0", { stdout: PIPE, limit: 16 });
      const stdout = proc.stdout as StreamReaderLike;
      const error = await stdout.readline().catch((err: unknown) => err);
      expect(error).to.be.instanceOf(ValueError);
      expect((await stdout.readline()).toString()).to.equal('short\n');
      expect(await proc.wait()).to.equal(0);
    });
  });

  it('raises FileNotFoundError for a missing program, TypeError or ValueError for bad arguments', async () => {
    await runInLoop(async () => {
      const missing = await createSubprocessExec('greenloop-no-such-program', [], { stdout: PIPE }).catch((e: unknown) => e);
      expect(missing).to.be.instanceOf(FileNotFoundError).with.property('code', 'ENOENT');
      const badArgs = await createSubprocessExec('true', 'x' as unknown as string[]).catch((e: unknown) => e);
      expect(badArgs).to.be.instanceOf(TypeError).with.property('message').that.matches(/args/);
      const badOptions = await createSubprocessShell('true', null as unknown as object).catch((e: unknown) => e);
      expect(badOptions).to.be.instanceOf(TypeError).with.property('message').that.matches(/options/);
      const badLimit = await createSubprocessShell('true', { limit: 0 }).catch((e: unknown) => e);
      expect(badLimit).to.be.instanceOf(ValueError);
      const proc = await createSubprocessExec('cat', [], { stdin: PIPE });
      const badInput = await proc.communicate(42 as unknown as string).catch((e: unknown) => e);
      expect(badInput).to.be.instanceOf(TypeError).with.property('message').that.matches(/input/);
      await proc.communicate();
    });
  });

  it('works from generator coroutines', async () => {
    const result = await runInLoop(function* () {
      const proc = (yield createSubprocessExec('sh', ['-c', 'echo gen; exit 3'], { stdout: PIPE })) as Process;
      const [stdout] = (yield proc.communicate()) as [Buffer, null];
      return [stdout.toString(), proc.returncode];
    });
    expect(result).to.deep.equal(['gen\n', 3]);
  });
});

type StreamReaderLike = NonNullable<Process['stdout']>;
type StreamWriterLike = NonNullable<Process['stdin']>;
