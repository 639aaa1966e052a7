/**
 * The ESLint rule greenloop/no-green, run by ESLint's own RuleTester on the
 * cases the migration report counts (test/bridge/report.test.ts): aliases,
 * default and namespace imports, re-exports, require() and import().
 */
import { expect } from 'chai';
import { RuleTester, type Rule } from 'eslint';
import plugin, { noGreen } from '../../src/eslint/index.js';

const tester = new RuleTester({ languageOptions: { ecmaVersion: 'latest', sourceType: 'module' } });
const rule = noGreen as unknown as Rule.RuleModule;

const name = (n: string, module = 'greenloop/green'): { messageId: string; data: Record<string, string> } => ({
  messageId: 'name',
  data: { name: n, module },
});
const whole = (module = 'greenloop/green'): { messageId: string; data: Record<string, string> } => ({
  messageId: 'module',
  data: { module },
});

tester.run('greenloop/no-green', rule, {
  valid: [
    "import { run, sleep } from 'greenloop/loop';",
    "import { configure, bridgeEnabled } from 'greenloop/bridge';",
    "export { configure } from 'greenloop/bridge';",
    "export * from 'greenloop/bridge';",
    "const { configure } = await import('greenloop/bridge');",
    "const { configure: setUp } = require('greenloop/bridge');",
    "require('greenloop/bridge').configure({});",
    "const text = 'greenloop/green'; // import { sleep } from 'greenloop/green'",
    "import { sleep } from './greenloop/green.js';",
  ],
  invalid: [
    { code: "import { sleep, spawn as start } from 'greenloop/green';", errors: [name('sleep'), name('spawn')] },
    { code: "import green from 'greenloop/green';", errors: [name('default')] },
    { code: "import * as green from 'greenloop/green';", errors: [whole()] },
    { code: "import 'greenloop/green';", errors: [whole()] },
    {
      code: "import { configure, runGreen, callAsync as call } from 'greenloop/bridge';",
      errors: [name('runGreen', 'greenloop/bridge'), name('callAsync', 'greenloop/bridge')],
    },
    { code: "import * as bridge from 'greenloop/bridge';", errors: [whole('greenloop/bridge')] },
    { code: "export { spawn as start } from 'greenloop/green';", errors: [name('spawn')] },
    { code: "export * from 'greenloop/green';", errors: [whole()] },
    { code: "export { configure, runAsync } from 'greenloop/bridge';", errors: [name('runAsync', 'greenloop/bridge')] },
    { code: "const { Queue, spawn: start } = require('greenloop/green');", errors: [name('Queue'), name('spawn')] },
    { code: "const green = require('greenloop/green');", errors: [whole()] },
    { code: "require('greenloop/green').Event;", errors: [name('Event')] },
    { code: "const { runGreen } = await import('greenloop/bridge');", errors: [name('runGreen', 'greenloop/bridge')] },
    { code: "const sleep = (await import('greenloop/green')).sleep;", errors: [name('sleep')] },
    { code: "const bridge = await import('greenloop/bridge');", errors: [whole('greenloop/bridge')] },
  ],
});

describe('greenloop/eslint plugin', () => {
  it('exports the rule and a recommended config that turns it on', () => {
    expect(plugin.rules['no-green']).to.equal(noGreen);
    expect(plugin.configs.recommended.plugins.greenloop).to.equal(plugin);
    expect(plugin.configs.recommended.rules).to.deep.equal({ 'greenloop/no-green': 'error' });
  });
});
