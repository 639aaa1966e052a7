/**
 * Helpers of debug mode: where objects were created, and how to print them.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * greenloop's own code (`src/` or `dist/`, one level up from this module):
 * its frames are left out of creation sites, whatever the user's folders
 * are named.
 */
const OWN_DIR = fileURLToPath(new URL('..', import.meta.url));
const OWN_URL = pathToFileURL(OWN_DIR).href;

/** Whether new loops start in debug mode (`GREENLOOP_DEBUG=1`). */
export function debugFromEnvironment(): boolean {
  const value = process.env.GREENLOOP_DEBUG;
  return value !== undefined && value !== '' && value !== '0';
}

/**
 * The stack at the caller, minus greenloop's own frames (of every layer:
 * a task that `callAsync` starts was created by the hub, not by the user),
 * as asyncio's `source_traceback`: the lines that say where an object was created.
 */
export function extractStack(): string[] {
  const stack = new Error().stack ?? '';
  return stack
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => !line.includes(OWN_DIR) && !line.includes(OWN_URL));
}

/** A short description of a function for log lines: its name, or 'anonymous'. */
export function describeCallback(callback: unknown): string {
  if (typeof callback !== 'function') return String(callback);
  return callback.name !== '' ? `${callback.name}()` : '<anonymous>()';
}

/** A short, safe description of any value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: string } }).constructor;
    return `<${ctor?.name ?? 'Object'} object>`;
  }
  return String(value);
}
