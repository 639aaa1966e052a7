/** examples/asyncio-style/crawler.ts: the crawler with gather and a Semaphore, Node's fetch awaited. */
import { expectCrawl, runExample } from './run-example.js';

describe('example: asyncio-style/crawler', function () {
  this.timeout(90000);

  it('fetches every page of its local site in tasks, results in order', async () => {
    expectCrawl((await runExample('asyncio-style/crawler.ts')).stdout);
  });
});
