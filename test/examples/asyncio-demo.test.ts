/** examples/asyncio-style/demo.ts: streams, TaskGroup, timeout and Queue in one program. */
import { expect } from 'chai';
import { runExample } from './run-example.js';

describe('example: asyncio-style/demo', function () {
  this.timeout(90000);

  it('serves three clients with upper-cased echoes, cuts a sleep with timeout(), and closes', async () => {
    const lines = (await runExample('asyncio-style/demo.ts')).stdout.trim().split('\n');
    expect(lines[0]).to.match(/^echo server on 127\.0\.0\.1:\d+$/);
    for (const client of [1, 2, 3]) {
      const got = lines.filter((line) => line.startsWith(`  client ${client} got`));
      expect(got, lines.join('\n')).to.deep.equal([
        `  client ${client} got "HELLO"`,
        `  client ${client} got "FROM"`,
        `  client ${client} got "CLIENT ${client}"`,
      ]);
    }
    expect(lines.slice(-2)).to.deep.equal(['a 10 s sleep was cut short by timeout(0.05)', 'server closed; done']);
  });
});
