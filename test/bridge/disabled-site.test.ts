/**
 * BridgeDisabledError names the public call the user wrote and the user's
 * own file:line, also when the user's files sit in folders named
 * `src/green` (frames are skipped by greenloop's package directory, not by
 * folder names). The user's module runs in its own Node process with
 * GREENLOOP_BRIDGE=off.
 */
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runScript } from '../helpers.js';

interface Reported {
  call: string;
  callSite: string;
  message: string;
}

const FIXTURE = fileURLToPath(new URL('./fixtures/disabled-user.ts', import.meta.url));
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

describe('bridge off: BridgeDisabledError names the user call and site', function () {
  this.timeout(30_000);
  let dir = '';
  let source = '';
  let results: Record<string, Reported | string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'greenloop-user-'));
    mkdirSync(join(dir, 'src', 'green'), { recursive: true });
    source = readFileSync(FIXTURE, 'utf8').replaceAll("'../../../src/", `'${SRC}`);
    const script = join(dir, 'src', 'green', 'user.ts');
    writeFileSync(script, source);
    const outcome = await runScript(script, { env: { GREENLOOP_BRIDGE: 'off' }, hangLimit: 20 });
    expect(outcome.code, outcome.stderr).to.equal(0);
    results = JSON.parse(outcome.stdout) as Record<string, Reported | string>;
  });

  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  function lineOf(name: string): number {
    return source.split('\n').findIndex((line) => line.endsWith(`// case:${name}`)) + 1;
  }

  const expected: [string, string][] = [
    ['withTimeout', 'withTimeout'],
    ['listen', 'listen'],
    ['connect', 'connect'],
    ['run', 'subprocess.run'],
    ['Popen', 'subprocess.Popen'],
    ['spawn', 'spawn'],
    ['sleep', 'sleep'],
    ['createConnection', 'socket.createConnection'],
    ['gethostbyname', 'socket.gethostbyname'],
  ];
  for (const [name, call] of expected) {
    it(`names ${call}() and user.ts:LINE`, () => {
      const reported = results[name];
      expect(reported, JSON.stringify(reported)).to.be.an('object');
      const { call: named, callSite, message } = reported as Reported;
      expect(named).to.equal(call);
      const line = lineOf(name);
      expect(line).to.be.above(0);
      expect(callSite).to.match(new RegExp(`src/green/user\\.ts:${line}:\\d+`));
      expect(message).to.match(new RegExp(`^${call.replace('.', '\\.')}\\(\\) called at .*user\\.ts:${line}:`));
    });
  }
});
