/** examples/asyncio-style/getbody.ts: the seeds' getbody with async/await. */
import { expectGetbody, runExample } from './run-example.js';

describe('example: asyncio-style/getbody', function () {
  this.timeout(90000);

  it('connects with streams, sends a HEAD request and prints the answer of its local server', async () => {
    expectGetbody((await runExample('asyncio-style/getbody.ts')).stdout);
  });
});
