import type { Migration } from './index.js';

/**
 * Intake: exactly-once comment handling, the trigger state machine's bookkeeping, the single
 * cc-ci comment per PR (replacing the unused pr_comments of migration 1), replies, and the last
 * contact with each upstream (for /healthz).
 */
export const intakeMigration: Migration = {
  version: 10,
  name: 'intake',
  sql: `
-- A comment id is handled once, at first sight, whichever path (poll or webhook) sees it first.
CREATE UNIQUE INDEX handled_comments_id ON handled_comments (comment_id);

DROP TABLE pr_comments;
-- The single cc-ci comment per PR. It follows the newest accepted trigger; rev counts changes to
-- what it should show, synced_rev what Gitea shows (comment body and commit status).
CREATE TABLE pr_cards (
  repo TEXT NOT NULL,
  pr INTEGER NOT NULL,
  trigger_id INTEGER NOT NULL REFERENCES triggers(id),
  comment_id INTEGER,
  rev INTEGER NOT NULL DEFAULT 1,
  synced_rev INTEGER NOT NULL DEFAULT 0,
  last_edit_at TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT,
  last_error TEXT,
  PRIMARY KEY (repo, pr)
);

-- Replies to single comments (malformed trigger, refusal, unknown repository): at most one each.
CREATE TABLE replies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  repo TEXT NOT NULL,
  pr INTEGER NOT NULL,
  in_reply_to INTEGER NOT NULL UNIQUE,   -- the comment id answered
  kind TEXT NOT NULL,                    -- malformed | refused | unknown_repo
  body TEXT NOT NULL,
  state TEXT NOT NULL,                   -- pending | posted | failed
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT,
  posted_comment_id INTEGER,
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX replies_state ON replies (state);

ALTER TABLE triggers ADD COLUMN source TEXT;            -- poll | webhook
ALTER TABLE triggers ADD COLUMN src TEXT;               -- clone URL sent as SRC
ALTER TABLE triggers ADD COLUMN build_number INTEGER;
ALTER TABLE triggers ADD COLUMN create_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE triggers ADD COLUMN last_error TEXT;

ALTER TABLE runs ADD COLUMN progress TEXT;              -- JSON {tier: running|pass|fail|skip|unver}
ALTER TABLE runs ADD COLUMN drone_finished_at TEXT;

CREATE TABLE upstream_contacts (
  upstream TEXT PRIMARY KEY,             -- gitea | drone
  last_ok_at TEXT,
  last_error_at TEXT,
  last_error TEXT
);
`,
};
