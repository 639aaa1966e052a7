/** examples/eventlet-style/getbody.ts: a green main flow that starts an async server with callAsync and asks it over a green socket. */
import { expectGetbody, runExample } from './run-example.js';

describe('example: eventlet-style/getbody', function () {
  this.timeout(90000);

  it('resolves, connects, sends a HEAD request and prints the answer of its local server', async () => {
    expectGetbody((await runExample('eventlet-style/getbody.ts')).stdout);
  });
});
