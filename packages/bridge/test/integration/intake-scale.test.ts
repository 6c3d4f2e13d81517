/**
 * Bounded intake storage (issue 18): 50,000 real-size signed deliveries through the webhook route
 * into a real SQLite file. Non-trigger comments are kept without their body, handled deliveries
 * lose theirs, the pending query is served by an index, and the retention policy bounds the file.
 * Timings are in bench/bridge-intake-history.mjs (docs/benchmarks.md), not asserted here.
 */
import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { openDatabase, type Db } from '../../src/adapters/sqlite/database.js';
import { IntakeStore } from '../../src/intake/intake-store.js';
import { screenDelivery, webhookRoutes } from '../../src/intake/webhook-routes.js';
import { createMetrics } from '../../src/metrics.js';
import { RunsStore } from '../../src/store/runs-store.js';
import { giteaCommentPayload } from '../support/gitea-payload.js';
import { WEBHOOK_SECRET } from '../support/intake-kit.js';

const TOTAL = 50_000;
/** One comment in this many is a `!testme` (Gitea sends every comment of an enrolled repo). */
const TRIGGER_EVERY = 100;
const RETENTION = { maxAgeDays: 14, maxRows: 20_000 };

async function intakeApp(now: () => Date) {
  const db = openDatabase({ path: join(mkdtempSync(join(tmpdir(), 'ccci-scale-')), 'db.sqlite') });
  const store = new IntakeStore(db, now);
  const app = Fastify();
  await app.register(webhookRoutes, {
    secret: WEBHOOK_SECRET,
    store,
    metrics: createMetrics(new RunsStore(db)),
    kick: () => {},
    retention: RETENTION,
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { db, store, app, base };
}

/** POST one signed delivery over loopback; resolves to {status, json}. */
async function send(base: string, id: string, body: string) {
  const res = await fetch(`${base}/hooks/gitea`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-gitea-delivery': id,
      'x-gitea-event-type': 'pull_request_comment',
      'x-gitea-signature': createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex'),
    },
  });
  return { statusCode: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** What the route does after the signature check, without HTTP. */
async function storeLikeRoute(store: IntakeStore, id: string, raw: string) {
  const screen = screenDelivery(JSON.parse(raw) as Record<string, unknown>);
  if (screen.kind === 'invalid') return { statusCode: 400, json: {} };
  if (screen.kind === 'drop') {
    store.recordDelivery(id, 'pull_request_comment', screen.outcome);
    return { statusCode: 202, json: { outcome: 'ignored' } };
  }
  store.saveDelivery(id, 'pull_request_comment', screen.slim);
  return { statusCode: 202, json: { outcome: 'accepted' } };
}

const fileBytes = (db: Db) => {
  db.pragma('wal_checkpoint(TRUNCATE)');
  return (
    (db.pragma('page_count', { simple: true }) as number) *
    (db.pragma('page_size', { simple: true }) as number)
  );
};

const PENDING_SQL = `SELECT delivery_id, event_type, COALESCE(body, '') AS body FROM webhook_deliveries WHERE processed_at IS NULL ORDER BY received_at, delivery_id LIMIT 100`;

describe('webhook delivery storage', () => {
  it('stays bounded and index-served with 50,000 real-size deliveries stored', async () => {
    let clock = Date.parse('2026-11-01T00:00:00Z');
    const { db, store, app, base } = await intakeApp(() => new Date(clock));
    const plain = giteaCommentPayload({ commentId: 1 });
    expect(plain.length).toBeGreaterThan(18_000); // real Gitea 1.2x payloads are ~19 KB
    const trigger = giteaCommentPayload({ commentId: 2, body: '!testme' });

    const sizes: number[] = [];
    // The first 45,000 go through the route's own screening straight into the store (the HTTP
    // part costs ~2 ms a request under Jest); the last 5,000 through the real route on loopback.
    const VIA_HTTP_FROM = TOTAL - 5_000;
    const BATCH = 8; // concurrent senders, as Gitea's delivery workers are
    for (let i = 1; i <= TOTAL; i += BATCH) {
      const batch = Array.from({ length: BATCH }, (_, k) => i + k);
      const answers = await Promise.all(
        batch.map((n) => {
          clock += 60_000; // one comment a minute: ≈ 35 days in all, past the 14-day retention
          const body = n % TRIGGER_EVERY === 0 ? trigger : plain;
          return n > VIA_HTTP_FROM
            ? send(base, `d-${n}`, body)
            : storeLikeRoute(store, `d-${n}`, body);
        }),
      );
      for (const [k, res] of answers.entries()) {
        const n = batch[k]!;
        expect(res.statusCode).toBe(202);
        if (n % TRIGGER_EVERY !== 0) continue;
        expect(res.json).toMatchObject({ outcome: 'accepted' });
        // The engine handles it on its next tick and marks it; the body goes with the mark.
        store.markDelivery(`d-${n}`, 'triggered');
      }
      if ((i + BATCH - 1) % 5_000 === 0) {
        store.pruneDeliveries(RETENTION); // what the route's hourly timer does
        sizes.push(fileBytes(db));
      }
    }

    // Nothing but ids, outcomes and times was kept for handled and non-trigger deliveries.
    const withBody = db
      .prepare('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE body IS NOT NULL')
      .get() as { n: number };
    expect(withBody.n).toBe(0);
    const rows = (db.prepare('SELECT COUNT(*) AS n FROM webhook_deliveries').get() as { n: number })
      .n;
    expect(rows).toBeLessThanOrEqual(RETENTION.maxRows);
    // The age limit: after the last prune nothing handled is older than 14 days.
    const oldest = db.prepare('SELECT MIN(received_at) AS t FROM webhook_deliveries').get() as {
      t: string;
    };
    expect(clock - Date.parse(oldest.t)).toBeLessThanOrEqual(14 * 86_400_000);

    // The file stopped growing once retention started deleting (freed pages are reused), and is
    // a small fraction of the ~1 GB the bodies alone would take.
    const plateau = sizes[Math.floor(sizes.length / 2)]!;
    expect(sizes.at(-1)!).toBeLessThanOrEqual(plateau * 1.5);
    expect(sizes.at(-1)!).toBeLessThan(20 * 1024 * 1024);

    // A new !testme is still accepted and found pending through the partial index.
    const res = await send(base, 'd-last', giteaCommentPayload({ commentId: 3, body: '!testme' }));
    expect(res.statusCode).toBe(202);
    expect(store.pendingDeliveries().map((d) => d.delivery_id)).toEqual(['d-last']);
    const plan = db.prepare(`EXPLAIN QUERY PLAN ${PENDING_SQL}`).all() as Array<{ detail: string }>;
    const details = plan.map((p) => p.detail).join(' | ');
    expect(details).toMatch(/USING INDEX webhook_deliveries_pending/);
    expect(details).not.toMatch(/USE TEMP B-TREE/); // no sort of the whole table either
    await app.close();
    db.close();
  }, 600_000);

  it('keeps only the trigger fields of a candidate, bounded, and drops everything else', async () => {
    const { db, store, app, base } = await intakeApp(() => new Date());
    await send(base, 'a', giteaCommentPayload({ commentId: 1 }));
    await send(base, 'b', giteaCommentPayload({ commentId: 2, body: '!testme --quick' }));
    const rows = db
      .prepare(
        'SELECT delivery_id, body, processed_at, outcome FROM webhook_deliveries ORDER BY delivery_id',
      )
      .all() as Array<{
      delivery_id: string;
      body: string | null;
      processed_at: string | null;
      outcome: string | null;
    }>;
    expect(rows[0]).toMatchObject({ delivery_id: 'a', body: null, outcome: 'ignored:body' });
    expect(rows[0]!.processed_at).not.toBeNull();
    expect(rows[1]!.body!.length).toBeLessThan(400);
    expect(JSON.parse(rows[1]!.body!)).toEqual({
      action: 'created',
      is_pull: true,
      issue: { number: 7 },
      comment: {
        id: 2,
        body: '!testme --quick',
        updated_at: '2026-11-22T10:00:00Z',
        user: { login: 'maintainer' },
      },
      repository: { full_name: 'recipes/notes' },
    });
    // A replay of a dropped delivery is still recognised.
    expect((await send(base, 'a', giteaCommentPayload({ commentId: 1 }))).statusCode).toBe(200);
    expect(store.pendingDeliveries()).toHaveLength(1);
    await app.close();
    db.close();
  });

  it('prunes handled deliveries past the age limit and never a pending one', async () => {
    let clock = Date.parse('2026-11-01T00:00:00Z');
    const { db, store, app } = await intakeApp(() => new Date(clock));
    store.recordDelivery('old', 'pull_request_comment', 'ignored:body');
    store.saveDelivery('pending', 'pull_request_comment', '{}');
    clock += 15 * 86_400_000;
    store.recordDelivery('new', 'pull_request_comment', 'ignored:body');
    expect(store.pruneDeliveries({ maxAgeDays: 14, maxRows: 1_000 })).toBe(1);
    const ids = (
      db.prepare('SELECT delivery_id FROM webhook_deliveries ORDER BY 1').all() as Array<{
        delivery_id: string;
      }>
    ).map((r) => r.delivery_id);
    expect(ids).toEqual(['new', 'pending']);
    await app.close();
    db.close();
  });
});
