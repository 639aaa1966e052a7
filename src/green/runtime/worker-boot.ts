/**
 * How a green worker starts, and how it loads the application's modules.
 *
 * The entry is a plain `.mjs` file (worker-entry.mjs, next to this module
 * in src/ and in dist/) so that it loads without any TypeScript support.
 * When the application runs under tsx (its flags are in `process.execArgv`
 * or `NODE_OPTIONS`), or greenloop itself runs from its TypeScript sources,
 * the entry first calls `register()` from `tsx/esm/api`, then imports the
 * worker runtime; only then can the green functions' `.ts` modules load.
 * The parent's tsx flags are removed from the worker's execArgv: a worker
 * started with them still fails on `.ts` files (ERR_UNKNOWN_FILE_EXTENSION),
 * while an explicit `register()` works. Compiled JavaScript needs none of it.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread, workerData } from 'node:worker_threads';
import { RuntimeError } from '../../loop/errors.js';

const ownUrl = import.meta.url;
const runningFromSources = /\.[cm]?ts$/.test(new URL(ownUrl).pathname);

/** The worker's entry file. */
export const workerEntryUrl = new URL('./worker-entry.mjs', ownUrl);

/** The module the entry imports: the worker runtime, in the same form as this one. */
export const workerRuntimeUrl = new URL(`./worker-runtime.${runningFromSources ? 'ts' : 'js'}`, ownUrl).href;

/** The runtime of the worker hosting the hub of a hosted main thread (hosted-main.ts). */
export const workerHubRuntimeUrl = new URL(`./hosted-hub.${runningFromSources ? 'ts' : 'js'}`, ownUrl).href;

/**
 * What a worker loads before tsx's loader is registered: greenloop's own
 * compiled modules (the whole green API), when workers need tsx for the
 * application's TypeScript and greenloop itself is compiled JavaScript.
 * Loaded through tsx's hooks, each of greenloop's ~100 modules would cost
 * a round trip to tsx's loader thread; loaded first, by Node alone, they
 * are simply found in the module map when the user's module imports them.
 */
export function workerPreloadUrl(): string | null {
  if (runningFromSources || tsxApiUrl() === null) return null;
  return new URL('../index.js', ownUrl).href;
}

const TSX_FLAG = /(^|[\\/=\s])tsx([\\/]|$|\s)/;

/** Whether the parent process runs under tsx. */
export function parentUsesTsx(): boolean {
  return process.execArgv.some((arg) => TSX_FLAG.test(arg)) || TSX_FLAG.test(process.env.NODE_OPTIONS ?? '');
}

let tsxApi: string | null | undefined;

/** The URL of tsx's ESM registration API when workers need it, else null. */
export function tsxApiUrl(): string | null {
  if (tsxApi !== undefined) return tsxApi;
  // A greenloop worker that starts workers of its own (the hub of a hosted
  // main thread) passes on what it was given: its own execArgv has no tsx
  // flags left to look at.
  const inherited = inheritedTsxApiUrl();
  if (inherited !== undefined) return (tsxApi = inherited);
  if (!runningFromSources && !parentUsesTsx()) return (tsxApi = null);
  tsxApi = resolveTsx();
  if (tsxApi === null && runningFromSources) {
    throw new RuntimeError('greenloop runs from its TypeScript sources, but tsx cannot be found for its workers');
  }
  return tsxApi;
}

/** The tsx API URL this greenloop worker was booted with, or undefined outside one. */
function inheritedTsxApiUrl(): string | null | undefined {
  if (isMainThread) return undefined;
  const boot = workerData as { greenloopWorker?: boolean; tsxApiUrl?: string | null } | null;
  if (boot === null || typeof boot !== 'object' || boot.greenloopWorker !== true) return undefined;
  return boot.tsxApiUrl ?? null;
}

/**
 * tsx's ESM API, found through tsx's package.json from greenloop's location
 * or the application's: the ESM entry of `tsx/esm/api` explicitly, since
 * resolving the specifier under a loader may pick its CommonJS entry.
 */
function resolveTsx(): string | null {
  for (const base of [fileURLToPath(ownUrl), join(process.cwd(), 'noop.js')]) {
    try {
      const manifestPath = createRequire(base).resolve('tsx/package.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports?: Record<string, unknown> };
      const entry = esmEntry(manifest.exports?.['./esm/api']);
      if (entry !== null) return pathToFileURL(join(dirname(manifestPath), entry)).href;
    } catch {
      // Not found from there: try the next place.
    }
  }
  return null;
}

/** The `import` entry of an exports-map target (string or nested conditions). */
function esmEntry(target: unknown): string | null {
  if (typeof target === 'string') return target;
  if (target === null || typeof target !== 'object') return null;
  const conditions = target as Record<string, unknown>;
  return esmEntry(conditions.import) ?? esmEntry(conditions.default);
}

let execArgv: string[] | undefined | null = null;

/**
 * The execArgv for a new worker: the parent's without its tsx flags (a flag
 * and its value may be one arg or two), or undefined to inherit them all
 * when there is nothing to remove.
 */
export function workerExecArgv(): string[] | undefined {
  if (execArgv !== null) return execArgv;
  const args = process.execArgv;
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const takesValue = /^--(import|require|loader|experimental-loader)$/.test(arg) || arg === '-r';
    if (takesValue && i + 1 < args.length && TSX_FLAG.test(args[i + 1])) {
      i++;
      continue;
    }
    if (/^--(import|require|loader|experimental-loader)=/.test(arg) && TSX_FLAG.test(arg)) continue;
    kept.push(arg);
  }
  execArgv = kept.length === args.length ? undefined : kept;
  return execArgv;
}

/**
 * Drops the flags a worker refused (ERR_WORKER_INVALID_EXEC_ARGV lists
 * them: process-wide options such as --expose-gc cannot be given to a
 * worker explicitly, though inheriting them is fine). True if any was.
 */
export function dropRefusedExecArgv(error: unknown): boolean {
  if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || execArgv === undefined || execArgv === null) {
    return false;
  }
  const refused = new Set(
    String((error as Error).message)
      .replace(/^[^:]*:\s*/, '')
      .split(/,\s*/),
  );
  const kept = execArgv.filter((arg) => !refused.has(arg) && !refused.has(arg.split('=')[0]));
  if (kept.length === execArgv.length) return false;
  execArgv = kept;
  return true;
}
