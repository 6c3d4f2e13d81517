import type { Migration } from './index.js';

/**
 * The regression rule's look-up (domain/regression.ts): a recipe's green cold runs, per
 * version. `IF NOT EXISTS`: harmless on a database that already has it.
 */
export const greenRunsMigration: Migration = {
  version: 21,
  name: 'green-runs',
  sql: `
CREATE INDEX IF NOT EXISTS runs_green ON runs (recipe, version, created_at, run_id)
  WHERE verdict = 'pass' AND quick = 0 AND status = 'finished';
`,
};
