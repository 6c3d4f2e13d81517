import type { Migration } from './index.js';

/** Uploaded results of a run: results.json, JUnit files and the redacted run log. */
export const runResultsMigration: Migration = {
  version: 20,
  name: 'run-results',
  sql: `
CREATE TABLE run_results (
  run_id TEXT PRIMARY KEY REFERENCES runs(run_id),
  results_json TEXT NOT NULL,
  junit_json TEXT NOT NULL,     -- {"install.xml": "<xml>", ...}
  log TEXT NOT NULL,
  received_at TEXT NOT NULL
);
`,
};
