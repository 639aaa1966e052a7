/** examples/eventlet-style/crawler.ts: eventlet's webcrawler, GreenPool.imap over green fetches of a local site. */
import { expectCrawl, runExample } from './run-example.js';

describe('example: eventlet-style/crawler', function () {
  this.timeout(90000);

  it('fetches every page of its local site in green threads, results in order', async () => {
    expectCrawl((await runExample('eventlet-style/crawler.ts')).stdout);
  });
});
