/**
 * The package as users get it: `npm pack` (whose prepack script builds
 * dist/) makes the tarball, a fresh project outside the repository installs
 * it with tsx (and TypeScript 7, which has no JavaScript compiler API), and
 * user programs in plain JavaScript (`node file.mjs`) and in TypeScript
 * (`tsx file.ts`) run in child processes, as users run them. Nothing here
 * imports greenloop's sources: what is tested is what `npm publish` ships.
 *
 * One shared project serves every case; its programs run one at a time, so
 * that the timing checks are not skewed by each other.
 */
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

/** Seconds after which a program counts as hung (it is killed). */
const HANG_LIMIT = 20;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * The environment of the programs and of npm: the caller's, without what
 * would tie them to this repository (an enclosing `npm test` run's npm_*
 * settings such as its local prefix, mocha's loader options, greenloop's
 * own switches).
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    if (lower.startsWith('npm_') && !keep.has(lower)) continue;
    if (key === 'NODE_OPTIONS' || key === 'INIT_CWD' || key.startsWith('GREENLOOP_')) continue;
    env[key] = value;
  }
  return env;
}

/** Runs a command to its end (killed after `limit` seconds); never rejects for a failure exit. */
function runCommand(file: string, args: readonly string[], cwd: string, limit = HANG_LIMIT): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      // SIGTERM: the tsx CLI passes it on to the node process it started.
      { cwd, env: cleanEnv(), timeout: limit * 1000, killSignal: 'SIGTERM', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
        const code = failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null;
        if (failure !== null && code === null && failure.signal == null) stderr += `\n[spawn failed: ${failure.message}]`;
        resolve({ code, signal: failure?.signal ?? null, stdout, stderr, seconds: (performance.now() - started) / 1000 });
      },
    );
  });
}

function describeOutcome(outcome: Outcome): string {
  return `exit ${outcome.code}, signal ${outcome.signal} after ${outcome.seconds.toFixed(1)}s\n--- stdout\n${outcome.stdout}--- stderr\n${outcome.stderr}`;
}

function expectExit(outcome: Outcome, code: number): void {
  expect(outcome.signal, `killed after ${HANG_LIMIT}s (hung): ${describeOutcome(outcome)}`).to.equal(null);
  expect(outcome.code, describeOutcome(outcome)).to.equal(code);
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

/** Every line in `expected` is printed, whatever thread printed it and in whatever order. */
function expectLines(outcome: Outcome, expected: readonly string[]): void {
  const printed = new Set(lines(outcome.stdout));
  const missing = expected.filter((line) => !printed.has(line));
  expect(missing, `lines missing from stdout: ${describeOutcome(outcome)}`).to.deep.equal([]);
}

/** The lines starting with `prefix`, in the order printed (one thread's lines keep their order). */
function linesFrom(outcome: Outcome, prefix: string): string[] {
  return lines(outcome.stdout).filter((line) => line.startsWith(prefix));
}

/**
 * A `<label> timeout fired: <bool> after <s>s` line: fired, and well before
 * the 3 s sleep it cut (a Timeout that never fires lets the sleep run out).
 */
function expectTimeoutFired(outcome: Outcome, label: string): void {
  const pattern = new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} timeout fired: (true|false) after ([\\d.]+)s$`);
  const line = lines(outcome.stdout).find((text) => pattern.test(text));
  expect(line, `no '${label} timeout' line: ${describeOutcome(outcome)}`).to.be.a('string');
  const [, fired, seconds] = pattern.exec(line as string) as RegExpExecArray;
  expect(fired, `${label} Timeout(0.1) around sleep(3) did not fire: ${line}`).to.equal('true');
  expect(Number(seconds), `${label} Timeout(0.1) fired late: ${line}`).to.be.below(2.5);
}

interface Language {
  name: string;
  extension: '.mjs' | '.ts';
  /** The command and arguments that run a program of the project. */
  command(project: string, program: string): [string, string[]];
}

const LANGUAGES: readonly Language[] = [
  { name: 'JavaScript (node)', extension: '.mjs', command: (_project, program) => [process.execPath, [program]] },
  {
    name: 'TypeScript (tsx)',
    extension: '.ts',
    command: (project, program) => [path.join(project, 'node_modules', '.bin', 'tsx'), [program]],
  },
];

describe('the packed package in a consumer project', function () {
  this.timeout((HANG_LIMIT + 10) * 1000);
  let scratch = '';
  let project = '';
  let failed = false;

  before(async function () {
    this.timeout(240_000);
    scratch = mkdtempSync(path.join(os.tmpdir(), 'greenloop-consumer-'));
    const packs = path.join(scratch, 'pack');
    project = path.join(scratch, 'project');
    mkdirSync(packs);
    mkdirSync(project);

    // prepack builds dist/: the tarball is what `npm publish` would upload.
    const packed = await runCommand('npm', ['pack', '--pack-destination', packs], REPO, 180);
    expectExit(packed, 0);
    const tarballs = readdirSync(packs).filter((name) => name.endsWith('.tgz'));
    expect(tarballs, describeOutcome(packed)).to.have.length(1);

    const manifest = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    writeFileSync(
      path.join(project, 'package.json'),
      `${JSON.stringify({ name: 'greenloop-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
    );
    const installed = await runCommand(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        path.join(packs, tarballs[0]),
        `tsx@${manifest.devDependencies.tsx}`,
        // The project's own TypeScript is one without the JavaScript compiler API.
        'typescript@^7',
        `eslint@${manifest.devDependencies.eslint}`,
      ],
      project,
      180,
    );
    expectExit(installed, 0);
    cpSync(FIXTURES, project, { recursive: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(() => {
    if (scratch === '') return;
    if (failed) console.log(`    consumer project kept for inspection: ${project}`);
    else rmSync(scratch, { recursive: true, force: true });
  });

  function runProgram(language: Language, name: string): Promise<Outcome> {
    const [file, args] = language.command(project, `${name}${language.extension}`);
    return runCommand(file, args, project);
  }

  it('installs the tarball with dist/ and the CLI, and only ESM exports', () => {
    const installed = path.join(project, 'node_modules', 'greenloop');
    for (const file of ['dist/loop/index.js', 'dist/green/index.js', 'dist/bridge/index.js', 'dist/green/runtime/worker-entry.mjs', 'dist/cli.js']) {
      expect(readdirSync(path.dirname(path.join(installed, file))), file).to.include(path.basename(file));
    }
    expect(readdirSync(installed)).to.not.include('src');
    expect(readdirSync(path.join(project, 'node_modules', '.bin'))).to.include('greenloop');
  });

  describe('CommonJS', () => {
    it('loads greenloop with import(); require() gives the same module or fails with ERR_REQUIRE_ESM', async () => {
      const outcome = await runCommand(process.execPath, ['commonjs.cjs'], project);
      expectExit(outcome, 0);
      expectLines(outcome, ['import: slept on the loop']);
      const [feature] = linesFrom(outcome, 'require_module: ');
      const [required] = linesFrom(outcome, 'require: ');
      if (feature === 'require_module: true') {
        // Node 20.19+ and 22.12+ require() ES modules: the very module import() loads.
        expect(required, describeOutcome(outcome)).to.equal('require: loaded');
        expectLines(outcome, ['require is import: true']);
      } else {
        expect(required, describeOutcome(outcome)).to.match(/^require: ERR_REQUIRE_ESM: .*ES Module/);
      }
    });

    it('the README says greenloop is ESM-only and how to load it from CommonJS', () => {
      const readme = readFileSync(path.join(project, 'node_modules', 'greenloop', 'README.md'), 'utf8');
      expect(readme).to.match(/ESM-only/);
      expect(readme).to.include("await import('greenloop/loop')");
      expect(readme).to.include('ERR_REQUIRE_ESM');
    });
  });

  for (const language of LANGUAGES) {
    describe(language.name, () => {
      it('runs a hosted green main flow: spawn, pools, spawnN, callAsync, Timeouts, withTimeout', async () => {
        const outcome = await runProgram(language, 'hosted-main');
        expectExit(outcome, 0);
        // Printed by the green threads, running the second module's functions.
        expectLines(outcome, [
          'green spawn: hello',
          'green pool.spawn: hello',
          'green pool.spawnN: hello',
          'green spawnN: hello',
          'green callAsync: 2 + 3 = 5',
        ]);
        expectTimeoutFired(outcome, 'main: first');
        expectTimeoutFired(outcome, 'main: later');
        expect(linesFrom(outcome, 'main: ').filter((line) => !line.includes('timeout fired')), describeOutcome(outcome)).to.deep.equal([
          'main: spawn returned green spawn: hello',
          'main: pool.spawn returned green pool.spawn: hello',
          'main: spawnN put green spawnN: hello',
          'main: callAsync from green gave 5',
          'main: withTimeout gave timed out',
          'main: withTimeout in time gave slept',
          'main: done',
        ]);
      });

      it('runs an async main that awaits runGreen of green code calling back with callAsync', async () => {
        const outcome = await runProgram(language, 'async-main');
        expectExit(outcome, 0);
        expectLines(outcome, ['green runGreen: started', 'green callAsync: 20 + 22 = 42']);
        expectTimeoutFired(outcome, 'runGreen first');
        expectTimeoutFired(outcome, 'runGreen later');
        expect(linesFrom(outcome, 'main: '), describeOutcome(outcome)).to.deep.equal([
          'main: runGreen gave runGreen done, sum 42',
          'main: done',
        ]);
      });

      it('shares SharedCounter, SharedMap and SharedSet between green threads and async code', async () => {
        const outcome = await runProgram(language, 'shared-state');
        expectExit(outcome, 0);
        expect(linesFrom(outcome, 'main: '), describeOutcome(outcome)).to.deep.equal([
          'main: counter 150',
          'main: seen {"a":50,"b":50,"c":50}',
          'main: names a,b,c',
          'main: log ["one","two"]',
          'main: NotShareableError',
          'main: done',
        ]);
      });

      it('hands live connections over mid-conversation both ways: toGreenSocket, handOver', async () => {
        const outcome = await runProgram(language, 'hand-over');
        expectExit(outcome, 0);
        expect(lines(outcome.stdout), describeOutcome(outcome)).to.deep.equal([
          'toGreenSocket: HELLO WORLD',
          'handOver: ONE | TWO,THREE | detached',
          'main: done',
        ]);
      });

      it('fetches with green fetch, in the main flow and a GreenPool, and talks TLS through a green TLS socket', async () => {
        cpSync(path.join(REPO, 'test', 'fixtures', 'tls'), path.join(project, 'tls'), { recursive: true });
        const outcome = await runProgram(language, 'green-library');
        expectExit(outcome, 0);
        expect(linesFrom(outcome, 'main: '), describeOutcome(outcome)).to.deep.equal([
          'main: fetch gave page /front',
          'main: imap gave page /a, page /b',
          'main: refused gave FetchError true ECONNREFUSED',
          'main: tls gave OVER TLS (TLSv1.3)',
          'main: untrusted gave SSLCertVerificationError true',
          'main: done',
        ]);
      });

      it('prints the error and stack of a failed spawnN green thread on stderr, and goes on', async () => {
        const outcome = await runProgram(language, 'spawn-fail');
        expectExit(outcome, 0);
        expectLines(outcome, ['main: still running']);
        for (const message of ['spawnN failure one', 'pool.spawnN failure two']) {
          expect(outcome.stderr, describeOutcome(outcome)).to.include(`RangeError: ${message}`);
        }
        // The stack names the user's function and module.
        const frames = lines(outcome.stderr).filter((line) => /^\s+at failing \(.*handlers\.(mjs|ts):\d+:\d+\)$/.test(line));
        expect(frames, `no stack frame of failing() in handlers${language.extension}: ${describeOutcome(outcome)}`).to.have.length.of.at.least(2);
      });
    });
  }

  describe('dump() and the deadlock report (JavaScript under node)', () => {
    it('dumps a parked green thread, and debug mode ends its deadlock with DeadlockError', async () => {
      const outcome = await runProgram(LANGUAGES[0], 'dump-deadlock');
      expectExit(outcome, 0);
      const [dumped] = linesFrom(outcome, 'dump: ');
      expect(dumped, describeOutcome(outcome)).to.match(/^dump: #\d+ waitFor\(\) parked [\d.]+ s in event\.wait\(\) on <Event #\d+ unset, waiters:1>$/);
      expectLines(outcome, ['main: DeadlockError, dump names the Event: true']);
      expect(outcome.stderr, describeOutcome(outcome)).to.include('Deadlock: every green thread is parked');
    });
  });

  describe('a green echo server (TypeScript under tsx)', () => {
    let server: ChildProcessByStdio<null, Readable, Readable> | undefined;
    let stdout = '';
    let stderr = '';

    after(async () => {
      // SIGTERM, which the tsx CLI passes on to the node process it started
      // (SIGKILL would leave that one running); SIGKILL only as a last resort.
      const child = server;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    });

    function echoOnce(port: number, messages: readonly string[]): Promise<string[]> {
      return new Promise((resolve, reject) => {
        const answers: string[] = [];
        let pending = '';
        const client = net.connect({ host: '127.0.0.1', port });
        client.setEncoding('utf8');
        client.setTimeout(10_000, () => client.destroy(new Error(`no echo within 10s; got ${JSON.stringify(answers)}`)));
        client.on('error', reject);
        client.on('connect', () => client.write(`${messages[0]}\n`));
        client.on('data', (chunk: string) => {
          pending += chunk;
          let newline;
          while ((newline = pending.indexOf('\n')) >= 0) {
            answers.push(pending.slice(0, newline));
            pending = pending.slice(newline + 1);
            if (answers.length === messages.length) {
              client.end();
              resolve(answers);
              return;
            }
            client.write(`${messages[answers.length]}\n`);
          }
        });
      });
    }

    it('listens, prints its port, and echoes lines to clients served side by side', async () => {
      const [file, args] = LANGUAGES[1].command(project, 'echo-server.ts');
      const child = spawn(file, args, { cwd: project, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      server = child;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no port printed within ${HANG_LIMIT}s\n--- stdout\n${stdout}--- stderr\n${stderr}`)), HANG_LIMIT * 1000);
        const look = (): void => {
          const match = /listening on (\d+)/.exec(stdout);
          if (match === null) return;
          clearTimeout(timer);
          resolve(Number(match[1]));
        };
        child.stdout.on('data', look);
        child.on('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`the server exited (${code ?? signal}) before listening\n--- stdout\n${stdout}--- stderr\n${stderr}`));
        });
      });
      const [first, second] = await Promise.all([
        echoOnce(port, ['hello', 'green world']),
        echoOnce(port, ['second client', 'still here', 'bye']),
      ]);
      expect(first).to.deep.equal(['hello', 'green world']);
      expect(second).to.deep.equal(['second client', 'still here', 'bye']);
      expect(child.exitCode, `the server exited\n--- stderr\n${stderr}`).to.equal(null);
    });
  });

  describe('npx greenloop report', () => {
    const greenModules = [
      'async-main.mjs',
      'async-main.ts',
      'dump-deadlock.mjs',
      'echo-server.ts',
      'green-library.mjs',
      'green-library.ts',
      'hand-over-handlers.mjs',
      'hand-over-handlers.ts',
      'hand-over.mjs',
      'hand-over.ts',
      'handlers.mjs',
      'handlers.ts',
      'hosted-main.mjs',
      'hosted-main.ts',
      'shared-handlers.mjs',
      'shared-handlers.ts',
      'shared-state.mjs',
      'shared-state.ts',
      'spawn-fail.mjs',
      'spawn-fail.ts',
    ];

    it('lists the green modules with the project on TypeScript 7, from greenloop\'s own TypeScript', async () => {
      const projectTypeScript = JSON.parse(
        readFileSync(path.join(project, 'node_modules', 'typescript', 'package.json'), 'utf8'),
      ) as { version: string };
      expect(projectTypeScript.version).to.match(/^7\./);
      const outcome = await runCommand(path.join(project, 'node_modules', '.bin', 'greenloop'), ['report', '.'], project);
      expectExit(outcome, 0);
      const listed = lines(outcome.stdout)
        .slice(1, -1)
        .map((line) => line.split(/\s+/)[0]);
      expect(listed, describeOutcome(outcome)).to.deep.equal(greenModules);
      const total = greenModules.length + 1;
      expect(lines(outcome.stdout).at(-1)).to.equal(`1 of ${total} modules migrated (${Math.floor(100 / total)}%)`);
    });

    it('exits 1 with --strict while green uses remain', async () => {
      const outcome = await runCommand(path.join(project, 'node_modules', '.bin', 'greenloop'), ['report', '--strict', '.'], project);
      expectExit(outcome, 1);
      expect(outcome.stderr).to.match(new RegExp(`greenloop report --strict: \\d+ green API use\\(s\\) remain in ${greenModules.length} module\\(s\\)`));
    });
  });

  describe('greenloop/eslint', () => {
    // Written here, after the report's tests, which count the project's modules.
    before(() => {
      writeFileSync(
        path.join(project, 'eslint.config.mjs'),
        "import greenloop from 'greenloop/eslint';\nexport default [{ files: ['**/*.mjs'], ...greenloop.configs.recommended }];\n",
      );
      writeFileSync(path.join(project, 'migrated.mjs'), "import { run } from 'greenloop/loop';\nexport const main = run;\n");
    });

    it('bans the green API with the no-green rule, and passes a migrated module', async () => {
      const eslint = path.join(project, 'node_modules', '.bin', 'eslint');
      const green = await runCommand(eslint, ['hosted-main.mjs'], project);
      expectExit(green, 1);
      expect(green.stdout, describeOutcome(green)).to.match(/'GreenPool' from greenloop\/green is green code.*greenloop\/no-green/);
      const migrated = await runCommand(eslint, ['migrated.mjs'], project);
      expectExit(migrated, 0);
    });
  });
});
