/**
 * Benchmark results as a table of ratios against a baseline measured in the
 * same run, each with its goal and whether the goal is met.
 *
 *     const rows = [
 *       compare({ name: 'callSoon', value: 2.1e6, baseline: 1.9e6, unit: 'ops/s', better: 'higher', goal: 1 }),
 *     ];
 *     printTable('loop core', rows);
 *
 * Conventions: `value` and `baseline` share one unit. `ratio` is always
 * value / baseline; `better` says which way is good: 'higher' for rates
 * (goal `ratio >= goal`), 'lower' for costs such as time per operation
 * (goal `ratio <= goal`).
 */

/** Which direction of the ratio is an improvement. */
export type Better = 'higher' | 'lower';

/** One benchmark compared with its baseline. */
export interface BenchRow {
  /** What was measured, e.g. 'callSoon throughput'. */
  readonly name: string;
  /** The measured value (the median over rounds). */
  readonly value: number;
  /** The unit of `value` and `baseline`, e.g. 'ops/s' or 'µs/op'. */
  readonly unit: string;
  /** The baseline's value, in `unit`, measured in the same run. */
  readonly baseline: number;
  /** value / baseline (the median of the per-round ratios when rounds are paired). */
  readonly ratio: number;
  /** Which direction of `ratio` is good. */
  readonly better: Better;
  /** The ratio to reach: at least this when `better` is 'higher', at most when 'lower'. */
  readonly goal: number;
  /** Whether `ratio` reaches `goal`. */
  readonly met: boolean;
}

/** What `compare` needs: a row without `met`, and with `ratio` optional. */
export interface Comparison {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: number;
  /** Defaults to value / baseline; pass the median of paired per-round ratios when there is one. */
  readonly ratio?: number;
  readonly better: Better;
  readonly goal: number;
}

/** Whether `ratio` reaches `goal` in the direction `better`. */
export function goalMet(ratio: number, better: Better, goal: number): boolean {
  return better === 'higher' ? ratio >= goal : ratio <= goal;
}

/** A complete row: computes the ratio (unless given) and whether the goal is met. */
export function compare(comparison: Comparison): BenchRow {
  const ratio = comparison.ratio ?? comparison.value / comparison.baseline;
  return { ...comparison, ratio, met: goalMet(ratio, comparison.better, comparison.goal) };
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** True when every row meets its goal. */
export function allGoalsMet(rows: readonly BenchRow[]): boolean {
  return rows.every((row) => row.met);
}

const HEADERS = ['benchmark', 'ours', 'baseline', 'ratio', 'goal', 'met'] as const;

/** The rows as an aligned plain-text table, under `title`. */
export function formatTable(title: string, rows: readonly BenchRow[]): string {
  const cells = rows.map((row) => [
    row.name,
    `${formatNumber(row.value)} ${row.unit}`,
    `${formatNumber(row.baseline)} ${row.unit}`,
    `${row.ratio.toFixed(2)}x`,
    `${row.better === 'higher' ? '>=' : '<='} ${row.goal}x`,
    row.met ? 'yes' : 'NO',
  ]);
  const widths = HEADERS.map((header, column) => Math.max(header.length, ...cells.map((line) => line[column].length)));
  // Text columns align left, numeric ones right.
  const pad = (text: string, column: number): string =>
    column === 0 || column === HEADERS.length - 1 ? text.padEnd(widths[column]) : text.padStart(widths[column]);
  const render = (line: readonly string[]): string => line.map(pad).join('  ').trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [title, render(HEADERS), rule, ...cells.map(render)].join('\n');
}

/** Prints `formatTable(title, rows)` to stdout. */
export function printTable(title: string, rows: readonly BenchRow[]): void {
  process.stdout.write(`${formatTable(title, rows)}\n`);
}

/** Three significant digits, with thousands separators for large values. */
function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(3)).toString();
}
