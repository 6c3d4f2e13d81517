import type { Migration } from './index.js';

/**
 * Bounded intake storage (issue 18): a delivery keeps its body only while it waits to be
 * handled, and only when it could be a trigger; pending deliveries are found through a partial
 * index instead of a scan; the retention pruner deletes by age through an index on received_at.
 *
 * SQLite cannot drop a NOT NULL constraint in place, so the table is rebuilt; bodies of handled
 * deliveries are dropped on the way (they were kept forever before).
 */
export const boundedDeliveriesMigration: Migration = {
  version: 11,
  name: 'bounded-deliveries',
  sql: `
CREATE TABLE webhook_deliveries_new (
  delivery_id TEXT PRIMARY KEY,
  event_type TEXT NOT NULL,
  body TEXT,                  -- NULL once handled, and for deliveries that cannot be triggers
  received_at TEXT NOT NULL,
  processed_at TEXT,
  outcome TEXT
);
INSERT INTO webhook_deliveries_new (delivery_id, event_type, body, received_at, processed_at, outcome)
  SELECT delivery_id, event_type, CASE WHEN processed_at IS NULL THEN body END, received_at, processed_at, outcome
  FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (received_at, delivery_id)
  WHERE processed_at IS NULL;
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);
`,
};
