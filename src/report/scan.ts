/**
 * The migration report: every use of the green API in a project's modules,
 * by file, and the share of modules already migrated.
 *
 * What counts as green: anything from `greenloop/green`, and the bridge
 * helpers only green code needs from `greenloop/bridge` (`runGreen`,
 * `callAsync`, `runAsync`, and the hand-over's `handOver`,
 * `toStreams`, `toGreenSocket`; `configure` and the rest of the bridge
 * stay after the migration). Relative imports that land in
 * greenloop's own `src/green` or `dist/green` (its examples and tests) count
 * as `greenloop/green`, and likewise for `src/bridge` and `dist/bridge`.
 *
 * A use is every place a module names the green API: the import, re-export,
 * `require()` or `import()` that brings it in, and each reference to a name
 * bound that way. References are resolved by scope, so a local that shadows
 * `spawn` is not a use; comments, strings and JSDoc never count. A module is
 * migrated when it has no use.
 *
 * Modules are parsed with the TypeScript compiler API, which reads every
 * dialect the report covers (.ts .tsx .mts .cts .js .jsx .mjs .cjs). The
 * compiler is greenloop's own dependency, pinned to a major release that has
 * the JavaScript compiler API, and is resolved from greenloop's location,
 * never from the project's: a project on another TypeScript (TypeScript 7
 * has no JavaScript API) gets greenloop's copy beside its own. It is loaded
 * on the first scan (never when `greenloop/bridge` is imported); when it
 * cannot be loaded a scan throws `TypeScriptUnavailableError`, which says
 * what was found.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TS from 'typescript';
import { GreenloopError } from '../loop/errors.js';
import { modulesGreenThreadsLoad } from './green-reach.js';
import { ModuleScan, type GreenEntryPoint, type GreenUse } from './green-uses.js';
import { findModuleState, relativeSpecifiers, type ModuleStateFinding } from './module-state.js';

export { GREEN_BRIDGE_HELPERS, type GreenEntryPoint, type GreenUse, type GreenUseKind } from './green-uses.js';
export type { ModuleStateFinding, ModuleStateKind } from './module-state.js';

type TypeScript = typeof TS;

/** The uses found in one module. */
export interface ModuleReport {
  /** The module's path relative to the scan's `cwd`, with `/` separators. */
  file: string;
  /** True when the module has no green use. */
  migrated: boolean;
  /** Its green uses, in source order. */
  uses: GreenUse[];
  /**
   * Its module-level mutable state, which green threads do not share (one
   * copy per thread), when green threads load the module (it uses the green
   * API, or a module that does imports it, transitively); else empty.
   */
  moduleState: ModuleStateFinding[];
}

/** The report over every module scanned. */
export interface MigrationReport {
  /** Every module scanned, migrated or not, sorted by path. */
  modules: ModuleReport[];
  moduleCount: number;
  migratedCount: number;
  /** `migratedCount / moduleCount` in whole percent, rounded down (100 when no module was found). */
  percentMigrated: number;
  /** Green uses over all modules. */
  greenUseCount: number;
  /** Module-level mutable state findings over all modules (see `ModuleReport.moduleState`). */
  moduleStateCount: number;
}

export interface ScanOptions {
  /** The directory relative paths (arguments, shown paths) are relative to; default `process.cwd()`. */
  cwd?: string;
  /** Directories whose modules count as `greenloop/green` when imported by relative path or file URL; default greenloop's own `src/green` and `dist/green`. */
  greenDirs?: readonly string[];
  /** Likewise for `greenloop/bridge`; default greenloop's own `src/bridge` and `dist/bridge`. */
  bridgeDirs?: readonly string[];
}

/** The file extensions of the modules a scan reads (declaration files are skipped). */
export const MODULE_EXTENSIONS: readonly string[] = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

/** Directories a scan does not enter (nor any whose name starts with a dot). */
export const SKIPPED_DIRECTORIES: readonly string[] = ['node_modules', 'dist', 'build'];

/** The releases of `typescript` greenloop depends on (package.json's `dependencies`): the last major with the JavaScript API. */
const TYPESCRIPT_RANGE = '^6.0.3';

/**
 * A path given to `scanProject` does not exist or is not a module or
 * directory, or a module found cannot be read or parsed (`cause` says why).
 */
export class ReportPathError extends GreenloopError {
  /** The path as given, or the module's path as shown in the report. */
  readonly path: string;

  constructor(givenPath: string, problem: string, cause?: unknown) {
    super(`${problem}: ${givenPath}`, cause === undefined ? undefined : { cause });
    this.name = 'ReportPathError';
    this.path = givenPath;
  }
}

/**
 * The TypeScript compiler, which the report parses modules with, could not
 * be loaded from greenloop's installation: missing (an install that left out
 * greenloop's dependencies), or a release without the JavaScript compiler
 * API. The message says which.
 */
export class TypeScriptUnavailableError extends GreenloopError {
  constructor(problem: string, cause?: unknown) {
    super(
      `the migration report parses modules with the TypeScript compiler API, which greenloop depends on ` +
        `(typescript ${TYPESCRIPT_RANGE}), but ${problem}; reinstall greenloop with its dependencies ` +
        `(npm install greenloop) so that its own copy of typescript ${TYPESCRIPT_RANGE} is installed beside it`,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'TypeScriptUnavailableError';
  }
}

/**
 * Scans the modules under `paths` (files or directories, relative to
 * `options.cwd`; default the current directory). Directories are walked
 * recursively, skipping `node_modules`, `dist`, hidden directories, symbolic
 * links and declaration files. A path given twice, or inside another, is
 * scanned once. Throws `ReportPathError` for a path that does not exist or
 * is a file of another kind, `TypeScriptUnavailableError` without the
 * compiler. Reads files; writes nothing.
 */
export function scanProject(paths: readonly string[] = [], options: ScanOptions = {}): MigrationReport {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const scanner = moduleScanner({ ...options, cwd });
  const scans = new Map<string, ModuleScanResult>();
  for (const file of collectModules(paths.length === 0 ? ['.'] : paths, cwd)) {
    scans.set(file, scanFile(scanner, file, displayPath(file, cwd)));
  }
  const links = new Map([...scans].map(([file, scan]) => [file, { green: scan.uses.length > 0, specifiers: scan.specifiers }]));
  const loadedByGreen = modulesGreenThreadsLoad(links, MODULE_EXTENSIONS);
  const modules = [...scans].map(([file, { uses, moduleState }]): ModuleReport => ({
    file: displayPath(file, cwd),
    migrated: uses.length === 0,
    uses,
    moduleState: loadedByGreen.has(file) ? moduleState : [],
  }));
  modules.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return summarize(modules);
}

/**
 * The green uses in one module's source text, in source order. `fileName`
 * (relative to `options.cwd`) picks the dialect by its extension (TypeScript
 * if unknown) and anchors relative imports; the file is not read.
 */
export function scanSource(text: string, fileName: string, options: ScanOptions = {}): GreenUse[] {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  return moduleScanner({ ...options, cwd })(text, path.resolve(cwd, fileName)).uses;
}

/** Scans one file; a file that cannot be read or parsed fails the whole report, naming the file. */
function scanFile(scanner: ReturnType<typeof moduleScanner>, file: string, shown: string): ModuleScanResult {
  try {
    return scanner(readFileSync(file, 'utf8'), file);
  } catch (error) {
    if (error instanceof TypeScriptUnavailableError) throw error;
    throw new ReportPathError(shown, `cannot scan (${error instanceof Error ? error.message : String(error)})`, error);
  }
}

/** Builds the report's totals from the modules' uses. */
function summarize(modules: ModuleReport[]): MigrationReport {
  const migratedCount = modules.filter((module) => module.migrated).length;
  return {
    modules,
    moduleCount: modules.length,
    migratedCount,
    percentMigrated: modules.length === 0 ? 100 : Math.floor((migratedCount * 100) / modules.length),
    greenUseCount: modules.reduce((sum, module) => sum + module.uses.length, 0),
    moduleStateCount: modules.reduce((sum, module) => sum + module.moduleState.length, 0),
  };
}

// Finding the modules

/** Absolute paths of the modules under `paths`, each once. */
function collectModules(paths: readonly string[], cwd: string): string[] {
  const found = new Set<string>();
  for (const given of paths) {
    const absolute = path.resolve(cwd, given);
    const stats = statSync(absolute, { throwIfNoEntry: false });
    if (stats === undefined) throw new ReportPathError(given, 'no such file or directory');
    if (stats.isDirectory()) {
      walk(absolute, found);
    } else if (stats.isFile() && isModuleFile(absolute)) {
      found.add(absolute);
    } else {
      throw new ReportPathError(given, `not a directory nor a module (${MODULE_EXTENSIONS.join(' ')})`);
    }
  }
  return [...found];
}

function walk(directory: string, found: Set<string>): void {
  const entries = readdirSync(directory, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const entryPath = path.join(directory, entry.name);
    // Dirent types come from lstat: symbolic links are neither, so never followed.
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && !SKIPPED_DIRECTORIES.includes(entry.name)) walk(entryPath, found);
    } else if (entry.isFile() && isModuleFile(entryPath)) {
      found.add(entryPath);
    }
  }
}

/** A module the report reads: a known extension, and not a declaration file (`x.d.ts`, `x.d.mts`, `x.d.css.ts`). */
function isModuleFile(file: string): boolean {
  return MODULE_EXTENSIONS.includes(path.extname(file).toLowerCase()) && !/\.d(\.[^.]+)?\.[cm]?ts$/i.test(file);
}

function displayPath(file: string, cwd: string): string {
  return path.relative(cwd, file).split(path.sep).join('/');
}

// Which entry point a module specifier names

interface EntryDirectories {
  green: readonly string[];
  bridge: readonly string[];
}

/** greenloop's own root: this file is src/report/scan.ts, or dist/report/scan.js once built. */
const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

function entryDirectories(options: ScanOptions & { cwd: string }): EntryDirectories {
  const resolveAll = (dirs: readonly string[]): string[] => dirs.map((dir) => path.resolve(options.cwd, dir));
  const ownDirs = (layer: string): string[] => ['src', 'dist'].map((top) => path.join(PACKAGE_ROOT, top, layer));
  return {
    green: resolveAll(options.greenDirs ?? ownDirs('green')),
    bridge: resolveAll(options.bridgeDirs ?? ownDirs('bridge')),
  };
}

function entryPointOf(specifier: string, fromFile: string, dirs: EntryDirectories): GreenEntryPoint | undefined {
  if (specifier === 'greenloop/green' || specifier === 'greenloop/bridge') return specifier;
  const target = localTarget(specifier, fromFile);
  if (target === undefined) return undefined;
  if (dirs.green.some((dir) => isInside(target, dir))) return 'greenloop/green';
  if (dirs.bridge.some((dir) => isInside(target, dir))) return 'greenloop/bridge';
  return undefined;
}

/** The file a relative, absolute or file-URL specifier points at; undefined for a package name. */
function localTarget(specifier: string, fromFile: string): string | undefined {
  if (specifier.startsWith('file:')) {
    try {
      return fileURLToPath(specifier);
    } catch {
      return undefined;
    }
  }
  const relative = specifier === '.' || specifier === '..' || /^\.\.?[/\\]/.test(specifier);
  return relative || path.isAbsolute(specifier) ? path.resolve(path.dirname(fromFile), specifier) : undefined;
}

function isInside(target: string, directory: string): boolean {
  return target === directory || target.startsWith(directory.endsWith(path.sep) ? directory : directory + path.sep);
}

// Loading the compiler

let typescript: TypeScript | undefined;

/**
 * greenloop's own compiler, resolved from this module's location (so from
 * greenloop's installation, where npm put the pinned release), whatever
 * TypeScript the project has.
 */
function loadTypeScript(): TypeScript {
  if (typescript !== undefined) return typescript;
  let loaded: Partial<TypeScript> & { version?: unknown };
  let location = 'typescript';
  try {
    const require = createRequire(import.meta.url);
    location = require.resolve('typescript');
    loaded = require('typescript') as Partial<TypeScript>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND') {
      throw new TypeScriptUnavailableError(`'typescript' cannot be found from ${fileURLToPath(import.meta.url)}`, error);
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeScriptUnavailableError(`loading ${location} failed (${reason})`, error);
  }
  // A release without the JavaScript compiler API (TypeScript 7) is as good as none.
  if (typeof loaded.createProgram !== 'function' || typeof loaded.createSourceFile !== 'function') {
    const version = typeof loaded.version === 'string' ? ` ${loaded.version}` : '';
    throw new TypeScriptUnavailableError(`the typescript${version} found at ${location} has no JavaScript compiler API`);
  }
  return (typescript = loaded as TypeScript);
}

// Scanning one module

/** What one module's scan finds. */
interface ModuleScanResult {
  uses: GreenUse[];
  /** Its module-level mutable state (reported if green threads load it). */
  moduleState: ModuleStateFinding[];
  /** Its relative import specifiers. */
  specifiers: string[];
}

/** A scanner for one scan's options: (source text, absolute file name) → what the module holds. */
function moduleScanner(options: ScanOptions & { cwd: string }): (text: string, file: string) => ModuleScanResult {
  const ts = loadTypeScript();
  const dirs = entryDirectories(options);
  return (text, file) => {
    const { sourceFile, checker } = parseModule(ts, text, file);
    const scan = new ModuleScan(ts, sourceFile, checker, (specifier) => entryPointOf(specifier, file, dirs));
    return {
      uses: scan.run(),
      moduleState: findModuleState(ts, sourceFile, checker),
      specifiers: relativeSpecifiers(ts, sourceFile),
    };
  };
}

const COMPILER_OPTIONS: TS.CompilerOptions = { allowJs: true, noLib: true, noResolve: true, noEmit: true, types: [] };

/** A virtual home for the module: the program sees only this one file, whatever the real path. */
const VIRTUAL_DIRECTORY = '/greenloop-report';

/**
 * Parses the module. Its type checker, there only to resolve names by
 * scope, is built on first need (most modules import nothing green and
 * never need it), over a program of this one module: one program per module
 * keeps script files' globals from merging across modules. Nothing else is
 * read (`noLib`, `noResolve`), so imports stay unresolved aliases.
 */
function parseModule(ts: TypeScript, text: string, file: string): { sourceFile: TS.SourceFile; checker: () => TS.TypeChecker } {
  const extension = path.extname(file).toLowerCase();
  const virtualName = `${VIRTUAL_DIRECTORY}/module${MODULE_EXTENSIONS.includes(extension) ? extension : '.ts'}`;
  const sourceFile = ts.createSourceFile(virtualName, text, ts.ScriptTarget.Latest, true);
  const host: TS.CompilerHost = {
    getSourceFile: (name) => (name === virtualName ? sourceFile : undefined),
    fileExists: (name) => name === virtualName,
    readFile: () => undefined,
    writeFile: () => undefined,
    getDefaultLibFileName: () => `${VIRTUAL_DIRECTORY}/lib.d.ts`,
    getCurrentDirectory: () => VIRTUAL_DIRECTORY,
    getCanonicalFileName: (name) => name,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => '\n',
  };
  let checker: TS.TypeChecker | undefined;
  const getChecker = (): TS.TypeChecker =>
    (checker ??= ts.createProgram({ rootNames: [virtualName], options: COMPILER_OPTIONS, host }).getTypeChecker());
  return { sourceFile, checker: getChecker };
}
