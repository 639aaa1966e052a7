/** examples/asyncio-style/getbody-generator.ts: the seeds' second program, a Trollius-style generator coroutine. */
import { expect } from 'chai';
import { runExample } from './run-example.js';

describe('example: asyncio-style/getbody-generator', function () {
  this.timeout(90000);

  it('yields awaitables, delegates with yield*, and prints the answer of its local server', async () => {
    const { stdout } = await runExample('asyncio-style/getbody-generator.ts');
    expect(stdout).to.match(/^localhost:\d+ says:\nHTTP\/1\.0 200 OK\r\n/);
    expect(stdout).to.include('Content-Length: 28');
  });
});
