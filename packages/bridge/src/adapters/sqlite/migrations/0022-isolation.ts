import type { Migration } from './index.js';

/**
 * The isolation re-run's label of a run (results.isolation.label: genuine, flaky or changed;
 * NULL without one), filled on upload, backfilled here from the results already stored; and the
 * status page's "Flaky recently" look-up: the recipes with a flaky run.
 */
export const isolationMigration: Migration = {
  version: 22,
  name: 'isolation',
  sql: `
ALTER TABLE runs ADD COLUMN isolation TEXT;
UPDATE runs SET isolation = (
  SELECT json_extract(x.results_json, '$.isolation.label') FROM run_results x
  WHERE x.run_id = runs.run_id AND json_valid(x.results_json))
WHERE run_id IN (SELECT run_id FROM run_results);
UPDATE runs SET isolation = NULL WHERE isolation NOT IN ('genuine', 'flaky', 'changed');
CREATE INDEX runs_flaky ON runs (recipe) WHERE isolation = 'flaky';
`,
};
