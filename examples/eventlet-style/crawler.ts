/**
 * eventlet's webcrawler.py: fetch many URLs at once with a GreenPool, each
 * fetch in its own green thread, results in order with `imap`.
 *
 *   npx tsx examples/eventlet-style/crawler.ts           # crawls a local site it starts
 *   npx tsx examples/eventlet-style/crawler.ts URL...    # or any URLs
 *
 * Green `fetch` blocks its green thread only, the way eventlet's green
 * `urlopen` does. The main flow is green too (the hosted placement,
 * docs/placements.md): it fetches the site's front page itself before
 * handing the pages to the pool. The local site is async code
 * (local-http.ts) started on the same loop with `callAsync`.
 */
import { callAsync } from '../../src/bridge/index.js';
import { GreenPool, fetch, isMainGreenThread } from '../../src/green/index.js';
import { startLocalHttp } from './local-http.js';

/** Fetches `url` in a green thread: [url, body length]. */
export function fetchPage(url: string): [string, number] {
  console.log('opening', url);
  const body = fetch(url, { timeout: 10 }).bytes();
  console.log('done with', url);
  return [url, body.length];
}

if (isMainGreenThread()) {
  let urls = process.argv.slice(2);
  if (urls.length === 0) {
    const base = `http://127.0.0.1:${callAsync(startLocalHttp)}`;
    console.log('front page says:', fetch(base, { timeout: 10 }).text().trim());
    urls = [1, 2, 3, 5, 8, 13, 21, 34].map((n) => `${base}/pages/${n}`);
  }
  const pool = new GreenPool(200);
  let total = 0;
  for (const [url, length] of pool.imap(fetchPage, urls)) {
    console.log('got body from', url, 'of length', length);
    total += length;
  }
  console.log(`crawled ${urls.length} pages, ${total} bytes`);
}
