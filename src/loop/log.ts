/**
 * The logger the loop reports through (asyncio's `logging.getLogger('asyncio')`).
 *
 * It writes to the console by default. Replace its methods, or call
 * `setLogger()`, to route the loop's reports elsewhere.
 */
export interface Logger {
  error(message: string): void;
  warning(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

const consoleLogger: Logger = {
  error: (message) => console.error(message),
  warning: (message) => console.warn(message),
  info: (message) => console.info(message),
  debug: (message) => console.debug(message),
};

/** The active logger; its methods may be replaced (e.g. stubbed in tests). */
export const logger: Logger = { ...consoleLogger };

/** Routes every later report to `target`; `null` restores the console. */
export function setLogger(target: Logger | null): void {
  Object.assign(logger, target ?? consoleLogger);
}
