import type { Migration } from './index.js';

/**
 * The core schema shared by intake (triggers → Drone builds) and results (status page).
 * Times are ISO 8601 UTC strings; booleans are 0/1.
 */
export const coreMigration: Migration = {
  version: 1,
  name: 'core',
  sql: `
-- Per-repo poll cursor: the newest comment updated_at seen (inclusive) for the comment list poll.
CREATE TABLE poll_cursors (
  repo TEXT PRIMARY KEY,                -- owner/name
  since TEXT NOT NULL,                  -- RFC3339 UTC
  updated_at TEXT NOT NULL
);

-- Every comment handled (by id + updated_at), whichever path saw it first: exactly-once intake.
CREATE TABLE handled_comments (
  comment_id INTEGER NOT NULL,
  comment_updated_at TEXT NOT NULL,
  repo TEXT NOT NULL,
  pr INTEGER,
  outcome TEXT NOT NULL,                -- triggered | ignored | refused | malformed | own
  source TEXT NOT NULL,                 -- poll | webhook
  handled_at TEXT NOT NULL,
  PRIMARY KEY (comment_id, comment_updated_at)
);

-- Webhook deliveries by X-Gitea-Delivery, stored before the 202 is sent.
CREATE TABLE webhook_deliveries (
  delivery_id TEXT PRIMARY KEY,
  event_type TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at TEXT NOT NULL,
  processed_at TEXT,
  outcome TEXT
);

-- A trigger: one accepted !testme (or refused/unknown, kept for visibility).
CREATE TABLE triggers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL UNIQUE, -- e.g. gitea-comment:<repo>:<comment id>
  repo TEXT NOT NULL,
  pr INTEGER NOT NULL,
  comment_id INTEGER,
  commenter TEXT NOT NULL,
  quick INTEGER NOT NULL DEFAULT 0,
  -- accepted → building → finished | failed; refused / unknown_repo are terminal and visible
  state TEXT NOT NULL,
  reason TEXT,
  head_sha TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX triggers_state ON triggers (state, next_attempt_at);
CREATE INDEX triggers_pr ON triggers (repo, pr, id);

-- The single cc-ci comment per PR (found again by its hidden marker) and the run it follows.
CREATE TABLE pr_comments (
  repo TEXT NOT NULL,
  pr INTEGER NOT NULL,
  comment_id INTEGER NOT NULL,
  current_run_id TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (repo, pr)
);

-- A run = one Drone build of CCCI_DRONE_REPO running recipe CI (started by us or not).
CREATE TABLE runs (
  run_id TEXT PRIMARY KEY,              -- the Drone build number, as text
  trigger_id INTEGER REFERENCES triggers(id),
  recipe TEXT NOT NULL,
  repo TEXT,                            -- owner/name of the recipe repo when known
  pr INTEGER,
  ref TEXT,
  head_sha TEXT,
  quick INTEGER NOT NULL DEFAULT 0,
  -- queued | running | finished | error
  status TEXT NOT NULL,
  drone_status TEXT,                    -- Drone's own build status
  build_link TEXT,
  verdict TEXT,                         -- pass | fail | error (null while running)
  level INTEGER,
  version TEXT,
  error TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX runs_recipe ON runs (recipe, created_at DESC);
CREATE INDEX runs_status ON runs (status);
`,
};
