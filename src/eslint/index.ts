/**
 * greenloop/eslint: an ESLint plugin whose rule `no-green` bans the green
 * API, the same uses the migration report counts, so that a migrated
 * project keeps green code out with the linter it already runs:
 *
 *     // eslint.config.js
 *     import greenloop from 'greenloop/eslint';
 *     export default [
 *       { plugins: { greenloop }, rules: { 'greenloop/no-green': 'error' } },
 *     ];
 *
 * `greenloop.configs.recommended` is that config, ready to spread.
 */
import { noGreen, type NoGreenRule } from './no-green.js';

export interface GreenloopPlugin {
  readonly meta: { readonly name: string };
  readonly rules: { readonly 'no-green': NoGreenRule };
  readonly configs: {
    readonly recommended: {
      readonly plugins: { readonly greenloop: GreenloopPlugin };
      readonly rules: { readonly 'greenloop/no-green': 'error' };
    };
  };
}

const recommended = {
  plugins: {} as { greenloop: GreenloopPlugin },
  rules: { 'greenloop/no-green': 'error' } as const,
};
const plugin: GreenloopPlugin = { meta: { name: 'greenloop' }, rules: { 'no-green': noGreen }, configs: { recommended } };
recommended.plugins.greenloop = plugin;

export { noGreen };
export default plugin;
