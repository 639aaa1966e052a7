/**
 * The command line both chat server examples take, so tests and users can
 * run them: `[port] [--serve-for seconds]`. Port 0 (the default) picks a
 * free port; the server prints the one it got.
 */

export interface ChatOptions {
  /** The TCP port to listen on, 0 for any free one. */
  readonly port: number;
  /** Stop after this many seconds (null: serve until SIGTERM or SIGINT). */
  readonly serveFor: number | null;
}

/** Parses `args` (process.argv after the script); throws an Error naming a bad argument. */
export function parseChatOptions(args: readonly string[]): ChatOptions {
  let port = 0;
  let serveFor: number | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--serve-for') {
      serveFor = Number(args[++i]);
      if (!Number.isFinite(serveFor) || serveFor < 0) throw new Error(`--serve-for needs a number of seconds, got ${String(args[i])}`);
    } else if (/^\d+$/.test(arg) && Number(arg) < 65536) {
      port = Number(arg);
    } else {
      throw new Error(`usage: chat.ts [port] [--serve-for seconds]; unexpected ${JSON.stringify(arg)}`);
    }
  }
  return { port, serveFor };
}
