/**
 * Green fetch against a real HTTP server on 127.0.0.1 (node:http, on the
 * test's main thread, which is also the hub): responses and blocking body
 * reads in real green threads, errors, timeouts, kills, and release of the
 * request when its green thread or its Response lets go.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { fetch, spawn } from '../../src/green/index.js';
import { CancelledError } from '../../src/loop/index.js';
import { BlockingOnHubError } from '../../src/bridge/index.js';
import { liveBodies } from '../../src/green/fetch-hub.js';
import { runInLoop, until } from '../helpers.js';
import { useGreenWorkers, waitUntil } from '../green-workers.js';
import {
  closeUnread,
  disposeUnread,
  fetchError,
  fetchForever,
  getJsonTwice,
  getText,
  postEcho,
  postForm,
  readBroken,
  readSomeAndLeave,
  readTimeout,
  refusedIsFetchError,
  returnResponse,
  streamPieces,
  timeoutInBody,
} from './fixtures/net-fetch.js';

/** Requests whose connection closed before their response ended, by path. */
const aborted: string[] = [];
/** Requests seen, by path. */
const seen: string[] = [];

function route(req: IncomingMessage, res: ServerResponse): void {
  seen.push(req.url ?? '');
  res.on('close', () => {
    if (!res.writableFinished) aborted.push(req.url ?? '');
  });
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => respond(req, res, Buffer.concat(chunks)));
}

function respond(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  switch (req.url) {
    case '/text':
      res.writeHead(200, { 'x-test': 'yes' }).end('hello');
      return;
    case '/missing':
      res.writeHead(404).end('nope');
      return;
    case '/json':
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"a":[1,2]}');
      return;
    case '/echo':
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? '' }).end(body);
      return;
    case '/form':
      res.writeHead(200).end(`${req.headers['content-type']}|${body.toString()}`);
      return;
    case '/stream':
      streamOut(res, ['hello world, ', 'this is ', 'streamed ', 'in pieces'], 20);
      return;
    case '/stall':
      // 'abc' now, the rest only after 1.5 s: long after any timeout of the tests.
      res.writeHead(200);
      res.write('abc');
      setTimeout(() => res.end('defgh'), 1500);
      return;
    case '/aborted':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(aborted));
      return;
    case '/broken':
      // Promises 100 bytes, sends 3, and drops the connection.
      res.writeHead(200, { 'content-length': '100' });
      res.write('abc', () => setTimeout(() => res.destroy(), 50));
      return;
    case '/hang':
      return; // never answers: the client must give up
    default:
      res.writeHead(500).end();
  }
}

function streamOut(res: ServerResponse, parts: string[], gapMs: number): void {
  res.writeHead(200);
  let i = 0;
  const next = (): void => {
    if (i === parts.length) {
      res.end();
      return;
    }
    res.write(parts[i++]);
    setTimeout(next, gapMs);
  };
  next();
}

describe('green fetch', function () {
  this.timeout(20000);
  useGreenWorkers(2);
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer(route);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    aborted.length = 0;
    seen.length = 0;
  });
  afterEach(async () => {
    expect(await waitUntil(() => liveBodies() === 0), 'every response body released').to.equal(true);
  });

  it('returns the status, headers and body text; an HTTP error status is a response', async () => {
    const [ok, missing] = await runInLoop(async () => Promise.all([spawn(getText, `${base}/text`), spawn(getText, `${base}/missing`)]));
    expect(ok).to.deep.equal([200, true, 'yes', 'hello']);
    expect(missing).to.deep.equal([404, false, null, 'nope']);
  });

  it('parses JSON, and a body is read once', async () => {
    const [value, second] = await runInLoop(async () => spawn(getJsonTwice, `${base}/json`));
    expect(value).to.deep.equal({ a: [1, 2] });
    expect(second).to.equal('TypeError');
  });

  it('sends a body and gets bytes back as a Buffer', async () => {
    const payload = Buffer.from([0, 1, 2, 250, 255, 128]);
    const [isBuffer, hex, length] = await runInLoop(async () => spawn(postEcho, `${base}/echo`, payload));
    expect(isBuffer).to.equal(true);
    expect(hex).to.equal(payload.toString('hex'));
    expect(length).to.equal(6);
  });

  it('sends form fields with their content type', async () => {
    const echoed = await runInLoop(async () => spawn(postForm, `${base}/form`));
    expect(echoed).to.equal('application/x-www-form-urlencoded;charset=UTF-8|a=1&b=two');
  });

  it('streams a body with read(n), read1 and iteration, losing nothing', async () => {
    const [text, sizes] = await runInLoop(async () => spawn(streamPieces, `${base}/stream`));
    expect(text).to.equal('hello world, this is streamed in pieces');
    expect(sizes).to.deep.equal([5, 5, 5]);
  });

  it('raises FetchError with the cause and its code when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const [error, isInstance] = await runInLoop(async () =>
      Promise.all([spawn(fetchError, `http://127.0.0.1:${port}/`, null), spawn(refusedIsFetchError, `http://127.0.0.1:${port}/`)]),
    );
    expect(error?.name).to.equal('FetchError');
    expect(error?.code).to.equal('ECONNREFUSED');
    expect(error?.message).to.include(`GET http://127.0.0.1:${port}/ failed`);
    expect((error?.cause as { code?: string }).code).to.equal('ECONNREFUSED');
    expect(isInstance).to.equal(true);
  });

  it('raises FetchError when the body breaks off, after the bytes that arrived', async () => {
    const [first, error] = await runInLoop(async () => spawn(readBroken, `${base}/broken`));
    expect(first).to.equal('abc');
    expect(error?.name).to.equal('FetchError');
    expect(error?.message).to.match(/^GET .*\/broken failed: /);
    expect(error?.code).to.be.a('string');
  });

  it('refuses what cannot cross: a bad URL, a signal, a negative timeout', async () => {
    const bad = await runInLoop(async () => spawn(fetchError, 'not a url', null));
    expect(bad?.name).to.equal('TypeError');
    const negative = await runInLoop(async () => spawn(fetchError, `${base}/text`, -1));
    expect(negative?.name).to.equal('ValueError');
    expect(() => fetch(`${base}/text`, { signal: AbortSignal.timeout(1) } as never)).to.throw(TypeError, /no signal/);
  });

  it('times out waiting for the response with SocketTimeout, and aborts the request', async () => {
    const error = await runInLoop(async () => spawn(fetchError, `${base}/hang`, 0.3));
    expect(error?.name).to.equal('SocketTimeout');
    expect(error?.message).to.match(/GET .*\/hang timed out after 0.3 seconds/);
    await runInLoop(async () => until(() => aborted.includes('/hang'), 10));
  });

  it('times out a body read with SocketTimeout', async () => {
    const [first, error] = await runInLoop(async () => spawn(readTimeout, `${base}/stall`));
    expect(first).to.equal('abc');
    expect(error?.name).to.equal('SocketTimeout');
    expect(error?.message).to.match(/reading the body of GET .*\/stall timed out/);
  });

  it('a green Timeout interrupts a body read, and the next read gets every byte', async () => {
    const [caught, text] = await runInLoop(async () => spawn(timeoutInBody, `${base}/stall`));
    expect(caught).to.equal(true);
    expect(text).to.equal('abcdefgh');
  });

  it('kill() interrupts the wait for the response and aborts the request', async () => {
    await runInLoop(async () => {
      const thread = spawn(fetchForever, `${base}/hang`);
      await until(() => seen.includes('/hang'), 10);
      thread.kill();
      let error: unknown = null;
      try {
        await thread;
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(CancelledError); // how async code sees a killed thread
      await until(() => aborted.includes('/hang'), 10);
    });
  });

  it('releases the body and aborts the request when the green thread ends with it unread', async () => {
    const got = await runInLoop(async () => {
      const first = await spawn(readSomeAndLeave, `${base}/stall`);
      await until(() => aborted.includes('/stall'), 10);
      return first;
    });
    expect(got).to.equal('abc');
    expect(liveBodies()).to.equal(0);
  });

  it('close() releases the body: the request is aborted, later reads are empty', async () => {
    const [seen, length] = await runInLoop(async () => spawn(closeUnread, base));
    expect(seen, 'the server saw the request aborted while the thread still ran').to.equal(true);
    expect(length).to.equal(0);
  });

  it('`using` closes the body at the end of its block, aborting the request', async () => {
    const [first, seen] = await runInLoop(async () => spawn(disposeUnread, base));
    expect(first).to.equal('abc');
    expect(seen, 'the server saw the request aborted while the thread still ran').to.equal(true);
  });

  it('a Response refuses to cross threads with a TypeError, and its body is released', async () => {
    let error: unknown = null;
    await runInLoop(async () => {
      try {
        await spawn(returnResponse, `${base}/stall`);
      } catch (err) {
        error = err;
      }
    });
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.match(/<Response 200 .*\/stall> cannot cross to another thread/);
  });

  it("raises BlockingOnHubError on the loop's own thread", async () => {
    await runInLoop(async () => {
      expect(() => fetch(`${base}/text`)).to.throw(BlockingOnHubError, /global fetch\(\) with await/);
    });
  });
});
