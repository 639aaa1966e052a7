/**
 * `npm start`: one service migrated from eventlet style to asyncio style
 * in steps, each run as its own process behind one listening socket and
 * served the same scripted client. Prints, per step, which routes are
 * green and which async, requests served, errors, latency and the
 * migration report's count of green API uses (falling to 0).
 *
 *   npm start   (npx tsx examples/mixed/main.ts)
 */
import { runClient, percentile } from './client.js';
import { greenUses, startStep, STEPS, stopStep } from './steps.js';

const CONNECTIONS = 4;
const REQUESTS = 100;

interface Row {
  step: string;
  green: string;
  async: string;
  served: string;
  errors: string;
  p50: string;
  p99: string;
  report: string;
}

const HEADERS: Row = { step: 'step', green: 'green routes', async: 'async routes', served: 'served', errors: 'errors', p50: 'p50 ms', p99: 'p99 ms', report: 'green uses' };

function render(rows: readonly Row[]): string {
  const keys = Object.keys(HEADERS) as (keyof Row)[];
  const widths = keys.map((key) => Math.max(...[HEADERS, ...rows].map((row) => row[key].length)));
  return [HEADERS, ...rows].map((row) => keys.map((key, i) => row[key].padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<number> {
  const rows: Row[] = [];
  let failures = 0;
  for (const step of STEPS) {
    const running = await startStep(step);
    const [, green, async] = /green=(\S+) async=(\S+)/.exec(running.ready) ?? ['', '?', '?'];
    // A short warm-up first, as a service warms up before it takes traffic (green workers start cold).
    const warmup = await runClient(running.port, { connections: CONNECTIONS, requests: 5, timeout: 60 });
    const stats = await runClient(running.port, { connections: CONNECTIONS, requests: REQUESTS });
    await stopStep(running);
    stats.errors += warmup.errors;
    stats.errorMessages.push(...warmup.errorMessages);
    const problems = stats.errors + (running.stderr().trim() === '' ? 0 : 1);
    failures += problems;
    console.log(`${step.name}: ${step.summary}`);
    for (const message of stats.errorMessages) console.log(`  error: ${message}`);
    if (running.stderr().trim() !== '') console.log(`  stderr: ${running.stderr().trim()}`);
    rows.push({
      step: step.name,
      green,
      async,
      served: String(stats.served),
      errors: String(stats.errors),
      p50: (percentile(stats.latenciesUs, 0.5) / 1000).toFixed(2),
      p99: (percentile(stats.latenciesUs, 0.99) / 1000).toFixed(2),
      report: String(greenUses(step)),
    });
  }
  console.log(`\n${CONNECTIONS} connections x ${REQUESTS} requests per step (after a warm-up), one listening socket per step\n`);
  console.log(render(rows));
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
