/**
 * The eventlet-style crawler (examples/eventlet-style/crawler.ts) migrated
 * to the asyncio style: `gather` instead of `GreenPool.imap` (results in
 * order), a `Semaphore` instead of the pool's size to bound how many
 * fetches run at once, and Node's own `fetch` awaited, cancelled with the
 * task through `task.signal`.
 *
 *   npx tsx examples/asyncio-style/crawler.ts           # crawls a local site it starts
 *   npx tsx examples/asyncio-style/crawler.ts URL...    # or any URLs
 */
import { Semaphore, currentTask, gather, run, timeout } from '../../src/loop/index.js';
import { startLocalHttp } from '../eventlet-style/local-http.js';

/** Fetches `url` once a slot of `slots` is free: [url, body length]. */
async function fetchPage(slots: Semaphore, url: string): Promise<[string, number]> {
  return slots.run(async () => {
    console.log('opening', url);
    await using _limit = timeout(10);
    const response = await fetch(url, { signal: currentTask()?.signal });
    const body = Buffer.from(await response.arrayBuffer());
    console.log('done with', url);
    return [url, body.length];
  });
}

async function main(given: string[]): Promise<void> {
  let urls = given;
  if (urls.length === 0) {
    const base = `http://127.0.0.1:${await startLocalHttp()}`;
    console.log('front page says:', (await (await fetch(base)).text()).trim());
    urls = [1, 2, 3, 5, 8, 13, 21, 34].map((n) => `${base}/pages/${n}`);
  }
  const slots = new Semaphore(4); // at most 4 fetches at once
  const pages = await gather(...urls.map((url) => fetchPage(slots, url)));
  let total = 0;
  for (const [url, length] of pages) {
    console.log('got body from', url, 'of length', length);
    total += length;
  }
  console.log(`crawled ${urls.length} pages, ${total} bytes`);
}

await run(main, process.argv.slice(2));
