/**
 * Running the examples as users do: `npx tsx examples/...` in a real
 * process, and talking to the servers among them over real sockets.
 */
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runScript, startScript, type ScriptOutcome } from '../helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `examples/<path>` with `args` to its end; fails the test if it did not exit 0 cleanly. */
export async function runExample(path: string, args: readonly string[] = []): Promise<ScriptOutcome> {
  const outcome = await runScript(`${root}examples/${path}`, { args, hangLimit: 60 });
  expect(outcome.signal, `${path} hung:\n${outcome.stdout}\n${outcome.stderr}`).to.equal(null);
  expect(outcome.stderr, `${path} wrote on stderr`).to.equal('');
  expect(outcome.code, `${path} exited with ${outcome.code}:\n${outcome.stdout}`).to.equal(0);
  return outcome;
}

/**
 * Starts the server example `examples/<path>` with `--serve-for seconds
 * --port 0`, waits for its "listening on port N" line, runs `client(port)`
 * against it, then waits for the example to stop by itself.
 */
export async function serveExample(path: string, seconds: number, client: (port: number) => Promise<void>): Promise<ScriptOutcome> {
  const child = startScript(`${root}examples/${path}`, { args: ['--serve-for', String(seconds), '--port', '0'], hangLimit: 60 });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ended = new Promise<ScriptOutcome>((resolve) =>
    child.on('close', (code, signal) => resolve({ stdout, stderr, code, signal, seconds: 0 })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on port (\d+)/.exec(stdout);
      if (match !== null) resolve(Number(match[1]));
    });
    void ended.then(() => reject(new Error(`${path} ended before listening:\n${stdout}\n${stderr}`)));
  });
  try {
    await client(port);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const outcome = await ended;
  expect(outcome.stderr, `${path} wrote on stderr`).to.equal('');
  expect(outcome.code, `${path} exited with ${outcome.code}:\n${outcome.stdout}`).to.equal(0);
  return outcome;
}

/** Sends each line to 127.0.0.1:`port` and reads its echo; the echoes. */
export async function echoLines(port: number, lines: readonly string[]): Promise<string[]> {
  const sock = connect(port, '127.0.0.1');
  sock.setEncoding('utf8');
  const received: string[] = [];
  let buffer = '';
  const waiters: (() => void)[] = [];
  sock.on('data', (text: string) => {
    buffer += text;
    let at: number;
    while ((at = buffer.indexOf('\n')) !== -1) {
      received.push(buffer.slice(0, at));
      buffer = buffer.slice(at + 1);
      waiters.shift()?.();
    }
  });
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  for (const line of lines) {
    const echoed = new Promise<void>((resolve) => waiters.push(resolve));
    sock.write(`${line}\n`);
    await echoed;
  }
  sock.end();
  await new Promise((resolve) => sock.once('close', resolve));
  return received;
}

/** What both crawlers print for the local site: page N has N lines of `page N, line k\n`. */
export function expectCrawl(stdout: string): void {
  expect(stdout).to.match(/^front page says: hello from greenloop \(GET\)\n/);
  const pages = [1, 2, 3, 5, 8, 13, 21, 34];
  const got = [...stdout.matchAll(/^got body from http:\/\/127\.0\.0\.1:\d+\/pages\/(\d+) of length (\d+)$/gm)];
  // In the order of the URLs, whatever order the fetches ended in.
  expect(got.map((m) => Number(m[1]))).to.deep.equal(pages);
  const size = (n: number): number => Array.from({ length: n }, (_, i) => `page ${n}, line ${i + 1}\n`.length).reduce((a, b) => a + b, 0);
  expect(got.map((m) => Number(m[2]))).to.deep.equal(pages.map(size));
  expect(stdout.match(/^opening /gm)).to.have.length(8);
  expect(stdout.match(/^done with /gm)).to.have.length(8);
  expect(stdout).to.match(new RegExp(`crawled 8 pages, ${pages.map(size).reduce((a, b) => a + b)} bytes\n$`));
}

/** What the three getbody examples print against their local server. */
export function expectGetbody(stdout: string): void {
  expect(stdout).to.match(/^localhost:\d+ says:\nHTTP\/1\.0 200 OK\r\n/);
  expect(stdout).to.include('Content-Length: 28');
}

/**
 * The tests of an echo server example: its scripted run (whose first
 * client gets `firstReply` back), and `--serve-for` with an outside client.
 */
export function echoExampleTests(path: string, firstReply: string): void {
  it('serves its two scripted clients, each line echoed, and stops by itself', async () => {
    const { stdout } = await runExample(path);
    expect(stdout).to.match(/^server socket listening on port \d+\n/);
    expect(stdout).to.include(`client got back: ${firstReply}\n`);
    expect(stdout).to.include('client got back: one | two | three\n');
    expect(stdout.match(/^client disconnected$/gm)).to.have.length(2);
    expect(stdout).to.match(/server closed\n$/);
  });

  it('with --serve-for, echoes an outside client and stops when the time is up', async () => {
    let echoes: string[] = [];
    const { stdout } = await serveExample(path, 4, async (port) => {
      echoes = await echoLines(port, ['from outside', 'über']);
    });
    expect(echoes).to.deep.equal(['from outside', 'über']);
    expect(stdout).to.include('echoed über\n');
    expect(stdout).to.match(/server closed\n$/);
  });
}
