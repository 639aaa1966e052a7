/** examples/asyncio-style/getbody-generator.ts: the seeds' second program, a Trollius-style generator coroutine. */
import { expectGetbody, runExample } from './run-example.js';

describe('example: asyncio-style/getbody-generator', function () {
  this.timeout(90000);

  it('yields awaitables, delegates with yield*, and prints the answer of its local server', async () => {
    expectGetbody((await runExample('asyncio-style/getbody-generator.ts')).stdout);
  });
});
