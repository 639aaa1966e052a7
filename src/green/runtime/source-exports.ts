/**
 * Whether a module's source exports a function by a given name: read on the
 * spawning side, so that `spawn(notExported)` is refused there, before any
 * worker imports the module (and runs its top-level code a second time).
 *
 * A textual check of the file, not a parse: it answers false only when the
 * source shows no way the name could be exported (no `export` form naming
 * it, and no CommonJS export object that could hold it). Whatever it cannot
 * judge (a non-file URL, an unreadable file, `module.exports = ...`,
 * bundler output) counts as exported, and the other thread's import decides.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const sources = new Map<string, string | null>();

/** Forms after which any name may be exported: judged by the importing thread. */
const OPAQUE_EXPORTS = /\bmodule\.exports\s*=|\bexports\s*\[|\b__export\s*\(|\bexport\s*=|\bexport\s+default\s*\{|\bexport\s*\*\s*as\b/;

/** false when the module at `url` certainly does not export `name`; true otherwise. */
export function mayExport(url: string, name: string): boolean {
  const source = moduleSource(url);
  if (source === null || OPAQUE_EXPORTS.test(source)) return true;
  const id = escapeRegExp(name);
  const forms = [
    // export [default] [async] function[*] name / export const|let|var|class name
    `\\bexport\\s+(?:default\\s+)?(?:declare\\s+)?(?:async\\s+)?(?:function\\s*\\*?|const|let|var|class)\\s*${id}\\b`,
    // export { a, name as b } (also export { name } from, harmless)
    `\\bexport\\s*(?:type\\s*)?\\{[^}]*\\b${id}\\b[^}]*\\}`,
    // export default name
    `\\bexport\\s+default\\s+${id}\\s*[;\\n]`,
    // CommonJS: exports.name = / module.exports.name =
    `\\bexports\\.${id}\\s*=`,
  ];
  return forms.some((form) => new RegExp(form).test(source));
}

function moduleSource(url: string): string | null {
  if (!url.startsWith('file:')) return null;
  let source = sources.get(url);
  if (source === undefined) {
    try {
      source = readFileSync(fileURLToPath(url), 'utf8');
    } catch {
      source = null;
    }
    sources.set(url, source);
  }
  return source;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
