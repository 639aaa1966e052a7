/**
 * The chat server examples, run as users run them: each starts in its own
 * process on an ephemeral port, real clients connect, every line a client
 * sends reaches every other client (and not itself), and the server stops
 * cleanly on SIGTERM or at its --serve-for limit.
 */
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { startScript, runScript } from '../helpers.js';

const EXAMPLES = [
  { style: 'eventlet-style', env: {} },
  { style: 'asyncio-style', env: { GREENLOOP_BRIDGE: 'off' } },
] as const;

function examplePath(style: string): string {
  return fileURLToPath(new URL(`../../examples/${style}/chat.ts`, import.meta.url));
}

/** Resolves once `read()` matches `pattern` (checked on every chunk of `stream`). */
function waitFor(stream: NodeJS.ReadableStream, read: () => string, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const match = read().match(pattern);
      if (match === null) return;
      stream.off('data', check);
      stream.off('end', ended);
      resolve(match);
    };
    const ended = (): void => reject(new Error(`output ended without ${String(pattern)}:\n${read()}`));
    stream.on('data', check);
    stream.on('end', ended);
    check();
  });
}

/** A chat client that collects what it receives. */
class Client {
  received = '';
  constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (this.received += chunk));
  }

  static async connect(port: number): Promise<Client> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new Client(socket);
  }

  lines(): string[] {
    return this.received.split('\n').filter((line) => line !== '');
  }

  async waitLines(count: number): Promise<string[]> {
    while (this.lines().length < count) await once(this.socket, 'data');
    return this.lines();
  }
}

for (const { style, env } of EXAMPLES) {
  describe(`examples: the ${style} chat server`, function () {
    this.timeout(90000);

    it('delivers every line to every other client, then stops on SIGTERM', async () => {
      const child = startScript(examplePath(style), { args: ['0', '--serve-for', '80'], env, hangLimit: 85 });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = once(child, 'exit');
      const clients: Client[] = [];
      try {
        const [, port] = await waitFor(child.stdout, () => stdout, /ChatServer starting up on port (\d+)/);
        for (let i = 0; i < 3; i++) clients.push(await Client.connect(Number(port)));
        await waitFor(child.stdout, () => stdout, /(Participant joined chat\.\n[^]*){3}/);
        // Each client speaks in turn; the others get the line, the speaker does not.
        for (const [i, speaker] of clients.entries()) {
          // Counted before the line goes out: a listener may get it while the test waits for another.
          const listeners = clients.filter((client) => client !== speaker).map((client) => [client, client.lines().length + 1] as const);
          speaker.socket.write(`hello from ${i}\n`);
          for (const [listener, count] of listeners) await listener.waitLines(count);
        }
        for (const [i, client] of clients.entries()) {
          const expected = [0, 1, 2].filter((j) => j !== i).map((j) => `hello from ${j}`);
          expect(client.lines(), `client ${i}`).to.deep.equal(expected);
        }
        // One leaves; the others still talk.
        clients[2].socket.end();
        await waitFor(child.stdout, () => stdout, /Participant left chat\./);
        clients[0].socket.write('still here\n');
        expect((await clients[1].waitLines(3))[2]).to.equal('still here');
      } finally {
        child.kill('SIGTERM');
        for (const client of clients) client.socket.destroy();
      }
      const [code, signal] = await exited;
      expect({ code, signal, stderr }).to.deep.equal({ code: 0, signal: null, stderr: '' });
      expect(stdout).to.match(/ChatServer exiting\.\n$/);
    });

    it('stops by itself at its --serve-for limit', async () => {
      const outcome = await runScript(examplePath(style), { args: ['0', '--serve-for', '0.5'], env, hangLimit: 60 });
      expect({ code: outcome.code, stderr: outcome.stderr }).to.deep.equal({ code: 0, stderr: '' });
      expect(outcome.stdout).to.match(/^ChatServer starting up on port \d+\n[^]*ChatServer exiting\.\n$/);
    });
  });
}
