/**
 * The ESLint rule `greenloop/no-green`: the migration's ban on green code,
 * with the linter a project already runs. It reports every place a module
 * brings in the green API, by the report's definition (see src/report/green-uses.ts):
 * anything from `greenloop/green`, and the green helpers of
 * `greenloop/bridge` (`runGreen`, `callAsync`, `runAsync`, `handOver`, `toStreams`, `toGreenSocket`),
 * through an import (named, aliased, default or namespace), a re-export
 * (`export { x } from`, `export * from`), `require()` or `import()`.
 * `configure` and the rest of `greenloop/bridge` stay allowed, except
 * through a namespace import or `export *`, which bring the helpers too.
 *
 * Where the report also counts each later reference to a green name, the
 * rule reports the import that binds it: one fix removes both.
 *
 * The rule's types are written out here (the ESTree nodes it reads), so
 * that greenloop's own types need no ESLint installed.
 */
import { GREEN_BRIDGE_HELPERS } from '../report/green-uses.js';

const GREEN = 'greenloop/green';
const BRIDGE = 'greenloop/bridge';

interface Node {
  readonly type: string;
  readonly parent?: Node | null;
}
interface Property extends Node {
  readonly key: Node;
  readonly computed: boolean;
}
interface ObjectPattern extends Node {
  readonly type: 'ObjectPattern';
  readonly properties: readonly Node[];
}
interface MemberExpression extends Node {
  readonly type: 'MemberExpression';
  readonly object: Node;
  readonly property: Node;
  readonly computed: boolean;
}
interface Literal extends Node {
  readonly type: 'Literal';
  readonly value: unknown;
}
interface Identifier extends Node {
  readonly type: 'Identifier';
  readonly name: string;
}
interface ModuleSpecifier extends Node {
  readonly type: 'ImportSpecifier' | 'ImportDefaultSpecifier' | 'ImportNamespaceSpecifier' | 'ExportSpecifier';
  readonly imported?: Identifier | Literal;
  readonly local: Identifier | Literal;
}
interface ImportDeclaration extends Node {
  readonly source: Literal;
  readonly specifiers: readonly ModuleSpecifier[];
}
interface ExportNamedDeclaration extends Node {
  readonly source: Literal | null;
  readonly specifiers: readonly ModuleSpecifier[];
}
interface ExportAllDeclaration extends Node {
  readonly source: Literal;
}
interface ImportExpression extends Node {
  readonly source: Node;
}
interface CallExpression extends Node {
  readonly callee: Node;
  readonly arguments: readonly Node[];
}

/** What the rule needs of ESLint's rule context. */
export interface RuleContext {
  report(descriptor: { node: Node; messageId: string; data: Record<string, string> }): void;
}

/** An ESLint rule object (`meta` and `create`), structurally. */
export interface NoGreenRule {
  readonly meta: {
    readonly type: 'problem';
    readonly docs: { readonly description: string };
    readonly schema: readonly [];
    readonly messages: Readonly<Record<string, string>>;
  };
  create(context: RuleContext): Record<string, (node: never) => void>;
}

/** The module a string literal names, if it is greenloop/green or greenloop/bridge. */
function entryPoint(node: Node | null | undefined): typeof GREEN | typeof BRIDGE | null {
  if (node?.type !== 'Literal') return null;
  const value = (node as Literal).value;
  return value === GREEN || value === BRIDGE ? value : null;
}

function nameOf(node: Identifier | Literal | undefined): string {
  if (node === undefined) return 'default';
  return node.type === 'Identifier' ? node.name : String(node.value);
}

/** Whether importing or re-exporting `name` (undefined: the whole module) from `module` brings in green code. */
function isGreen(module: typeof GREEN | typeof BRIDGE, name: string | undefined): boolean {
  return module === GREEN || name === undefined || GREEN_BRIDGE_HELPERS.has(name);
}

/**
 * The names a `require()`/`import()` expression binds or reads, with their
 * nodes; null when the module is kept whole (or used in a way not followed).
 */
function boundNames(load: Node): [Node, string][] | null {
  let value: Node = load;
  if (value.parent?.type === 'AwaitExpression') value = value.parent;
  const parent = value.parent;
  if (parent?.type === 'MemberExpression') {
    const member = parent as MemberExpression;
    if (member.object !== value) return null;
    const name = propertyName(member.property, member.computed);
    return name === null ? null : [[member.property, name]];
  }
  if (parent?.type === 'VariableDeclarator') {
    const id = (parent as Node & { id: Node }).id;
    if (id.type !== 'ObjectPattern') return null;
    const names: [Node, string][] = [];
    for (const property of (id as ObjectPattern).properties) {
      if (property.type !== 'Property') return null;
      const name = propertyName((property as Property).key, (property as Property).computed);
      if (name === null) return null;
      names.push([property, name]);
    }
    return names;
  }
  return null;
}

function propertyName(key: Node, computed: boolean): string | null {
  if (!computed && key.type === 'Identifier') return (key as Identifier).name;
  if (key.type === 'Literal') return String((key as Literal).value);
  return null;
}

export const noGreen: NoGreenRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Ban the green API of greenloop once a module (or the project) is migrated' },
    schema: [],
    messages: {
      name: "'{{name}}' from {{module}} is green code: use the async API (greenloop/loop) instead",
      module: '{{module}} brings in green code: use the async API (greenloop/loop) instead',
    },
  },
  create(context) {
    const reportName = (node: Node, module: string, name: string): void =>
      context.report({ node, messageId: 'name', data: { name, module } });
    const reportModule = (node: Node, module: string): void => context.report({ node, messageId: 'module', data: { module } });

    /** Reports each green name of an import or re-export list (or the whole statement when it names none). */
    const checkSpecifiers = (statement: Node, module: typeof GREEN | typeof BRIDGE, specifiers: readonly ModuleSpecifier[]): void => {
      if (specifiers.length === 0) {
        if (module === GREEN) reportModule(statement, module);
        return;
      }
      for (const specifier of specifiers) {
        if (specifier.type === 'ImportNamespaceSpecifier') {
          reportModule(specifier, module);
          continue;
        }
        // `export { x as y } from` has no `imported`: its `local` is the module's own name.
        const name = specifier.type === 'ImportDefaultSpecifier' ? 'default' : nameOf(specifier.imported ?? specifier.local);
        if (isGreen(module, name)) reportName(specifier, module, name);
      }
    };

    /**
     * `require()` or `import()` of an entry point: the names it binds when it
     * is destructured (`const { a } = require(...)`, `await import(...)`) or
     * read (`require(...).a`), else the whole module.
     */
    const checkLoad = (node: Node, module: typeof GREEN | typeof BRIDGE): void => {
      const names = boundNames(node);
      if (names === null) {
        reportModule(node, module);
        return;
      }
      for (const [at, name] of names) if (isGreen(module, name)) reportName(at, module, name);
    };

    return {
      ImportDeclaration(node: ImportDeclaration) {
        const module = entryPoint(node.source);
        if (module !== null) checkSpecifiers(node, module, node.specifiers);
      },
      ExportNamedDeclaration(node: ExportNamedDeclaration) {
        const module = entryPoint(node.source);
        if (module !== null) checkSpecifiers(node, module, node.specifiers);
      },
      ExportAllDeclaration(node: ExportAllDeclaration) {
        // `export * from 'greenloop/bridge'` re-exports names, not uses: as the report.
        if (entryPoint(node.source) === GREEN) reportModule(node, GREEN);
      },
      ImportExpression(node: ImportExpression) {
        const module = entryPoint(node.source);
        if (module !== null) checkLoad(node, module);
      },
      CallExpression(node: CallExpression) {
        const callee = node.callee as Identifier;
        if (callee.type !== 'Identifier' || callee.name !== 'require' || node.arguments.length !== 1) return;
        const module = entryPoint(node.arguments[0]);
        if (module !== null) checkLoad(node, module);
      },
    };
  },
};
