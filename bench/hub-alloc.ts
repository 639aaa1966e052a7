/**
 * What the hub's thread allocates per message, by function, while a green
 * echo server runs: the young-generation garbage that sets how often the
 * hub pauses to collect (each pause holds every connection's message).
 *
 *   npx tsx bench/hub-alloc.ts [--duration 4] [--size 100] [--connections 10] [--top 25]
 *
 * The green echo server (bench/echo-servers/green-echo.ts's handler, warm
 * workers as there) runs in this process, its hub on the main thread; the
 * load client runs in its own process.
 * After a warm-up of four runs of new connections, V8's sampling heap
 * profiler records every allocation site of the main thread, objects
 * already collected included, for `--duration` seconds of load. Printed:
 * bytes per message by function (the function that allocated, with its
 * file), against the messages echoed meanwhile.
 */
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, runClient } from './echo-harness.js';
import { handle } from './echo-servers/green-echo.js';
import { runWarmServer } from './echo-servers/green-server.js';

interface ProfileNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: ProfileNode[];
}

/** Resolves once something accepts connections on 127.0.0.1:`port`. */
async function listening(port: number): Promise<void> {
  for (;;) {
    const accepted = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => done(true)).once('error', () => done(false));
      socket.once('close', () => socket.destroy());
      socket.once('connect', () => socket.end());
    });
    if (accepted) return;
    await delay(100);
  }
}

/** Bytes allocated by each function of the profile (its own allocations, not its callees'). */
function bytesByFunction(root: ProfileNode): Map<string, number> {
  const bytes = new Map<string, number>();
  const visit = (node: ProfileNode): void => {
    const frame = node.callFrame;
    const file = frame.url.split('/').slice(-2).join('/');
    // By name and file: lines are those of the code as compiled, and inlined callees count as their caller.
    const key = `${frame.functionName || '(anonymous)'} ${file}`;
    bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
    for (const child of node.children) visit(child);
  };
  visit(root);
  return bytes;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '4' },
      size: { type: 'string', default: '100' },
      connections: { type: 'string', default: '10' },
      top: { type: 'string', default: '25' },
    },
  });
  const duration = Number(values.duration);
  const size = Number(values.size);
  const connections = Number(values.connections);
  const port = await freePort();
  // Serves until the process exits; on this thread, beside the client runs below.
  void runWarmServer(handle, port, connections);
  await listening(port);
  for (let run = 0; run < 4; run++) await runClient(port, connections, 0.5, size);

  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const result = await runClient(port, connections, duration, size);
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: ProfileNode } };
  session.disconnect();

  const bytes = bytesByFunction(profile.head);
  const total = [...bytes.values()].reduce((sum, value) => sum + value, 0);
  console.log(`\nhub allocations: green echo, ${connections} connections, ${size} B, ${duration} s, ${result.msgs.toLocaleString('en-US')} messages`);
  console.log(`all: ${Math.round(total / result.msgs).toLocaleString('en-US')} bytes per message (sampled)`);
  console.log('bytes/msg  function');
  for (const [name, value] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
    console.log(`${Math.round(value / result.msgs).toLocaleString('en-US').padStart(9)}  ${name}`);
  }
  process.exit(0);
}

await main();
