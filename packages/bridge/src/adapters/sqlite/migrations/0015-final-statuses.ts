import type { Migration } from './index.js';

/**
 * No commit status left pending (issue 13):
 * - `sha_statuses`: an outbox of final statuses for shas the PR card no longer shows (a newer
 *   !testme on another head sha superseded them); posted by the engine, retried with backoff.
 * - `runs.drone_waiting_since`: when the watcher first saw the build `blocked` or
 *   `waiting_on_dependencies`, so such a build frees its slot after CCCI_BLOCKED_TIMEOUT_S.
 */
export const finalStatusesMigration: Migration = {
  version: 15,
  name: 'final-statuses',
  sql: `
CREATE TABLE sha_statuses (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repo TEXT NOT NULL,
  sha TEXT NOT NULL,
  trigger_id INTEGER NOT NULL,   -- the superseded trigger (its run page is the target URL)
  description TEXT NOT NULL,
  posted_at TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT,
  last_error TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX sha_statuses_pending ON sha_statuses (id) WHERE posted_at IS NULL;
ALTER TABLE runs ADD COLUMN drone_waiting_since TEXT;
`,
};
