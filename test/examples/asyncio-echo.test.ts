/** examples/asyncio-style/echo.ts: the same echo server with streams, a task per client. */
import { echoExampleTests } from './run-example.js';

describe('example: asyncio-style/echo', function () {
  this.timeout(90000);
  echoExampleTests('asyncio-style/echo.ts', 'hello | async world');
});
