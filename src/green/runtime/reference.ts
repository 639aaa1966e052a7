/**
 * Functions cross threads by module reference: the module's URL and the
 * function's name, found from the function object itself.
 *
 * Threads share no memory, so a function that must run on another thread
 * (a green thread's body, an async function run on the hub, an executor
 * call) is found there by importing its module and looking the function up
 * among the exports. On the thread that holds the function object, V8's
 * inspector gives its module's URL and tells a top-level function from a
 * closure, a method or a nested function, and the module's source tells
 * whether it is exported (those fail at once with NotModuleLevelError,
 * before any other thread imports the module); see introspect.ts and
 * source-exports.ts.
 *
 * `resolveRef` finds the function again on another thread: the export of
 * that name, or else an export whose function has that name (so
 * `export default f` and `export { f as g }` work too). Names, not source
 * text, identify it: the other thread may load the module in another form
 * (a test runner may transpile it to CommonJS on one side only). It uses the
 * module instance this thread already has when it can: a CommonJS instance,
 * or, for a module still running its top-level code (the program's entry
 * module, awaiting its main task), a sibling function seen before, whose
 * module scope holds the others; `import()` of such a module would wait for
 * it to finish.
 *
 * Both directions are cached per function: only the first use of a
 * function pays (about a millisecond, a few more to map a new script).
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { NotModuleLevelError } from './errors.js';
import { locateFunction, moduleFunction } from './introspect.js';
import { mayExport } from './source-exports.js';

/** Any function (what `typeof x === 'function'` admits). */
export type AnyFunction = (...args: never[]) => unknown;

/** A module-level function, as it crosses threads. */
export interface FunctionRef {
  /** The URL of the module that defines it. */
  readonly url: string;
  /** Its name (`fn.name`). */
  readonly name: string;
}

const CROSSING_RULE =
  'green threads share no memory, so a function that runs on another thread is imported there by module ' +
  'reference: export it at the top level of its module and pass what it needs as arguments';

const refs = new WeakMap<object, FunctionRef>();
/** A top-level function seen on this thread, per module URL: its scope reaches the others. */
const anchors = new Map<string, WeakRef<AnyFunction>>();

/**
 * The reference of `fn`, a module-level function; NotModuleLevelError for a
 * closure, a method, a bound, anonymous or built-in function. `role` says
 * what the function is for, in error messages (e.g. 'the spawn() target').
 */
export function functionRef(fn: unknown, role: string): FunctionRef {
  if (typeof fn !== 'function') {
    throw new TypeError(`${role} must be a module-level function, got ${fn === null ? 'null' : typeof fn}`);
  }
  const cached = refs.get(fn);
  if (cached !== undefined) return cached;
  const name = fn.name;
  if (name === '' || name.startsWith('bound ')) {
    throw new NotModuleLevelError(`${role} is ${name === '' ? 'an anonymous' : 'a bound'} function; ${CROSSING_RULE}`);
  }
  const location = locateFunction(fn as AnyFunction);
  if (location === null) throw new NotModuleLevelError(`${role} ${name}() is a built-in function; ${CROSSING_RULE}`);
  if (location.url === '') {
    throw new NotModuleLevelError(`${role} ${name}() comes from code evaluated from a string; ${CROSSING_RULE}`);
  }
  if (location.moduleLevel === false) {
    throw new NotModuleLevelError(
      `${role} ${name}() is not a module-level function of ${location.url} (a closure, a method or a nested ` +
        `function); ${CROSSING_RULE}`,
    );
  }
  if (!mayExport(location.url, name)) {
    throw new NotModuleLevelError(
      `${role} ${name}() is not exported by ${location.url}: export it from the top level of its module ` +
        `(\`export function ${name}\`); ${CROSSING_RULE}`,
    );
  }
  const ref: FunctionRef = { url: location.url, name };
  refs.set(fn, ref);
  if (location.moduleLevel === true) anchors.set(location.url, new WeakRef(fn as AnyFunction));
  resolved.set(keyOf(ref), fn as AnyFunction);
  return ref;
}

// ---- resolving -------------------------------------------------------------------

const resolved = new Map<string, AnyFunction>();
const imports = new Map<string, Promise<Record<string, unknown>>>();
const requireCache = createRequire(import.meta.url).cache;

function keyOf(ref: FunctionRef): string {
  return `${ref.url}#${ref.name}`;
}

/** The function `ref` names, on this thread (imported if need be; cached). */
export async function resolveRef(ref: FunctionRef): Promise<AnyFunction> {
  const key = keyOf(ref);
  const known = resolved.get(key) ?? fromLoadedModule(ref);
  if (known !== null && known !== undefined) {
    resolved.set(key, known);
    return known;
  }
  if (isEntryModule(ref.url)) {
    throw new NotModuleLevelError(
      `${ref.name}() is in the program's entry module ${ref.url}, which is still running its top-level code, ` +
        `so it cannot be imported yet: move ${ref.name}() to another module`,
    );
  }
  const fn = findExport(await importModule(ref.url), ref);
  if (fn === null) throw new NotModuleLevelError(`${ref.name}() is not exported by ${ref.url}; ${CROSSING_RULE}`);
  resolved.set(key, fn);
  return fn;
}

/** The function `ref` names if this thread can find it without importing, else null. */
export function resolveRefSync(ref: FunctionRef): AnyFunction | null {
  const key = keyOf(ref);
  const fn = resolved.get(key) ?? fromLoadedModule(ref);
  if (fn !== null) resolved.set(key, fn);
  return fn;
}

/** `ref` in a module instance this thread already has: CommonJS, or reached from an anchor. */
function fromLoadedModule(ref: FunctionRef): AnyFunction | null {
  const commonJs = loadedAsCommonJs(ref.url);
  if (commonJs !== null) return findExport(commonJs, ref);
  const anchor = anchors.get(ref.url)?.deref();
  return anchor === undefined ? null : moduleFunction(anchor, ref.name);
}

function importModule(url: string): Promise<Record<string, unknown>> {
  let namespace = imports.get(url);
  if (namespace === undefined) {
    namespace = import(url) as Promise<Record<string, unknown>>;
    imports.set(url, namespace);
    namespace.catch(() => imports.delete(url));
  }
  return namespace;
}

/**
 * The exports of the module at `url` if this thread loaded it as CommonJS
 * (a test runner may transpile TypeScript to CommonJS on the fly). That
 * instance is the one the rest of the thread uses; `import()` would load a
 * second one, with its own state.
 */
function loadedAsCommonJs(url: string): Record<string, unknown> | null {
  if (!url.startsWith('file:')) return null;
  const cached = requireCache[fileURLToPath(url)];
  return cached?.loaded === true ? (cached.exports as Record<string, unknown>) : null;
}

/** Whether `url` is the program's entry module, on the main thread. */
function isEntryModule(url: string): boolean {
  const entry = process.argv[1];
  return isMainThread && entry !== undefined && url === pathToFileURL(resolve(entry)).href;
}

function findExport(namespace: Record<string, unknown>, ref: FunctionRef): AnyFunction | null {
  const named = namespace[ref.name];
  if (typeof named === 'function') return named as AnyFunction;
  const matches = (value: unknown): value is AnyFunction => typeof value === 'function' && value.name === ref.name;
  for (const value of Object.values(namespace)) if (matches(value)) return value;
  // A CommonJS module's exports object is the namespace's default.
  const exportsObject = namespace.default;
  if (exportsObject !== null && (typeof exportsObject === 'object' || typeof exportsObject === 'function')) {
    for (const value of Object.values(exportsObject)) if (matches(value)) return value;
  }
  return null;
}
