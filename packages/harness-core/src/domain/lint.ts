/**
 * Parse `abra recipe lint`'s rule table. Its exit code only signals fatal errors, so the table is
 * the truth. Rows look like: │ R001 │ compose config has expected version │ ✅ │ error │ … │
 * (columns: ref, rule, satisfied, severity, …). Pure.
 */
import { stripAnsi } from './ansi.js';

export interface LintRule {
  readonly ref: string;
  readonly description: string;
  readonly satisfied: boolean;
  readonly severity: 'error' | 'warning';
}

export function parseLintTable(output: string): LintRule[] {
  const rules: LintRule[] = [];
  for (const raw of stripAnsi(output).split(/\r?\n/)) {
    const cells = raw
      .split(/[│|┃]/)
      .map((c) => c.trim())
      .filter((c, i, all) => !(c === '' && (i === 0 || i === all.length - 1)));
    if (cells.length < 4 || !/^R\d{3}$/.test(cells[0]!)) continue;
    const satisfied = /✅|\byes\b|\btrue\b/i.test(cells[2]!);
    const severity = /warn/i.test(cells[3]!) ? 'warning' : 'error';
    rules.push({ ref: cells[0]!, description: cells[1]!, satisfied, severity });
  }
  return rules;
}
