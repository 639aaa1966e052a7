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
import { findModuleState, relativeSpecifiers, type ModuleStateFinding } from './module-state.js';

export type { ModuleStateFinding, ModuleStateKind } from './module-state.js';

type TypeScript = typeof TS;

/** The entry points whose uses the report counts. */
export type GreenEntryPoint = 'greenloop/green' | 'greenloop/bridge';

/**
 * How a use names the green API: `import` (an import declaration, a dynamic
 * `import()` or an `import('...')` type), `export` (a re-export), `require`
 * (`require()` or `import x = require()`), `reference` (a use of a name
 * bound by one of those).
 */
export type GreenUseKind = 'import' | 'export' | 'require' | 'reference';

/** One place where a module names the green API. */
export interface GreenUse {
  /** 1-based line. */
  line: number;
  /** 1-based column, in UTF-16 code units (as editors count). */
  column: number;
  /**
   * The name the entry point exports (`spawn`, `GreenPool`, `socket`), even
   * when imported under another local name; `*` for the whole module (a
   * side-effect, namespace or dynamic import not narrowed to one name).
   */
  name: string;
  module: GreenEntryPoint;
  kind: GreenUseKind;
}

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

/** The `greenloop/bridge` exports that only green code needs. */
export const GREEN_BRIDGE_HELPERS: ReadonlySet<string> = new Set(['runGreen', 'callAsync', 'runAsync', 'handOver', 'toStreams', 'toGreenSocket']);

/** The file extensions of the modules a scan reads (declaration files are skipped). */
export const MODULE_EXTENSIONS: readonly string[] = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

/** Directories a scan does not enter (nor any whose name starts with a dot). */
export const SKIPPED_DIRECTORIES: readonly string[] = ['node_modules', 'dist', 'build'];

/** The releases of `typescript` greenloop depends on (package.json's `dependencies`): the last major with the JavaScript API. */
const TYPESCRIPT_RANGE = '^6.0.3';

/** The `name` of a use of the whole module. */
const WHOLE_MODULE = '*';

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

/** What a local name is bound to: one export of an entry point, or (`*`) the whole module. */
interface Binding {
  module: GreenEntryPoint;
  name: string;
}

/**
 * One module's scan, in two passes: the first finds what brings the green
 * API in (imports, re-exports, `require`, `import()`) and binds the local
 * names; the second finds the references to those bindings.
 */
class ModuleScan {
  private readonly uses: GreenUse[] = [];
  private readonly bindings = new Map<TS.Symbol, Binding>();
  /** The texts of bound names: only identifiers with one of these are resolved. */
  private readonly boundTexts = new Set<string>();
  /** The identifiers that declare a binding (not references to it). */
  private readonly declarations = new Set<TS.Node>();

  constructor(
    private readonly ts: TypeScript,
    private readonly sourceFile: TS.SourceFile,
    private readonly checker: () => TS.TypeChecker,
    private readonly entryPointOf: (specifier: string) => GreenEntryPoint | undefined,
  ) {}

  run(): GreenUse[] {
    this.walk((node) => this.findImport(node));
    if (this.bindings.size > 0) this.walk((node) => this.ts.isIdentifier(node) && this.findReference(node));
    return this.uses.sort((a, b) => a.line - b.line || a.column - b.column);
  }

  /**
   * Visits every node in source order. Iterative: generated code nests
   * deeper than the call stack (a 60,000-term string concatenation).
   */
  private walk(visit: (node: TS.Node) => void): void {
    const pending: TS.Node[] = [this.sourceFile];
    const children: TS.Node[] = [];
    for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
      visit(node);
      this.ts.forEachChild(node, (child) => {
        children.push(child);
      });
      while (children.length > 0) pending.push(children.pop()!);
    }
  }

  /** First pass: a node that brings an entry point in. */
  private findImport(node: TS.Node): void {
    const ts = this.ts;
    if (ts.isImportDeclaration(node)) {
      const module = this.entryPointNamedBy(node.moduleSpecifier);
      if (module !== undefined) this.importDeclaration(node, module);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
      const module = this.entryPointNamedBy(node.moduleSpecifier);
      if (module !== undefined) this.reexport(node, module);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const module = this.entryPointNamedBy(node.moduleReference.expression);
      if (module !== undefined) this.bind(node.name, { module, name: WHOLE_MODULE }, node, 'require');
    } else if (ts.isCallExpression(node)) {
      const kind = this.loadingCallKind(node);
      const module = kind && this.entryPointNamedBy(node.arguments[0]);
      if (kind !== undefined && module !== undefined) this.moduleValue(node, module, kind);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const module = this.entryPointNamedBy(node.argument.literal);
      if (module !== undefined) this.use(node, module, this.leftmostName(node.qualifier), 'import');
    }
  }

  private importDeclaration(node: TS.ImportDeclaration, module: GreenEntryPoint): void {
    const clause = node.importClause;
    if (clause === undefined) return this.use(node.moduleSpecifier, module, WHOLE_MODULE, 'import');
    // A default import of an ES module namespace-like object: `green.spawn` names `spawn`.
    if (clause.name !== undefined) this.bind(clause.name, { module, name: WHOLE_MODULE }, clause.name, 'import');
    const named = clause.namedBindings;
    if (named === undefined) return;
    if (this.ts.isNamespaceImport(named)) return this.bind(named.name, { module, name: WHOLE_MODULE }, named, 'import');
    for (const element of named.elements) {
      const name = (element.propertyName ?? element.name).text;
      this.bind(element.name, { module, name }, element, 'import');
    }
  }

  private reexport(node: TS.ExportDeclaration, module: GreenEntryPoint): void {
    const clause = node.exportClause;
    if (clause === undefined || this.ts.isNamespaceExport(clause)) {
      return this.use(node.moduleSpecifier ?? node, module, WHOLE_MODULE, 'export');
    }
    for (const element of clause.elements) this.use(element, module, (element.propertyName ?? element.name).text, 'export');
  }

  /** `require('...')` or `import('...')` with a literal specifier: the kind of use, else undefined. */
  private loadingCallKind(node: TS.CallExpression): GreenUseKind | undefined {
    if (node.arguments.length < 1 || !this.ts.isStringLiteralLike(node.arguments[0])) return undefined;
    if (node.expression.kind === this.ts.SyntaxKind.ImportKeyword) return 'import';
    const callee = node.expression;
    return this.ts.isIdentifier(callee) && callee.text === 'require' ? 'require' : undefined;
  }

  private entryPointNamedBy(node: TS.Node | undefined): GreenEntryPoint | undefined {
    return node !== undefined && this.ts.isStringLiteralLike(node) ? this.entryPointOf(node.text) : undefined;
  }

  /** `import('m').A.B` names `A`; `import('m')` alone names the whole module. */
  private leftmostName(name: TS.EntityName | undefined): string {
    if (name === undefined) return WHOLE_MODULE;
    while (this.ts.isQualifiedName(name)) name = name.left;
    return name.text;
  }

  /**
   * An expression whose value is a whole entry point (`require('m')`,
   * `await import('m')`, a namespace binding): what it names depends on how
   * it is used. A member access names the member; a declaration binds the
   * namespace or the destructured names; anything else uses the whole module.
   */
  private moduleValue(expression: TS.Node, module: GreenEntryPoint, kind: GreenUseKind): void {
    const ts = this.ts;
    let outer = expression;
    const wrapped = (node: TS.Node): boolean =>
      ts.isParenthesizedExpression(node) || ts.isAwaitExpression(node) || ts.isAsExpression(node) ||
      ts.isNonNullExpression(node) || ts.isSatisfiesExpression(node);
    while (wrapped(outer.parent)) outer = outer.parent;
    const parent = outer.parent;
    if (ts.isPropertyAccessExpression(parent) && parent.expression === outer) {
      this.use(expression, module, parent.name.text, kind);
    } else if (ts.isElementAccessExpression(parent) && ts.isStringLiteralLike(parent.argumentExpression)) {
      this.use(expression, module, parent.argumentExpression.text, kind);
    } else if (ts.isQualifiedName(parent) && parent.left === outer) {
      this.use(expression, module, parent.right.text, kind);
    } else if (ts.isVariableDeclaration(parent) && parent.initializer === outer) {
      this.bindPattern(parent.name, module, expression, kind);
    } else {
      this.use(expression, module, WHOLE_MODULE, kind);
    }
  }

  /** `const green = <module>` binds the namespace; `const { spawn } = <module>` binds `spawn`. */
  private bindPattern(name: TS.BindingName, module: GreenEntryPoint, at: TS.Node, kind: GreenUseKind): void {
    const ts = this.ts;
    if (ts.isIdentifier(name)) return this.bind(name, { module, name: WHOLE_MODULE }, at, kind);
    if (!ts.isObjectBindingPattern(name)) return this.use(at, module, WHOLE_MODULE, kind);
    for (const element of name.elements) {
      const key = element.propertyName ?? element.name;
      const exported =
        element.dotDotDotToken !== undefined ? WHOLE_MODULE : ts.isIdentifier(key) || ts.isStringLiteralLike(key) ? key.text : WHOLE_MODULE;
      if (ts.isIdentifier(element.name)) this.bind(element.name, { module, name: exported }, element, kind);
      else this.use(element, module, exported, kind);
    }
  }

  /** Records the use at `at` and binds `identifier` so that its references are found. */
  private bind(identifier: TS.Identifier, binding: Binding, at: TS.Node, kind: GreenUseKind): void {
    if (!this.leadsToGreen(binding)) return;
    this.use(at, binding.module, binding.name, kind);
    const symbol = this.checker().getSymbolAtLocation(identifier);
    if (symbol === undefined) return;
    this.bindings.set(symbol, binding);
    this.boundTexts.add(identifier.text);
    this.declarations.add(identifier);
  }

  /** Second pass: an identifier that refers to a binding. */
  private findReference(identifier: TS.Identifier): void {
    if (!this.boundTexts.has(identifier.text) || this.declarations.has(identifier) || this.isMemberName(identifier)) return;
    const symbol = this.symbolReferredToBy(identifier);
    const binding = symbol && this.bindings.get(symbol);
    if (binding === undefined) return;
    const kind = this.ts.isExportSpecifier(identifier.parent) ? 'export' : 'reference';
    if (binding.name === WHOLE_MODULE) this.moduleValue(identifier, binding.module, kind);
    else this.use(identifier, binding.module, binding.name, kind);
  }

  private symbolReferredToBy(identifier: TS.Identifier): TS.Symbol | undefined {
    const parent = identifier.parent;
    if (this.ts.isShorthandPropertyAssignment(parent)) return this.checker().getShorthandAssignmentValueSymbol(parent);
    if (this.ts.isExportSpecifier(parent)) {
      // `export { local as exported }` refers through `local` only.
      const local = parent.propertyName ?? parent.name;
      return local === identifier ? this.checker().getExportSpecifierLocalTargetSymbol(parent) : undefined;
    }
    return this.checker().getSymbolAtLocation(identifier);
  }

  /**
   * Names of members and of re-exported or imported names are never
   * references to a local binding; skipping them also spares the checker
   * from typing the object of `obj.spawn`.
   */
  private isMemberName(identifier: TS.Identifier): boolean {
    const ts = this.ts;
    const parent = identifier.parent;
    if (ts.isQualifiedName(parent)) return parent.right === identifier;
    if (ts.isBindingElement(parent)) return parent.propertyName === identifier;
    if (ts.isImportSpecifier(parent)) return true;
    if (ts.isExportSpecifier(parent)) return parent.parent.parent.moduleSpecifier !== undefined;
    const named =
      ts.isPropertyAccessExpression(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent) ||
      ts.isPropertySignature(parent) || ts.isMethodDeclaration(parent) || ts.isMethodSignature(parent) ||
      ts.isGetAccessorDeclaration(parent) || ts.isSetAccessorDeclaration(parent) || ts.isEnumMember(parent) ||
      ts.isJsxAttribute(parent);
    return named && parent.name === identifier;
  }

  /**
   * Whether references to the binding can be green uses: every binding of
   * greenloop/green; of greenloop/bridge, a helper or the whole module (whose
   * members may be helpers; `use` keeps only those).
   */
  private leadsToGreen(binding: Binding): boolean {
    return binding.module === 'greenloop/green' || GREEN_BRIDGE_HELPERS.has(binding.name) || binding.name === WHOLE_MODULE;
  }

  private use(at: TS.Node, module: GreenEntryPoint, name: string, kind: GreenUseKind): void {
    if (module === 'greenloop/bridge' && !GREEN_BRIDGE_HELPERS.has(name)) return;
    const { line, character } = this.sourceFile.getLineAndCharacterOfPosition(at.getStart(this.sourceFile));
    this.uses.push({ line: line + 1, column: character + 1, name, module, kind });
  }
}
