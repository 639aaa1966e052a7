/**
 * Functions found by module reference from the function object itself.
 */
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { NotModuleLevelError } from '../../../src/bridge/index.js';
import { functionRef, resolveRef } from '../../../src/green/runtime/reference.js';
import byDefault, { arrow, makeNested, named, renamed } from './fixtures/exports.js';

const require = createRequire(import.meta.url);
const { fromCommonJs } = require('./fixtures/commonjs.cjs') as { fromCommonJs: () => string };

describe('runtime: functions by module reference', () => {
  it("names a module-level function by its module's URL and its name, and caches it", () => {
    const ref = functionRef(named, 'test');
    expect(ref.url).to.match(/^file:\/\/.*fixtures\/exports\.ts$/);
    expect(ref.name).to.equal('named');
    expect(functionRef(named, 'test')).to.equal(ref);
  });

  it('resolves a reference to the exported function, through aliases and defaults', async () => {
    for (const fn of [named, renamed, byDefault, arrow]) {
      const resolved = await resolveRef(functionRef(fn, 'test'));
      expect(resolved).to.equal(fn);
    }
  });

  it('handles a CommonJS module', async () => {
    const ref = functionRef(fromCommonJs, 'test');
    expect(ref.url).to.match(/^file:\/\/.*commonjs\.cjs$/);
    expect(await resolveRef(ref)).to.equal(fromCommonJs);
  });

  it('refuses a nested function with a message saying what to do', () => {
    expect(() => functionRef(makeNested(), 'the spawn() target')).to.throw(
      NotModuleLevelError,
      /the spawn\(\) target nested\(\) is not a module-level function of file:.*exports\.ts .*export it at the top level/,
    );
  });

  it('refuses a value that is not a function with TypeError', () => {
    expect(() => functionRef(42, 'the spawn() target')).to.throw(TypeError, /must be a module-level function/);
  });

  it('fails to resolve a name the module does not export', async () => {
    const error = await resolveRef({ url: functionRef(named, 'test').url, name: 'missing' }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(NotModuleLevelError);
    expect((error as Error).message).to.match(/missing\(\) is not exported by/);
  });
});
