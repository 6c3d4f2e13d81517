// Benchmark (issue 18): webhook intake with a year's history stored vs an empty database.
// - pending-delivery lookup (the query every engine tick and every delivery runs), p50 over
//   2,000 lookups, with 0 and with 50,000 stored deliveries;
// - webhook deliveries accepted per second over loopback (8 concurrent senders, real-size ~19 KB
//   Gitea payloads, one in ten a `!testme`), with 0 and with 50,000 stored deliveries.
// The 50,000 are what the route keeps of real traffic: ids/outcomes of handled and non-trigger
// deliveries (one in a hundred was a trigger). Figures are ratios against the empty database.
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformFileSync } from '@swc/core';
import Fastify from 'fastify';

const root = new URL('../', import.meta.url);
const dist = (p) => import(new URL(`packages/bridge/dist/${p}`, root).href);
const { openDatabase } = await dist('adapters/sqlite/database.js');
const { IntakeStore } = await dist('intake/intake-store.js');
const { webhookRoutes, screenDelivery } = await dist('intake/webhook-routes.js');
const { createMetrics } = await dist('metrics.js');
const { RunsStore } = await dist('store/runs-store.js');

const STORED = Number(process.env.BENCH_STORED_DELIVERIES ?? 50_000);
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 2_000);
const LOOKUPS = 2_000;
const CONCURRENCY = 8;
const SECRET = 'bench-webhook-secret-0123456789';

async function loadPayloads() {
  const out = mkdtempSync(join(tmpdir(), 'ccci-bench-payload-'));
  const src = new URL('packages/bridge/test/support/gitea-payload.ts', root).pathname;
  const { code } = transformFileSync(src, {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
  });
  writeFileSync(join(out, 'gitea-payload.js'), code);
  return (await import(pathToFileURL(join(out, 'gitea-payload.js')).href)).giteaCommentPayload;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

function fill(store, n, payload) {
  const plain = screenDelivery(JSON.parse(payload({ commentId: 1 })));
  const trigger = screenDelivery(JSON.parse(payload({ commentId: 2, body: '!testme' })));
  store.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = `hist-${i}`;
      if (i % 100 === 0) {
        store.saveDelivery(id, 'pull_request_comment', trigger.slim);
        store.markDelivery(id, 'triggered');
      } else store.recordDelivery(id, 'pull_request_comment', plain.outcome);
    }
  })();
}

async function measure(stored, payload, dir) {
  const db = openDatabase({ path: join(dir, `${randomUUID()}.sqlite`) });
  const store = new IntakeStore(db, () => new Date());
  fill(store, stored, payload);
  const app = Fastify();
  await app.register(webhookRoutes, {
    secret: SECRET,
    store,
    metrics: createMetrics(new RunsStore(db)),
    kick: () => {},
    retention: { maxAgeDays: 14, maxRows: 1_000_000 },
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  const bodies = [payload({ commentId: 10 }), payload({ commentId: 11, body: '!testme' })].map(
    (b) => ({ b, sig: createHmac('sha256', SECRET).update(b).digest('hex') }),
  );
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < DELIVERIES) {
        const i = next++;
        const { b, sig } = bodies[i % 10 === 0 ? 1 : 0];
        const r = await fetch(`${url}/hooks/gitea`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-gitea-delivery': `bench-${i}`,
            'x-gitea-event-type': 'pull_request_comment',
            'x-gitea-signature': sig,
          },
          body: b,
        });
        await r.arrayBuffer();
        if (r.status !== 202) throw new Error(`webhook answered ${r.status}`);
      }
    }),
  );
  const perSec = DELIVERIES / ((performance.now() - t0) / 1000);
  // Now with the !testme deliveries just accepted still pending, as between engine ticks.
  const lookups = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const t = performance.now();
    store.pendingDeliveries();
    lookups.push(performance.now() - t);
  }

  db.pragma('wal_checkpoint(TRUNCATE)');
  const bytes =
    db.pragma('page_count', { simple: true }) * db.pragma('page_size', { simple: true });
  await app.close();
  db.close();
  return { lookupP50: pct(lookups, 50), lookupP99: pct(lookups, 99), perSec, bytes };
}

export default async function bench({ log }) {
  const payload = await loadPayloads();
  const size = payload({ commentId: 1 }).length;
  const dir = mkdtempSync(join(tmpdir(), 'ccci-bench-history-'));
  await measure(0, payload, dir); // warm-up (JIT, SQLite page cache), not reported
  const empty = await measure(0, payload, dir);
  log(`empty: lookup p50 ${empty.lookupP50.toFixed(3)} ms, ${empty.perSec.toFixed(0)}/s`);
  const full = await measure(STORED, payload, dir);
  log(`${STORED} stored: lookup p50 ${full.lookupP50.toFixed(3)} ms, ${full.perSec.toFixed(0)}/s`);
  return {
    name: 'Bridge intake with a year of stored deliveries',
    description: `Webhook route and IntakeStore in-process on a real SQLite file; ${STORED} stored deliveries as the route keeps real traffic (one in a hundred a handled trigger, the rest non-trigger comments recorded without body) vs an empty database. Acceptance: ${DELIVERIES} signed deliveries of a ${(size / 1024).toFixed(1)} KiB real-shape Gitea payload (one in ten a !testme) from ${CONCURRENCY} concurrent senders over loopback. Lookup: pendingDeliveries() ${LOOKUPS} times right after, with the accepted !testme deliveries pending. A warm-up round runs first. Before issue 18 the same route kept every body and scanned the table: 247 deliveries/s at 4k rows, 26/s at 16k (315 MB).`,
    rows: [
      {
        metric: 'baseline: pending lookup p50, empty database',
        value: empty.lookupP50,
        unit: 'ms',
      },
      { metric: `pending lookup p50, ${STORED} stored`, value: full.lookupP50, unit: 'ms' },
      { metric: `pending lookup p99, ${STORED} stored`, value: full.lookupP99, unit: 'ms' },
      {
        metric: 'baseline: deliveries accepted/s, empty database',
        value: empty.perSec,
        unit: '/s',
      },
      { metric: `deliveries accepted/s, ${STORED} stored`, value: full.perSec, unit: '/s' },
      { metric: `database size, ${STORED} stored`, value: full.bytes / 2 ** 20, unit: 'MiB' },
    ],
    ratio: [
      {
        label: `acceptance rate with ${STORED} stored ÷ empty database`,
        value: full.perSec / empty.perSec,
      },
      {
        label: `pending lookup p50 with ${STORED} stored ÷ empty database`,
        value: full.lookupP50 / empty.lookupP50,
      },
    ],
  };
}
