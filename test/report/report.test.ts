/**
 * The migration report: the scanner on source texts and on a small project
 * (test/report/fixtures), and the `greenloop` command run as a user runs it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  scanProject,
  scanSource,
  ReportPathError,
  type GreenUse,
  type MigrationReport,
  type ScanOptions,
} from '../../src/report/scan.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = 'test/report/fixtures';
const CLI = path.join(REPO, 'src/cli.ts');

/** The uses in `text` as `line:column kind name`, the shape the assertions read best in. */
function uses(text: string, fileName = 'module.ts', options: ScanOptions = {}): string[] {
  return scanSource(text, path.join(REPO, 'examples', fileName), options).map(
    (use: GreenUse) => `${use.line}:${use.column} ${use.kind} ${use.name}`,
  );
}

describe('migration report: scanSource', () => {
  it('reports each import and each reference by exported name, line and column', () => {
    const text = [
      "import { spawn, sleep as nap } from 'greenloop/green';",
      'spawn(work);',
      'nap(0.1);',
    ].join('\n');
    expect(uses(text)).to.deep.equal([
      '1:10 import spawn',
      '1:17 import sleep',
      '2:1 reference spawn',
      '3:1 reference sleep',
    ]);
    const [first] = scanSource(text, 'module.ts');
    expect(first.module).to.equal('greenloop/green');
  });

  it('counts only the green helpers of greenloop/bridge', () => {
    const text = [
      "import { configure, runGreen, callAsync, runAsync, shutdownWorkers } from 'greenloop/bridge';",
      "import * as bridge from 'greenloop/bridge';",
      'configure({}); shutdownWorkers();',
      'bridge.configure({}); bridge.runGreen(work);',
    ].join('\n');
    expect(uses(text)).to.deep.equal([
      '1:21 import runGreen',
      '1:31 import callAsync',
      '1:42 import runAsync',
      '4:23 reference runGreen',
    ]);
  });

  it('counts the hand-over helpers of greenloop/bridge: connections crossing need the bridge', () => {
    const text = [
      "import { handOver, toStreams, toGreenSocket, HandedOverError } from 'greenloop/bridge';",
      'await toStreams(sock); handOver(sock, serve); void HandedOverError;',
    ].join('\n');
    expect(uses(text)).to.deep.equal([
      '1:10 import handOver',
      '1:20 import toStreams',
      '1:31 import toGreenSocket',
      '2:7 reference toStreams',
      '2:24 reference handOver',
    ]);
  });

  it('ignores comments, strings, templates, regular expressions and JSX text', () => {
    const text = [
      "// import { spawn } from 'greenloop/green';",
      "/* const { sleep } = require('greenloop/green'); */",
      "/** @type {import('greenloop/green').GreenPool} */",
      "const a = \"import { spawn } from 'greenloop/green'\";",
      "const b = `${a} require('greenloop/green') import('greenloop/green')`;",
      "const c = /import \\{ spawn \\} from 'greenloop\\/green'/;",
      "export const view = <p title=\"greenloop/green\">don't import {'{'} spawn {'}'} from 'greenloop/green'</p>;",
      'export { a, b, c };',
    ].join('\n');
    expect(uses(text, 'view.tsx')).to.deep.equal([]);
    expect(uses(text, 'view.jsx')).to.deep.equal([]);
  });

  it('resolves names by scope: a local that shadows a green name is not a use', () => {
    const text = [
      "import { spawn } from 'greenloop/green';",
      'function run(spawn: () => void) { spawn(); }',
      'const inner = () => { const spawn = 1; return spawn; };',
      'spawn(run, inner);',
    ].join('\n');
    expect(uses(text)).to.deep.equal(['1:10 import spawn', '4:1 reference spawn']);
  });

  it('ignores members and keys that only share a green name', () => {
    const text = [
      "import { sleep } from 'greenloop/green';",
      'const jobs = { sleep: 1, spawn: 2 };',
      'class Timer { sleep(): void {} }',
      'jobs.sleep; new Timer().sleep();',
      'const { sleep: nap } = jobs;',
      'export const shorthand = { sleep };',
    ].join('\n');
    expect(uses(text)).to.deep.equal(['1:10 import sleep', '6:28 reference sleep']);
  });

  it('follows require(), import() and import-equals to the names they bind', () => {
    const cjs = [
      "const { Queue, spawn: start } = require('greenloop/green');",
      "const green = require('greenloop/green');",
      'start(new Queue()); green.sleep(1);',
      "require('greenloop/green').Event;",
    ].join('\n');
    expect(uses(cjs, 'jobs.cjs')).to.deep.equal([
      '1:9 require Queue',
      '1:16 require spawn',
      '2:15 require *',
      '3:1 reference spawn',
      '3:11 reference Queue',
      '3:21 reference sleep',
      '4:1 require Event',
    ]);
    const esm = [
      "const { runGreen } = await import('greenloop/bridge');",
      "const { configure } = await import('greenloop/bridge');",
      "const sleep = (await import('greenloop/green')).sleep;",
      "import legacy = require('greenloop/green');",
      'runGreen(legacy.spawn); configure({});',
    ].join('\n');
    expect(uses(esm, 'main.mts')).to.deep.equal([
      '1:9 import runGreen',
      '3:22 import sleep',
      '4:1 require *',
      '5:1 reference runGreen',
      '5:10 reference spawn',
    ]);
  });

  it('names the member used through a namespace, in values and in types', () => {
    const text = [
      "import * as green from 'greenloop/green';",
      'const sock = green.socket.socket();',
      'let thread: green.GreenThread<number> | undefined;',
      "type Pool = import('greenloop/green').GreenPool;",
      'consume(green);',
    ].join('\n');
    expect(uses(text)).to.deep.equal([
      '1:8 import *',
      '2:14 reference socket',
      '3:13 reference GreenThread',
      '4:13 import GreenPool',
      '5:9 reference *',
    ]);
  });

  it('counts re-exports of green names, not of the rest of the bridge', () => {
    const text = [
      "export { spawn as start } from 'greenloop/green';",
      "export * from 'greenloop/green';",
      "export * from 'greenloop/bridge';",
      "export { configure, runAsync } from 'greenloop/bridge';",
      "import { sleep } from 'greenloop/green';",
      'export { sleep as nap };',
    ].join('\n');
    expect(uses(text)).to.deep.equal([
      '1:10 export spawn',
      '2:15 export *',
      '4:21 export runAsync',
      '5:10 import sleep',
      '6:10 export sleep',
    ]);
  });

  it('scans generated code nested deeper than the call stack', () => {
    const concatenation = `'a'${" + 'b'".repeat(60_000)}`;
    const text = `import { sleep } from 'greenloop/green';\nexport const big = ${concatenation} + sleep;\n`;
    const column = text.split('\n')[1].lastIndexOf('sleep') + 1;
    expect(uses(text)).to.deep.equal(['1:10 import sleep', `2:${column} reference sleep`]);
  });

  it("counts relative imports that land in greenloop's own src/green and src/bridge", () => {
    // This file is examples/module.ts for the scanner: ../src is greenloop's src.
    const text = [
      "import '../src/green/index.js';",
      "import { sleep } from '../src/green/sleep.js';",
      "import { runGreen, configure } from '../src/bridge/index.js';",
      "import { greenLike } from './src/green/index.js';",
      'sleep(runGreen, configure, greenLike);',
    ].join('\n');
    expect(uses(text)).to.deep.equal([
      '1:8 import *',
      '2:10 import sleep',
      '3:10 import runGreen',
      '5:1 reference sleep',
      '5:7 reference runGreen',
    ]);
    const vendored = { greenDirs: [path.join(REPO, 'examples/src/green')], bridgeDirs: [] };
    expect(uses(text, 'module.ts', vendored)).to.deep.equal(['4:10 import greenLike', '5:28 reference greenLike']);
  });
});

describe('migration report: scanProject', () => {
  let scratch: string;

  before(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'greenloop-report-'));
    const green = "import { spawn } from 'greenloop/green';\nspawn(work);\n";
    const files: Record<string, string> = {
      'app/green.ts': green,
      'app/types.d.ts': green,
      'app/notes.txt': green,
      'app/async.mjs': 'export const answer = 42;\n',
      'node_modules/dep/index.js': green,
      'dist/green.js': green,
      '.cache/green.js': green,
      'empty/.keep': '',
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(scratch, name)), { recursive: true });
      writeFileSync(path.join(scratch, name), text);
    }
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('reports every module of a project, sorted, with the share migrated', () => {
    const report = scanProject([FIXTURES], { cwd: REPO });
    const summary = report.modules.map((module) => [module.file.slice(FIXTURES.length + 1), module.migrated, module.uses.length]);
    expect(summary).to.deep.equal([
      ['gateway.ts', false, 2],
      ['jobs/legacy.cjs', false, 4],
      ['jobs/worker.mjs', false, 5],
      ['legacy-report.ts', false, 6],
      ['notes.ts', true, 0],
      ['service.ts', true, 0],
    ]);
    expect(report).to.include({ moduleCount: 6, migratedCount: 2, percentMigrated: 33, greenUseCount: 17 });
  });

  it('skips node_modules, dist, hidden directories, declaration files and other files', () => {
    const report = scanProject([], { cwd: scratch });
    expect(report.modules.map((module) => [module.file, module.migrated])).to.deep.equal([
      ['app/async.mjs', true],
      ['app/green.ts', false],
    ]);
  });

  it('scans a path given directly or twice once; a directory named dist when given', () => {
    const report = scanProject(['app/green.ts', 'app', 'dist'], { cwd: scratch });
    expect(report.modules.map((module) => module.file)).to.deep.equal(['app/async.mjs', 'app/green.ts', 'dist/green.js']);
  });

  it('finds nothing in an empty directory: 0 of 0, counted as all migrated', () => {
    expect(scanProject(['empty'], { cwd: scratch })).to.deep.equal({
      modules: [],
      moduleCount: 0,
      migratedCount: 0,
      percentMigrated: 100,
      greenUseCount: 0,
      moduleStateCount: 0,
    } satisfies MigrationReport);
  });

  it('throws ReportPathError naming a missing path or a file that is not a module', () => {
    expect(() => scanProject(['app', 'nope'], { cwd: scratch }))
      .to.throw(ReportPathError, 'no such file or directory: nope')
      .with.property('path', 'nope');
    expect(() => scanProject(['app/notes.txt'], { cwd: scratch })).to.throw(ReportPathError, 'app/notes.txt');
  });
});

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('migration report: the greenloop command', function () {
  this.timeout(30_000);
  const runs = new Map<string, Promise<Outcome>>();
  const run = (name: string): Promise<Outcome> => runs.get(name)!;

  // Each run pays for starting Node and tsx: they run side by side.
  before(() => {
    runs.set('table', runCli(['report', FIXTURES]));
    runs.set('strict', runCli(['report', FIXTURES, '--strict', '--list']));
    runs.set('strict-migrated', runCli(['report', '--strict', `${FIXTURES}/service.ts`, `${FIXTURES}/notes.ts`]));
    runs.set('json', runCli(['report', '--json', FIXTURES]));
    runs.set('bad-option', runCli(['report', FIXTURES, '--strcit']));
    runs.set('missing-path', runCli(['report', `${FIXTURES}/missing`]));
    runs.set('bad-command', runCli(['reprot']));
    runs.set('help', runCli(['--help']));
  });

  it('prints a table of the modules left and the summary line, and exits 0', async () => {
    const { code, stdout, stderr } = await run('table');
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^file\s+green uses\s+names$/);
    expect(lines.slice(1, 5).map((line) => line.split(/\s{2,}/))).to.deep.equal([
      [`${FIXTURES}/gateway.ts`, '2', 'runGreen'],
      [`${FIXTURES}/jobs/legacy.cjs`, '4', '*, Queue, spawn'],
      [`${FIXTURES}/jobs/worker.mjs`, '5', 'sleep, spawn'],
      [`${FIXTURES}/legacy-report.ts`, '6', 'GreenPool, sleep, socket'],
    ]);
    expect(lines.slice(5)).to.deep.equal(['', '2 of 6 modules migrated (33%)']);
  });

  it('--strict exits 1 while green uses remain, naming how many', async () => {
    const { code, stdout, stderr } = await run('strict');
    expect(code).to.equal(1);
    expect(stderr).to.include('17 green API use(s) remain in 4 module(s)');
    // --list: every use at its location, before the table.
    expect(stdout).to.match(new RegExp(`^${FIXTURES}/legacy-report\\.ts:5:10 +import +GreenPool$`, 'm'));
    expect(stdout).to.match(new RegExp(`^${FIXTURES}/gateway\\.ts:10:18 +reference +runGreen$`, 'm'));
    expect(stdout.trimEnd().split('\n').at(-1)).to.equal('2 of 6 modules migrated (33%)');
  });

  it('--strict exits 0 once every module scanned is migrated', async () => {
    const { code, stdout, stderr } = await run('strict-migrated');
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
    expect(stdout).to.equal('2 of 2 modules migrated (100%)\n');
  });

  it('--json prints the report as JSON', async () => {
    const { code, stdout } = await run('json');
    expect(code).to.equal(0);
    expect(JSON.parse(stdout)).to.deep.equal(scanProject([FIXTURES], { cwd: REPO }));
  });

  it('exits 2 on bad usage, naming the bad argument', async () => {
    const option = await run('bad-option');
    expect(option.code).to.equal(2);
    expect(option.stderr).to.include("unknown option '--strcit'");
    expect(option.stdout).to.equal('');
    const missing = await run('missing-path');
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include(`no such file or directory: ${FIXTURES}/missing`);
    const command = await run('bad-command');
    expect(command.code).to.equal(2);
    expect(command.stderr).to.include("unknown command 'reprot'");
  });

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await run('help');
    expect(code).to.equal(0);
    expect(stdout).to.match(/^Usage: greenloop report \[paths\.\.\.\] \[--strict\] \[--json\]/);
  });

  it('starts with a shebang, so the built dist/cli.js runs as the greenloop command', () => {
    expect(readFileSync(CLI, 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env node');
    const manifest = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    expect(manifest.bin).to.deep.equal({ greenloop: './dist/cli.js' });
  });
});

describe('migration report: module-level state in modules green threads load', () => {
  const STATE = 'test/report/state-fixtures';

  /** `file:line:column kind name [mutatedAt]` for every finding of the report. */
  function findings(report: MigrationReport): string[] {
    return report.modules.flatMap((module) =>
      module.moduleState.map((state) => {
        const at = state.mutatedAt === undefined ? '' : ` @${state.mutatedAt.line}:${state.mutatedAt.column}`;
        return `${module.file.slice(STATE.length + 1)}:${state.line}:${state.column} ${state.kind} ${state.name}${at}`;
      }),
    );
  }

  it('flags let, var and mutated const objects in green modules and the modules they import, transitively', () => {
    const report = scanProject([STATE], { cwd: REPO });
    expect(findings(report)).to.deep.equal([
      'chat.ts:5:5 let connections',
      'chat.ts:6:7 mutated-const participants @14:3',
      'chat.ts:8:7 mutated-const history @9:1',
      'chat.ts:10:14 mutated-const stats @15:3',
      'sessions.ts:4:14 mutated-const sessions @7:3',
      'util/cache.ts:3:12 var hits',
    ]);
    expect(report.moduleStateCount).to.equal(6);
    // standalone.ts has state too, but no green thread loads it.
    expect(report.modules.find((module) => module.file.endsWith('standalone.ts'))?.moduleState).to.deep.equal([]);
  });

  it('reports nothing for the existing fixtures, whose output stays as it was', () => {
    expect(scanProject([FIXTURES], { cwd: REPO }).moduleStateCount).to.equal(0);
  });

  it('prints the findings in their own section, with a hint at the shared containers', async function () {
    this.timeout(30_000);
    const { code, stdout, stderr } = await runCli(['report', STATE]);
    expect({ code, stderr }).to.deep.equal({ code: 0, stderr: '' });
    const sections = stdout.trimEnd().split('\n\n');
    expect(sections).to.have.length(3);
    const [header, ...lines] = sections[1].split('\n');
    expect(header).to.match(/^module-level state in modules green threads load \(6\): .*not shared.*SharedMap, SharedSet or SharedCounter/);
    expect(lines.map((line) => line.split(/\s{2,}/))).to.deep.include.members([
      [`${STATE}/chat.ts:5:5`, 'let', 'connections'],
      [`${STATE}/chat.ts:6:7`, 'mutated-const', 'participants (mutated at 14:3)'],
      [`${STATE}/util/cache.ts:3:12`, 'var', 'hits'],
    ]);
    expect(sections[2]).to.equal('3 of 4 modules migrated (75%)');
  });
});
