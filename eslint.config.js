import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A folder's import restriction: the patterns it may not import, with why. */
function layer(files, message, group) {
  return [{ files: [files], rules: { 'no-restricted-imports': ['error', { patterns: [{ group, message }] }] } }];
}

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'require-yield': 'off',
    },
  },
  // The layers: loop <- green runtime <- green API <- bridge. Every import
  // runs downward; the report and the lint plugin stand apart.
  ...layer('src/loop/**', 'src/loop is the ground floor: it imports no layer above it', [
    '../green/*', '../bridge/*', '../report/*', '../eslint/*',
  ]),
  ...layer('src/green/runtime/**', 'the green runtime knows no green API above it', [
    '../*.js', '../../bridge/*', '../../report/*', '../../eslint/*',
  ]),
  ...layer('src/green/*.ts', 'the green API uses the runtime through runtime/index.ts, and knows no bridge', [
    '../bridge/*', '../report/*', '../eslint/*', './runtime/*', '!./runtime/index.js',
  ]),
  ...layer('src/bridge/**', 'the bridge uses the green runtime through its index', [
    '../eslint/*', '../green/runtime/*', '!../green/runtime/index.js',
  ]),
  ...layer('src/report/**', 'the migration report reads source files: it needs no runtime', [
    '../green/*', '../bridge/*', '../eslint/*',
  ]),
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', queueMicrotask: 'readonly', SharedArrayBuffer: 'readonly', Atomics: 'readonly', Int32Array: 'readonly' } },
  },
);
