/**
 * Loading greenloop/green on a program's own thread says that green threads
 * will run there: one worker starts in the background once the program's
 * top-level code has run (or awaits), so that the first spawn finds it warm
 * instead of paying a worker's start (see the README's figures).
 *
 * Not with the bridge off, not in green workers, and not in a hosted program
 * (whose main flow is green: its hub warms a worker of its own pool).
 */
import { setImmediate } from 'node:timers';
import { isMainThread } from 'node:worker_threads';
import { bridgeEnabled, hostedHubStarted, settings, warmAhead } from './runtime/index.js';

if (isMainThread) {
  setImmediate(() => {
    if (bridgeEnabled() && settings.hub !== 'worker' && !hostedHubStarted()) warmAhead();
  }).unref();
}
