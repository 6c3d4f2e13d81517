import { afterEach, describe, expect, it } from '@jest/globals';
import { openDatabase, type Db } from '../adapters/sqlite/database.js';
import { IntakeStore } from './intake-store.js';

let dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs) db.close();
  dbs = [];
});

function setup() {
  const db = openDatabase({ path: ':memory:' });
  dbs.push(db);
  const store = new IntakeStore(db, () => new Date('2026-05-01T10:00:00Z'));
  const ids = () =>
    (
      db.prepare('SELECT delivery_id FROM webhook_deliveries ORDER BY delivery_id').all() as {
        delivery_id: string;
      }[]
    ).map((r) => r.delivery_id);
  return { db, store, ids };
}

describe('deliveries stored before the webhook answers', () => {
  it('commits the deliveries of one turn of the event loop together, each settled after the commit', async () => {
    const { store, ids } = setup();
    const inTurn = [
      store.storeDelivery({ id: 'a', eventType: 'pull_request_comment', body: '{}' }),
      store.storeDelivery({ id: 'b', eventType: 'pull_request_comment', outcome: 'ignored:body' }),
      store.storeDelivery({ id: 'a', eventType: 'pull_request_comment', outcome: 'ignored:body' }),
    ];
    // Nothing is written before the batch commits.
    expect(ids()).toEqual([]);
    expect(await Promise.all(inTurn)).toEqual([true, true, false]);
    expect(ids()).toEqual(['a', 'b']);
    expect(store.pendingDeliveries().map((d) => d.delivery_id)).toEqual(['a']);
    // A later turn is a batch of its own; a replay of a committed id is refused.
    expect(
      await store.storeDelivery({ id: 'a', eventType: 'pull_request_comment', body: '{}' }),
    ).toBe(false);
    expect(
      await store.storeDelivery({ id: 'x', eventType: 'pull_request_comment', body: '{}' }),
    ).toBe(true);
  });

  // One transaction for the batch: a delivery that cannot be stored takes the others with it.
  it('stores none of a batch whose commit fails, and rejects every delivery in it', async () => {
    const { db, store, ids } = setup();
    db.exec(`CREATE TEMP TRIGGER refuse BEFORE INSERT ON webhook_deliveries
             WHEN NEW.delivery_id = 'boom' BEGIN SELECT RAISE(ABORT, 'disk says no'); END`);
    const batch = [
      store.storeDelivery({ id: 'fine', eventType: 'pull_request_comment', body: '{}' }),
      store.storeDelivery({ id: 'boom', eventType: 'pull_request_comment', body: '{}' }),
    ];
    const settled = await Promise.allSettled(batch);
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of settled)
      expect(String((r as PromiseRejectedResult).reason)).toContain('disk says no');
    expect(ids()).toEqual([]);
    // The next batch is unaffected.
    expect(
      await store.storeDelivery({ id: 'fine', eventType: 'pull_request_comment', body: '{}' }),
    ).toBe(true);
  });
});
