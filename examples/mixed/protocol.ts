/**
 * The mixed service's protocol and business logic, shared by every step of
 * its migration: pure functions, no I/O, so they never need migrating.
 *
 * A client connects, sends the name of a route on the first line, then one
 * request per line; the service answers each line with one line, and
 * closes once the client half-closes. Four routes, two groups: the
 * catalogue (`price`, `stock`) and the utilities (`echo`, `upper`).
 */

/** The routes step 1 migrates first. */
export const CATALOGUE: readonly string[] = ['price', 'stock'];
/** The routes still green in step 1. */
export const UTILITY: readonly string[] = ['echo', 'upper'];
export const ROUTES: readonly string[] = [...CATALOGUE, ...UTILITY];

/** Seconds a catalogue lookup waits on the "database". */
export const DB_LATENCY = 0.001;
/** Seconds a connection may stay idle before the service closes it. */
export const IDLE_TIMEOUT = 30;

const PRICES: Readonly<Record<string, number>> = { apples: 3, pears: 4, plums: 7, figs: 12 };

/** The reply line (with its '\n') to request `line` on `route`. */
export function answer(route: string, line: string): string {
  const text = line.replace(/\r?\n$/, '');
  switch (route) {
    case 'price':
      return text in PRICES ? `${text}: ${PRICES[text]} EUR\n` : `${text}: unknown\n`;
    case 'stock':
      return `${text}: ${(text.length * 7) % 50} in stock\n`;
    case 'echo':
      return `${text}\n`;
    case 'upper':
      return `${text.toUpperCase()}\n`;
    default:
      return `error: unknown route ${JSON.stringify(route)}\n`;
  }
}

/** The port a step listens on: its first argument, or any free port. */
export function portArgument(): number {
  const port = Number(process.argv[2] ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be 0-65535, got ${process.argv[2]}`);
  return port;
}

/** The line every step prints once it accepts connections (the runners wait for it). */
export function readyLine(step: string, port: number, green: readonly string[], async: readonly string[]): string {
  const list = (routes: readonly string[]): string => (routes.length === 0 ? '-' : routes.join(','));
  return `ready: ${step} listening on 127.0.0.1:${port} green=${list(green)} async=${list(async)}`;
}
