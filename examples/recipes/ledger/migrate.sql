-- ledger's schema, applied by the app when it starts (one transaction); every step is
-- idempotent, so a release applies the steps of every release before it.
-- 0.1.0: entries, and the schema version
CREATE TABLE IF NOT EXISTS entries (id serial PRIMARY KEY, note text NOT NULL);
CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);
-- 0.2.0: amounts, in cents
ALTER TABLE entries ADD COLUMN IF NOT EXISTS amount integer NOT NULL DEFAULT 0;
-- 0.3.0: when each entry was made
ALTER TABLE entries ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX IF NOT EXISTS entries_created_at ON entries (created_at);
DELETE FROM schema_version;
INSERT INTO schema_version VALUES (3);
