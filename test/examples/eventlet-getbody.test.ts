/** examples/eventlet-style/getbody.ts: a green main flow that starts an async server with callAsync and asks it over a green socket. */
import { expect } from 'chai';
import { runExample } from './run-example.js';

describe('example: eventlet-style/getbody', function () {
  this.timeout(90000);

  it('resolves, connects, sends a HEAD request and prints the answer of its local server', async () => {
    const { stdout } = await runExample('eventlet-style/getbody.ts');
    expect(stdout).to.match(/^localhost:\d+ says:\nHTTP\/1\.0 200 OK\r\n/);
    expect(stdout).to.include('Content-Length: 28');
  });
});
