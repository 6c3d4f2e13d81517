// Benchmark: status page and badge latency with 1,000 recipes × 30 runs in the store, and the
// bridge's memory under that load. Baseline in the same run: GET /healthz (a trivial route).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { results } from './lib/results.mjs';
import { ROUNDS, alternate } from './lib/rounds.mjs';

const root = new URL('../', import.meta.url);
const { buildApp, openDatabase, RunsStore } = await import(
  new URL('packages/bridge/dist/index.js', root).href
);

const RECIPES = Number(process.env.BENCH_RECIPES ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);

const pct = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function measure(url, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    times.push(performance.now() - t0);
  }
  return { p50: pct(times, 50), p99: pct(times, 99) };
}

export default async function bench({ log }) {
  const dir = await mkdtemp(join(tmpdir(), 'ccci-bench-bridge-'));
  const db = openDatabase({ path: join(dir, 'db.sqlite') });
  const store = new RunsStore(db);
  const t0 = performance.now();
  let n = 0;
  db.transaction(() => {
    for (let r = 0; r < RECIPES; r++)
      for (let i = 0; i < RUNS; i++)
        store.saveResults(`r${n}`, { results: results(`recipe-${r}`, i, n++), junit: {}, log: '' });
  })();
  log(`stored ${n} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const repos = Array.from({ length: RECIPES }, (_, r) => `recipe-maintainers/recipe-${r}`);
  const app = await buildApp({ db, repos, resultsToken: 'x'.repeat(20) });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  await measure(`${base}/healthz`, 20); // warm up
  await measure(`${base}/`, 5); // warm up: the first page load compiles the templates
  const [health, index] = await alternate([
    () => measure(`${base}/healthz`, REQUESTS),
    () => measure(`${base}/`, REQUESTS),
  ]);
  // After a write the page's data is read afresh (the store's cache is per write to runs).
  const afterWrite = [];
  for (let i = 0; i < 20; i++) {
    store.saveResults(`w${i}`, {
      results: results(`recipe-${i}`, RUNS + i, n++),
      junit: {},
      log: '',
    });
    afterWrite.push((await measure(`${base}/`, 1)).p50);
  }
  const written = { p50: pct(afterWrite, 50), max: Math.max(...afterWrite) };
  const recipe = await measure(`${base}/recipes/recipe-500`, REQUESTS);
  const badge = await measure(`${base}/badge/recipe-500.svg`, REQUESTS);
  const run = await measure(`${base}/runs/r15000`, REQUESTS);
  const rss = process.memoryUsage().rss / 2 ** 20;
  await app.close();
  db.close();
  return {
    name: 'Status page and badges',
    description: `${RECIPES} recipes × ${RUNS} runs (${n} runs) in a real SQLite file; sequential requests over loopback from the same process (${REQUESTS} of each page after a warm-up); baseline GET /healthz measured in the same run; the /healthz and / figures are the median of ${ROUNDS} alternating rounds of ${REQUESTS} loads each. The status page's latest run and regression per recipe are kept by the store and brought up to date on read for the recipes written since, and its flaky list (one indexed query) is re-read after any write (runs-store.ts): the steady figures are page loads between uploads, and "right after an upload" is the first load after one, which re-reads that recipe. Before this view the page read all 1,000 recipes on every load: p50 27.8 ms, p99 53.7 ms.`,
    rows: [
      { metric: 'baseline: /healthz p50', value: health.p50, unit: 'ms' },
      { metric: 'baseline: /healthz p99', value: health.p99, unit: 'ms' },
      { metric: '/ (1,000 recipes) p50', value: index.p50, unit: 'ms' },
      { metric: '/ (1,000 recipes) p99', value: index.p99, unit: 'ms' },
      { metric: '/ right after an upload, p50 (20 uploads)', value: written.p50, unit: 'ms' },
      { metric: '/ right after an upload, max', value: written.max, unit: 'ms' },
      { metric: '/recipes/:recipe p50', value: recipe.p50, unit: 'ms' },
      { metric: '/recipes/:recipe p99', value: recipe.p99, unit: 'ms' },
      { metric: '/badge/:recipe.svg p50', value: badge.p50, unit: 'ms' },
      { metric: '/badge/:recipe.svg p99', value: badge.p99, unit: 'ms' },
      { metric: '/runs/:runId p50', value: run.p50, unit: 'ms' },
      { metric: 'process RSS after the load', value: rss, unit: 'MiB' },
    ],
    ratio: [
      { label: 'status page p50 / healthz p50', value: index.p50 / health.p50 },
      { label: 'status page p99 / healthz p99', value: index.p99 / health.p99 },
      { label: 'badge p50 / healthz p50', value: badge.p50 / health.p50 },
      { label: 'recipe history p50 / healthz p50', value: recipe.p50 / health.p50 },
    ],
  };
}
