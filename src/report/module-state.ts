/**
 * Module-level mutable state, for the migration report: the `let`s and
 * `var`s at a module's top level, and the `const` objects, arrays, Maps,
 * Sets (any literal or `new` value) that the module mutates, at top level
 * or inside its functions.
 *
 * Why: green threads are worker threads and share no memory, so such state
 * in a module green threads load exists once per thread. Legacy green code
 * that keeps a dict of sessions or a set of participants there runs without
 * an error and silently diverges; the report points at it, with a hint at
 * the shared containers (SharedMap, SharedSet, SharedCounter).
 *
 * A mutation is an assignment to a property or element (`x.a = 1`,
 * `x[k] += 1`, `x.a.b++`, `delete x.a`) or a call of a mutating method
 * (`x.push()`, `x.set()`, `x.add()`, `x.clear()`...) on a reference that
 * resolves to the declaration (a parameter or local of the same name does
 * not count). Methods are known by name only: the report does not type
 * the program.
 */
import type * as TS from 'typescript';

type TypeScript = typeof TS;

/** `let`/`var` at module top level, or a top-level `const` object the module mutates. */
export type ModuleStateKind = 'let' | 'var' | 'mutated-const';

/** One piece of module-level mutable state. */
export interface ModuleStateFinding {
  /** 1-based line of the declared name. */
  line: number;
  /** 1-based column, in UTF-16 code units. */
  column: number;
  /** The declared name. */
  name: string;
  kind: ModuleStateKind;
  /** For `mutated-const`: where the module first mutates it. */
  mutatedAt?: { line: number; column: number };
}

/** Methods that change the object they are called on (arrays, Maps, Sets, Dates...). */
const MUTATING_METHODS: ReadonlySet<string> = new Set([
  'push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin',
  'set', 'add', 'delete', 'clear',
  'setTime', 'setFullYear', 'setMonth', 'setDate', 'setHours', 'setMinutes', 'setSeconds', 'setMilliseconds',
]);

/** The module-level mutable state of `sourceFile`, in source order. */
export function findModuleState(ts: TypeScript, sourceFile: TS.SourceFile, checker: () => TS.TypeChecker): ModuleStateFinding[] {
  const findings: ModuleStateFinding[] = [];
  const candidates = new Map<string, TS.Identifier>();
  for (const statement of sourceFile.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const flags = statement.declarationList.flags;
    const kind = flags & ts.NodeFlags.Const ? null : flags & ts.NodeFlags.Let ? 'let' : flags & (ts.NodeFlags.Using | ts.NodeFlags.AwaitUsing) ? null : 'var';
    for (const declaration of statement.declarationList.declarations) {
      if (kind !== null) {
        for (const name of boundNames(ts, declaration.name)) findings.push(finding(sourceFile, name, kind));
      } else if (ts.isIdentifier(declaration.name) && holdsObject(ts, declaration.initializer)) {
        candidates.set(declaration.name.text, declaration.name);
      }
    }
  }
  if (candidates.size > 0) {
    for (const [declared, mutation] of findMutations(ts, sourceFile, candidates, checker)) {
      findings.push({ ...finding(sourceFile, declared, 'mutated-const'), mutatedAt: position(sourceFile, mutation) });
    }
  }
  return findings.sort((a, b) => a.line - b.line || a.column - b.column);
}

function finding(sourceFile: TS.SourceFile, name: TS.Identifier, kind: ModuleStateKind): ModuleStateFinding {
  return { ...position(sourceFile, name), name: name.text, kind };
}

function position(sourceFile: TS.SourceFile, node: TS.Node): { line: number; column: number } {
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
  return { line: line + 1, column: character + 1 };
}

/** The identifiers a declaration binds (destructuring included). */
function boundNames(ts: TypeScript, name: TS.BindingName): TS.Identifier[] {
  if (ts.isIdentifier(name)) return [name];
  return name.elements.flatMap((element) => (ts.isBindingElement(element) ? boundNames(ts, element.name) : []));
}

/** Whether an initializer makes a fresh object: a literal or a `new` expression. */
function holdsObject(ts: TypeScript, initializer: TS.Expression | undefined): boolean {
  let node = initializer;
  while (node !== undefined && (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node) || ts.isNonNullExpression(node))) {
    node = node.expression;
  }
  return node !== undefined && (ts.isObjectLiteralExpression(node) || ts.isArrayLiteralExpression(node) || ts.isNewExpression(node));
}

/** The first mutation of each candidate, by declared name (resolved by scope). */
function findMutations(
  ts: TypeScript,
  sourceFile: TS.SourceFile,
  candidates: Map<string, TS.Identifier>,
  checker: () => TS.TypeChecker,
): Map<TS.Identifier, TS.Node> {
  const found = new Map<TS.Identifier, TS.Node>();
  const pending: TS.Node[] = [sourceFile];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    ts.forEachChild(node, (child) => {
      pending.push(child);
    });
    if (!ts.isIdentifier(node)) continue;
    const declared = candidates.get(node.text);
    if (declared === undefined || declared === node || found.has(declared) || !isMutated(ts, node)) continue;
    const types = checker();
    if (types.getSymbolAtLocation(node) === types.getSymbolAtLocation(declared)) found.set(declared, node);
  }
  return found;
}

/** Whether `reference` is the object of a property write, `delete`, `++`/`--`, or a mutating method call. */
function isMutated(ts: TypeScript, reference: TS.Identifier): boolean {
  let access: TS.Node = reference;
  let parent = access.parent;
  let direct = true;
  while ((ts.isPropertyAccessExpression(parent) || ts.isElementAccessExpression(parent)) && parent.expression === access) {
    if (direct && ts.isPropertyAccessExpression(parent) && MUTATING_METHODS.has(parent.name.text)) {
      const call = parent.parent;
      if (ts.isCallExpression(call) && call.expression === parent) return true;
    }
    direct = false;
    access = parent;
    parent = access.parent;
  }
  if (access === reference) return false;
  if (ts.isBinaryExpression(parent) && parent.left === access) {
    return parent.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && parent.operatorToken.kind <= ts.SyntaxKind.LastAssignment;
  }
  if (ts.isPrefixUnaryExpression(parent) || ts.isPostfixUnaryExpression(parent)) {
    return parent.operator === ts.SyntaxKind.PlusPlusToken || parent.operator === ts.SyntaxKind.MinusMinusToken;
  }
  return ts.isDeleteExpression(parent);
}

// ---- which modules green threads load ------------------------------------------------

/** The specifiers of the relative imports of a module (static, dynamic, require, re-exports). */
export function relativeSpecifiers(ts: TypeScript, sourceFile: TS.SourceFile): string[] {
  const specifiers: string[] = [];
  const pending: TS.Node[] = [sourceFile];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    ts.forEachChild(node, (child) => {
      pending.push(child);
    });
    let specifier: TS.Node | undefined;
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) specifier = node.moduleSpecifier;
    else if (ts.isExternalModuleReference(node)) specifier = node.expression;
    else if (ts.isCallExpression(node) && isImportOrRequire(ts, node)) specifier = node.arguments[0];
    if (specifier !== undefined && ts.isStringLiteralLike(specifier) && /^\.\.?(\/|$)/.test(specifier.text)) {
      specifiers.push(specifier.text);
    }
  }
  return specifiers;
}

function isImportOrRequire(ts: TypeScript, call: TS.CallExpression): boolean {
  if (call.expression.kind === ts.SyntaxKind.ImportKeyword) return true;
  return ts.isIdentifier(call.expression) && call.expression.text === 'require' && call.arguments.length === 1;
}
