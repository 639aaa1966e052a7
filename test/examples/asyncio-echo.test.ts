/** examples/asyncio-style/echo.ts: the same echo server with streams, a task per client. */
import { expect } from 'chai';
import { echoLines, runExample, serveExample } from './run-example.js';

describe('example: asyncio-style/echo', function () {
  this.timeout(90000);

  it('serves its two scripted clients, each line echoed, and stops by itself', async () => {
    const { stdout } = await runExample('asyncio-style/echo.ts');
    expect(stdout).to.match(/^server socket listening on port \d+\n/);
    expect(stdout).to.include('client got back: hello | async world\n');
    expect(stdout).to.include('client got back: one | two | three\n');
    expect(stdout.match(/^client disconnected$/gm)).to.have.length(2);
    expect(stdout).to.match(/server closed\n$/);
  });

  it('with --serve-for, echoes an outside client and stops when the time is up', async () => {
    let echoes: string[] = [];
    const { stdout } = await serveExample('asyncio-style/echo.ts', 4, async (port) => {
      echoes = await echoLines(port, ['from outside', 'über']);
    });
    expect(echoes).to.deep.equal(['from outside', 'über']);
    expect(stdout).to.include('echoed über\n');
    expect(stdout).to.match(/server closed\n$/);
  });
});
