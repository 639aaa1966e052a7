/**
 * One module's green uses, for the migration report (scan.ts): what brings
 * the green API in (imports, re-exports, `require`, `import()`), and every
 * reference to a name bound that way, resolved by scope with the module's
 * own type checker, so a local that shadows `spawn` is not a use and
 * comments, strings and JSDoc never count.
 */
import type * as TS from 'typescript';

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

/** The `greenloop/bridge` exports that only green code needs. */
export const GREEN_BRIDGE_HELPERS: ReadonlySet<string> = new Set(['runGreen', 'callAsync', 'runAsync', 'handOver', 'toStreams', 'toGreenSocket']);

/** The `name` of a use of the whole module. */
const WHOLE_MODULE = '*';

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
export class ModuleScan {
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
