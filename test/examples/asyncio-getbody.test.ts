/** examples/asyncio-style/getbody.ts: the seeds' getbody with async/await. */
import { expect } from 'chai';
import { runExample } from './run-example.js';

describe('example: asyncio-style/getbody', function () {
  this.timeout(90000);

  it('connects with streams, sends a HEAD request and prints the answer of its local server', async () => {
    const { stdout } = await runExample('asyncio-style/getbody.ts');
    expect(stdout).to.match(/^localhost:\d+ says:\nHTTP\/1\.0 200 OK\r\n/);
    expect(stdout).to.include('Content-Length: 28');
  });
});
