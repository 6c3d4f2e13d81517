// Benchmark: the memory of the real `cc-ci-bridge` process (packages/bridge/dist/main.js, its
// own process, configured from the environment as operators run it) serving the status page, a
// recipe's history, badges and run pages from a store of 1,000 recipes × 30 runs, after storing
// 1,000 more results through its upload route. RSS and peak RSS are read from /proc/<pid>/status
// after the load. Baseline in the same run: the same process over an empty store, same load.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { results } from './lib/results.mjs';

const root = new URL('../', import.meta.url);
const { openDatabase, RunsStore } = await import(
  new URL('packages/bridge/dist/index.js', root).href
);
const MAIN = new URL('packages/bridge/dist/main.js', root).pathname;
/** Node's flags as the bridge image runs it: its ENTRYPOINT without `node` and the script. */
const NODE_FLAGS = JSON.parse(
  /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(
    readFileSync(new URL('docker/bridge.Dockerfile', root), 'utf8'),
  )[1],
).slice(1, -1);

const RECIPES = Number(process.env.BENCH_RECIPES ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 1000);
const TOKEN = 'bench-results-token-0123456789';

async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** A store file with `recipes` × RUNS runs (0: empty, the schema only). */
async function storeFile(recipes) {
  const path = join(await mkdtemp(join(tmpdir(), 'ccci-bench-proc-')), 'db.sqlite');
  const db = openDatabase({ path });
  const store = new RunsStore(db);
  let n = 0;
  db.transaction(() => {
    for (let r = 0; r < recipes; r++)
      for (let i = 0; i < RUNS; i++)
        store.saveResults(`r${n}`, { results: results(`recipe-${r}`, i, n++), junit: {}, log: '' });
  })();
  db.close();
  return { path, runs: n };
}

async function statusKib(pid) {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

async function get(url) {
  const res = await fetch(url);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
}

/** Start the bridge on `dbPath`, apply the load, read its memory, stop it. */
async function loadedBridge(dbPath, runs) {
  const port = await freePort();
  const repos = Array.from({ length: RECIPES }, (_, r) => `recipe-maintainers/recipe-${r}`);
  const child = spawn(process.execPath, [...NODE_FLAGS, MAIN], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      CCCI_DB_PATH: dbPath,
      CCCI_REPOS: repos.join(','),
      CCCI_POLL_INTERVAL_S: '0',
      CCCI_RESULTS_TOKEN: TOKEN,
      CCCI_PUBLIC_URL: 'http://ci.example.test',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`the bridge exited: ${stderr.slice(-500)}`);
      if (i > 300) throw new Error('the bridge did not answer /healthz within 30 s');
      const ok = await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const idle = await statusKib(child.pid);
    // Storing through the bridge's own upload route: UPLOADS results as the plugin sends them.
    for (let i = 0; i < UPLOADS; i++) {
      const res = await fetch(`${base}/api/runs/u${i}/results`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          results: { ...results(`recipe-${i % RECIPES}`, i % RUNS, runs + i), run_id: `u${i}` },
          junit: {},
          log: '',
        }),
      });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`upload u${i} answered ${res.status}`);
    }
    const last = Math.max(0, runs - 1);
    for (let i = 0; i < Math.max(20, REQUESTS / 10); i++) await get(`${base}/`);
    for (let i = 0; i < REQUESTS; i++) {
      const r = i % RECIPES;
      await get(`${base}/recipes/recipe-${r}`);
      await get(`${base}/badge/recipe-${r}.svg`);
      if (runs) await get(`${base}/runs/r${(i * 151) % (last + 1)}`);
    }
    return { idle, loaded: await statusKib(child.pid) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  }
}

export default async function bench({ log }) {
  const empty = await storeFile(0);
  const full = await storeFile(RECIPES);
  log(`stores ready (${full.runs} runs)`);
  // Alternating rounds: empty, full, empty, full, empty, full; the median of each.
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const baseline = [];
  const loaded = [];
  for (let i = 0; i < rounds; i++) {
    baseline.push(await loadedBridge(empty.path, 0));
    loaded.push(await loadedBridge(full.path, full.runs));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const b = {
    rss: median(baseline.map((x) => x.loaded.rss)),
    peak: median(baseline.map((x) => x.loaded.peak)),
  };
  const l = {
    idle: median(loaded.map((x) => x.idle.rss)),
    rss: median(loaded.map((x) => x.loaded.rss)),
    peak: median(loaded.map((x) => x.loaded.peak)),
  };
  return {
    name: 'Bridge process memory',
    description: `The real cc-ci-bridge process (dist/main.js, with the node flags of the bridge image's ENTRYPOINT: ${NODE_FLAGS.join(' ') || 'none'}) over a store of ${RECIPES} recipes × ${RUNS} runs (${full.runs} runs), after ${UPLOADS} result uploads through its upload route, ${Math.max(20, REQUESTS / 10)} status pages and ${REQUESTS} each of recipe history, badge and run page requests over loopback; RSS and peak RSS (VmHWM) from /proc/<pid>/status, median of ${rounds} alternating rounds. Baseline: the same process and load over an empty store.`,
    rows: [
      { metric: 'baseline: RSS, empty store, after the load', value: b.rss, unit: 'MiB' },
      { metric: 'baseline: peak RSS, empty store', value: b.peak, unit: 'MiB' },
      { metric: `RSS, ${full.runs} runs, before the load`, value: l.idle, unit: 'MiB' },
      { metric: `RSS, ${full.runs} runs, after the load`, value: l.rss, unit: 'MiB' },
      { metric: `peak RSS, ${full.runs} runs`, value: l.peak, unit: 'MiB' },
    ],
    ratio: [
      { label: 'RSS after the load: full store / empty store', value: l.rss / b.rss },
      { label: 'peak RSS: full store / empty store', value: l.peak / b.peak },
    ],
  };
}
