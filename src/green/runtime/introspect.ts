/**
 * What V8's inspector tells about a function object, in-process and
 * synchronously (the in-process session answers before `post` returns):
 * - where it is defined: `[[FunctionLocation]]` gives its script id, and
 *   best-effort coverage (or, failing that, the debugger's script list)
 *   maps ids to URLs;
 * - whether it is a top-level binding of its module, from its `[[Scopes]]`;
 * - the module's other top-level functions, found through the same scope.
 *
 * The debugger is never left enabled: while enabled it slows the whole
 * thread down several times.
 */
import { Session } from 'node:inspector';
import { pathToFileURL } from 'node:url';
import type { AnyFunction } from './reference.js';

interface RemoteObject {
  type: string;
  description?: string;
  objectId?: string;
  value?: unknown;
}

interface PropertyDescriptor {
  name: string;
  value?: RemoteObject;
}

export interface FunctionLocation {
  /** The module's URL (`file:` for CommonJS paths too), or '' if the script has none. */
  url: string;
  /** true: a top-level binding of its module; false: certainly not; null: cannot tell (see isModuleBinding). */
  moduleLevel: boolean | null;
}

const PROBE = Symbol.for('greenloop.introspect.probe');
const PROBE_EXPRESSION = 'globalThis[Symbol.for("greenloop.introspect.probe")]';
const GROUP = 'greenloop.introspect';
const holder = globalThis as unknown as Record<symbol, unknown>;

let session: Session | null = null;
const scriptUrls = new Map<string, string>();

/** Where `fn` is defined, or null for a function without source (built-in, bound). */
export function locateFunction(fn: AnyFunction): FunctionLocation | null {
  return withRemote(fn, (remote, internal) => {
    const location = internal.find((p) => p.name === '[[FunctionLocation]]')?.value?.value as
      | { scriptId: string }
      | undefined;
    if (location === undefined) return null;
    const scope = moduleScope(internal);
    return {
      url: scriptUrl(location.scriptId),
      moduleLevel: scope === undefined ? null : scope === null ? false : hasBinding(scope, remote),
    };
  });
}

/**
 * The top-level function named `name` in the module that defines `sibling`
 * (itself a top-level function of it), or null. Reads the module's scope,
 * so it works while the module is still running its top-level code, when
 * `import()` of it would wait for that code to finish.
 */
export function moduleFunction(sibling: AnyFunction, name: string): AnyFunction | null {
  return withRemote(sibling, (_remote, internal) => {
    const scope = moduleScope(internal);
    if (scope === undefined || scope === null) return null;
    const bindings = properties(scope);
    const binding = bindings.find((p) => p.name === name && p.value?.type === 'function')?.value;
    if (binding?.objectId === undefined) return null;
    post('Runtime.callFunctionOn', {
      objectId: binding.objectId,
      functionDeclaration: `function () { ${PROBE_EXPRESSION} = this; }`,
    });
    const found = holder[PROBE];
    return typeof found === 'function' ? (found as AnyFunction) : null;
  });
}

// ---- internals -----------------------------------------------------------------

/** Calls an inspector method synchronously. */
function post<T>(method: string, params?: Record<string, unknown>): T {
  if (session === null) {
    session = new Session();
    session.connect();
  }
  let result: unknown;
  let failure: Error | null = null;
  session.post(method, params, (error: Error | null, value?: unknown) => {
    failure = error;
    result = value;
  });
  if (failure !== null) throw failure;
  return result as T;
}

/** Runs `use` with `fn` as a remote object and its internal properties; releases them after. */
function withRemote<T>(fn: AnyFunction, use: (remote: RemoteObject, internal: PropertyDescriptor[]) => T): T {
  holder[PROBE] = fn;
  try {
    const { result: remote } = post<{ result: RemoteObject }>('Runtime.evaluate', {
      expression: PROBE_EXPRESSION,
      objectGroup: GROUP,
    });
    const { internalProperties = [] } = post<{ internalProperties?: PropertyDescriptor[] }>('Runtime.getProperties', {
      objectId: remote.objectId,
      ownProperties: true,
    });
    return use(remote, internalProperties);
  } finally {
    delete holder[PROBE];
    post('Runtime.releaseObjectGroup', { objectGroup: GROUP });
  }
}

function properties(object: RemoteObject): PropertyDescriptor[] {
  return post<{ result: PropertyDescriptor[] }>('Runtime.getProperties', {
    objectId: object.objectId,
    ownProperties: true,
  }).result;
}

/**
 * The module's own scope if it is the function's innermost one: `Module`
 * for an ES module, or the anonymous `Closure` of a CommonJS module wrapper.
 * A function nested in another has that function's scope innermost
 * (`Closure (outer)`, `Local`, `Block`...): null. A function that uses
 * nothing of its module may show only the global scope: undefined, cannot tell.
 */
function moduleScope(internal: PropertyDescriptor[]): RemoteObject | null | undefined {
  const list = internal.find((p) => p.name === '[[Scopes]]')?.value;
  if (list?.objectId === undefined) return undefined;
  const innermost = properties(list).find((p) => p.name === '0')?.value;
  const kind = innermost?.description ?? '';
  if (kind === 'Global' || kind === 'Script') return undefined;
  if ((kind !== 'Module' && kind !== 'Closure') || innermost?.objectId === undefined) return null;
  return innermost;
}

/** Whether `scope` has a binding holding the very function `fn`. */
function hasBinding(scope: RemoteObject, fn: RemoteObject): boolean {
  for (const binding of properties(scope)) {
    const value = binding.value;
    if (value?.type !== 'function' || value.description !== fn.description || value.objectId === undefined) continue;
    const same = post<{ result: RemoteObject }>('Runtime.callFunctionOn', {
      objectId: value.objectId,
      functionDeclaration: 'function (other) { return this === other; }',
      arguments: [{ objectId: fn.objectId }],
      returnByValue: true,
    });
    if (same.result.value === true) return true;
  }
  return false;
}

/** The URL of a script, as a URL (`file:` for CommonJS paths too); '' if it has none. */
function scriptUrl(scriptId: string): string {
  if (!scriptUrls.has(scriptId)) collectFromCoverage();
  if (!scriptUrls.has(scriptId)) collectFromDebugger();
  const url = scriptUrls.get(scriptId) ?? '';
  if (url === '' || /^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
  return pathToFileURL(url).href;
}

/**
 * Best-effort coverage lists every script whose code ran (a module's top
 * level always did), without enabling the debugger.
 */
function collectFromCoverage(): void {
  const { result } = post<{ result: { scriptId: string; url: string }[] }>('Profiler.getBestEffortCoverage');
  for (const script of result) scriptUrls.set(script.scriptId, script.url);
}

/** The fallback: enabling the debugger replays every parsed script; disable it at once. */
function collectFromDebugger(): void {
  const onParsed = (message: { params: { scriptId: string; url: string } }): void => {
    scriptUrls.set(message.params.scriptId, message.params.url);
  };
  const current = session as Session;
  current.on('Debugger.scriptParsed', onParsed);
  try {
    post('Debugger.enable');
  } finally {
    post('Debugger.disable');
    current.off('Debugger.scriptParsed', onParsed);
  }
}
