/**
 * Which scanned modules green threads load: the modules that use the green
 * API, and every scanned module they import by relative path, transitively.
 * A green thread imports its function's module in its own worker, and with
 * it that module's imports, so module-level state anywhere in that set
 * exists once per thread (module-state.ts).
 *
 * Specifiers resolve as TypeScript's and Node's ESM resolution would for a
 * project's own files: the path itself, a `.js`-family extension standing
 * for its TypeScript source, the path with a module extension added, or a
 * directory's `index`. Imports of packages are not followed.
 */
import path from 'node:path';

/** What the reach needs to know of one module. */
export interface ModuleLinks {
  /** Whether the module uses the green API. */
  readonly green: boolean;
  /** Its relative import specifiers. */
  readonly specifiers: readonly string[];
}

const SOURCE_FOR: Readonly<Record<string, readonly string[]>> = {
  '.js': ['.ts', '.tsx'],
  '.jsx': ['.tsx'],
  '.mjs': ['.mts'],
  '.cjs': ['.cts'],
};

/**
 * The absolute paths (keys of `modules`) of the modules green threads load;
 * `extensions`: the module extensions a specifier may leave out.
 */
export function modulesGreenThreadsLoad(modules: ReadonlyMap<string, ModuleLinks>, extensions: readonly string[]): Set<string> {
  const reached = new Set<string>();
  const pending = [...modules].filter(([, links]) => links.green).map(([file]) => file);
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (reached.has(file)) continue;
    reached.add(file);
    for (const specifier of modules.get(file)?.specifiers ?? []) {
      const target = resolveSpecifier(specifier, file, modules, extensions);
      if (target !== undefined && !reached.has(target)) pending.push(target);
    }
  }
  return reached;
}

function resolveSpecifier(
  specifier: string,
  fromFile: string,
  modules: ReadonlyMap<string, unknown>,
  extensions: readonly string[],
): string | undefined {
  const base = path.resolve(path.dirname(fromFile), specifier);
  const extension = path.extname(base);
  const stem = base.slice(0, base.length - extension.length);
  const candidates = [
    base,
    ...(SOURCE_FOR[extension] ?? []).map((source) => stem + source),
    ...extensions.map((added) => base + added),
    ...extensions.map((added) => path.join(base, `index${added}`)),
  ];
  return candidates.find((candidate) => modules.has(candidate));
}
