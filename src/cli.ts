#!/usr/bin/env node
/**
 * The `greenloop` command.
 *
 *   greenloop report [paths...] [--strict] [--json] [--list]
 *
 * Exit status: 0; 1 with `--strict` while green uses remain; 2 when no
 * report can be made (bad usage, a missing path, no TypeScript compiler).
 */
import { readFileSync } from 'node:fs';
import {
  scanProject,
  GREEN_BRIDGE_HELPERS,
  MODULE_EXTENSIONS,
  SKIPPED_DIRECTORIES,
  type MigrationReport,
  type ModuleReport,
} from './report/scan.js';

const EXIT_OK = 0;
const EXIT_GREEN_REMAINS = 1;
const EXIT_BAD_USAGE = 2;

const USAGE = `Usage: greenloop report [paths...] [--strict] [--json] [--list]
       greenloop --help | --version

report   Lists every use of the green API by module, and the share of modules
         already migrated (modules with no green use). Green is everything
         from greenloop/green, and ${[...GREEN_BRIDGE_HELPERS].join(', ')} from
         greenloop/bridge. Scans the ${MODULE_EXTENSIONS.join(' ')} modules
         under each path (default: the current directory), skipping
         ${SKIPPED_DIRECTORIES.join(', ')}, hidden directories and declaration
         files. Parses with greenloop's own TypeScript compiler, whatever
         TypeScript (if any) the project has.

  --strict   exit with status 1 while any green use remains (the ban on new
             green code once the migration is done)
  --json     print the report as JSON
  --list     also print each use as file:line:column, its kind and name

The report also lists the module-level mutable state (let, var, and const
objects the module mutates) of the modules green threads load: those that
use the green API and the modules they import. Green threads share none of
it; the shared containers (SharedMap, SharedSet, SharedCounter) are shared.
  -h, --help print this help

Exit status: 0; 1 with --strict while green uses remain; 2 on bad usage or
when no report can be made.
`;

/** The command line was wrong: the message names what was wrong. */
class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface ReportCommand {
  paths: string[];
  strict: boolean;
  json: boolean;
  list: boolean;
}

type Command = { kind: 'help' } | { kind: 'version' } | ({ kind: 'report' } & ReportCommand);

function parseCommand(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command (expected: report)');
  if (first === '-h' || first === '--help' || first === 'help') return { kind: 'help' };
  if (first === '--version') return { kind: 'version' };
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}' (options follow the command: greenloop report ${first})`);
  if (first !== 'report') throw new UsageError(`unknown command '${first}' (expected: report)`);
  return parseReportArguments(rest);
}

function parseReportArguments(args: readonly string[]): Command {
  const command: ReportCommand = { paths: [], strict: false, json: false, list: false };
  let optionsEnded = false;
  for (const arg of args) {
    if (optionsEnded || !arg.startsWith('-') || arg === '-') {
      command.paths.push(arg);
    } else if (arg === '--') {
      optionsEnded = true;
    } else if (arg === '-h' || arg === '--help') {
      return { kind: 'help' };
    } else if (arg === '--strict' || arg === '--json' || arg === '--list') {
      command[arg.slice(2) as 'strict' | 'json' | 'list'] = true;
    } else {
      throw new UsageError(`unknown option '${arg}' for report (expected: --strict, --json, --list, --help)`);
    }
  }
  return { kind: 'report', ...command };
}

/** The table of unmigrated modules: file, green uses, names. */
function formatTable(modules: readonly ModuleReport[]): string[] {
  const rows = modules
    .filter((module) => !module.migrated)
    .map((module) => [module.file, String(module.uses.length), distinctNames(module).join(', ')]);
  if (rows.length === 0) return [];
  const header = ['file', 'green uses', 'names'];
  const fileWidth = Math.max(header[0].length, ...rows.map((row) => row[0].length));
  const countWidth = header[1].length;
  const line = ([file, count, names]: string[]): string =>
    `${file.padEnd(fileWidth)}  ${count.padStart(countWidth)}  ${names}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

function distinctNames(module: ModuleReport): string[] {
  return [...new Set(module.uses.map((use) => use.name))].sort((a, b) => a.localeCompare(b, 'en'));
}

/** Every use, one a line, as `file:line:column  kind  name` (the location editors and terminals link). */
function formatUses(modules: readonly ModuleReport[]): string[] {
  const rows = modules.flatMap((module) =>
    module.uses.map((use) => [`${module.file}:${use.line}:${use.column}`, use.kind, use.name]),
  );
  const locationWidth = Math.max(0, ...rows.map(([location]) => location.length));
  const kindWidth = Math.max(0, ...rows.map(([, kind]) => kind.length));
  return rows.map(([location, kind, name]) => `${location.padEnd(locationWidth)}  ${kind.padEnd(kindWidth)}  ${name}`);
}

function summaryLine(report: MigrationReport): string {
  return `${report.migratedCount} of ${report.moduleCount} modules migrated (${report.percentMigrated}%)`;
}

/**
 * The module-level mutable state of the modules green threads load, one a
 * line as `file:line:column  kind  name`, under a header that says why it
 * matters and what to use instead.
 */
function formatModuleState(modules: readonly ModuleReport[]): string[] {
  const rows = modules.flatMap((module) =>
    module.moduleState.map((state) => {
      const mutated = state.mutatedAt === undefined ? '' : ` (mutated at ${state.mutatedAt.line}:${state.mutatedAt.column})`;
      return [`${module.file}:${state.line}:${state.column}`, state.kind, `${state.name}${mutated}`];
    }),
  );
  if (rows.length === 0) return [];
  const header =
    `module-level state in modules green threads load (${rows.length}): each green thread has its own copy, ` +
    'so it is not shared between them; move what they share into SharedMap, SharedSet or SharedCounter (greenloop/green)';
  const locationWidth = Math.max(...rows.map(([location]) => location.length));
  const kindWidth = Math.max(...rows.map(([, kind]) => kind.length));
  return [header, ...rows.map(([location, kind, name]) => `${location.padEnd(locationWidth)}  ${kind.padEnd(kindWidth)}  ${name}`)];
}

function formatReport(report: MigrationReport, list: boolean): string {
  const sections = [
    list ? formatUses(report.modules) : [],
    formatTable(report.modules),
    formatModuleState(report.modules),
    [summaryLine(report)],
  ];
  return `${sections.filter((lines) => lines.length > 0).map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

function runReport(command: ReportCommand): number {
  const report = scanProject(command.paths);
  process.stdout.write(command.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, command.list));
  if (report.moduleCount === 0) {
    process.stderr.write(`greenloop report: no module found under ${command.paths.join(' ') || '.'}\n`);
  }
  if (!command.strict || report.greenUseCount === 0) return EXIT_OK;
  const unmigrated = report.moduleCount - report.migratedCount;
  process.stderr.write(
    `greenloop report --strict: ${report.greenUseCount} green API use(s) remain in ${unmigrated} module(s)\n`,
  );
  return EXIT_GREEN_REMAINS;
}

function packageVersion(): string {
  // Both src/cli.ts and the built dist/cli.js sit one level below package.json.
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function main(argv: readonly string[]): number {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`greenloop: ${error.message}\nRun 'greenloop --help' for usage.\n`);
    return EXIT_BAD_USAGE;
  }
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT_OK;
  }
  try {
    return runReport(command);
  } catch (error) {
    // ReportPathError, TypeScriptUnavailableError, an unreadable file: no report.
    process.stderr.write(`greenloop report: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_BAD_USAGE;
  }
}

// A reader that stops early (`greenloop report | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? EXIT_OK);
});

process.exitCode = main(process.argv.slice(2));
