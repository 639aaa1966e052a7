/** examples/eventlet-style/echo.ts: eventlet's echoserver, a GreenPool thread per client. */
import { echoExampleTests } from './run-example.js';

describe('example: eventlet-style/echo', function () {
  this.timeout(90000);
  echoExampleTests('eventlet-style/echo.ts', 'hello | green world');
});
