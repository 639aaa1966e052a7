/**
 * greenloop's main demo: an asyncio-style service and legacy green code on
 * one loop, in one process.
 *
 * - The price service is migrated code: an async streams server.
 * - The report is still green: blocking sockets and a GreenPool in green
 *   threads (examples/mixed/legacy.ts), started from async code with
 *   runGreen and awaited like a task.
 * - Cancellation crosses the bridge: a timeout on the awaiting task kills
 *   the green thread it waits for.
 *
 *   npm start   (npx tsx examples/mixed/main.ts)
 */
import { run, startServer, waitFor, TimeoutError, type StreamReader, type StreamWriter } from '../../src/loop/index.js';
import { runGreen, shutdownWorkers } from '../../src/bridge/index.js';
import { isMainGreenThread } from '../../src/green/index.js';
import { priceReport, slowJob } from './legacy.js';

const PRICES: Record<string, number> = { apples: 3, pears: 4, plums: 7, figs: 12 };

/** The migrated service: one price per line asked. */
async function priceService(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for await (const line of reader) {
    const item = line.toString().trim();
    await new Promise((resolve) => setTimeout(resolve, 20)); // a little "database" latency
    writer.write(item in PRICES ? `${PRICES[item]} EUR\n` : 'unknown\n');
    await writer.drain();
  }
  writer.close();
}

async function main(): Promise<void> {
  const server = await startServer(priceService, '127.0.0.1', 0);
  const { port } = server.address() as { port: number };
  console.log(`async price service on 127.0.0.1:${port}`);

  const started = Date.now();
  const report = await runGreen(priceReport, port, Object.keys(PRICES).concat('kiwis'));
  console.log(`green report (GreenPool of 4, blocking sockets) in ${Date.now() - started} ms:`);
  for (const line of report) console.log(`  ${line}`);

  try {
    await waitFor(runGreen(slowJob, 30), 0.2);
  } catch (err) {
    if (err instanceof TimeoutError) console.log('waitFor(0.2) on a 30 s green job: TimeoutError, green thread killed');
  }

  server.close();
  await server.waitClosed();
  await shutdownWorkers();
  console.log('done');
}

if (isMainGreenThread()) await run(main);
