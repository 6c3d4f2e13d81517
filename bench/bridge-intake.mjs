// Benchmark: the bridge's intake against the fake Gitea and fake Drone on loopback.
// - webhook deliveries accepted per second, with p50/p99 latency of the 202, under 16 concurrent
//   senders; baseline: GET /healthz under the same load in the same run;
// - time from a comment being posted to the Drone build being created, webhook path and poll
//   path (poll interval 1 s);
// - Gitea API calls per poll cycle per repository when idle.
// The fakes are the TypeScript test fakes, compiled with swc into a temporary directory.
import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformFileSync } from '@swc/core';
import { ROUNDS, alternate } from './lib/rounds.mjs';

const root = new URL('../', import.meta.url);
const bridge = await import(new URL('packages/bridge/dist/index.js', root).href);
const { buildBridge, openDatabase, IntakeEngine, GiteaClient, DroneClient } = bridge;

const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 2000);
const CONCURRENCY = 16;
const TRIGGERS = Number(process.env.BENCH_TRIGGERS ?? 20);
const SECRET = 'bench-webhook-secret-0123456789';

async function loadFakes() {
  const out = mkdtempSync(join(tmpdir(), 'ccci-bench-fakes-'));
  const src = new URL('packages/bridge/test/fakes/', root).pathname;
  for (const f of readdirSync(src).filter((x) => x.endsWith('.ts'))) {
    const { code } = transformFileSync(join(src, f), {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
    });
    writeFileSync(join(out, f.replace(/\.ts$/, '.js')), code);
  }
  const gitea = await import(pathToFileURL(join(out, 'fake-gitea.js')).href);
  const drone = await import(pathToFileURL(join(out, 'fake-drone.js')).href);
  return { FakeGitea: gitea.FakeGitea, FakeDrone: drone.FakeDrone };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function load(n, fn) {
  const times = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await fn(i);
        times.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { perSec: n / secs, p50: pct(times, 50), p99: pct(times, 99) };
}

async function world(
  Fakes,
  dir,
  { repos = ['recipes/notes'], pollIntervalMs = 0, webhook = true } = {},
) {
  const gitea = await Fakes.FakeGitea.start();
  const drone = await Fakes.FakeDrone.start('drone-token-0123456789', 'ops/cc-ci');
  const bot = gitea.addUser('ccci-bot');
  gitea.addUser('maintainer');
  gitea.addOrg('coop-cloud', ['maintainer'], ['maintainer']);
  gitea.addUser('recipes');
  for (const r of repos) gitea.addRepo(r, { collaborators: { 'ccci-bot': 'admin' } });
  const db = openDatabase({ path: join(dir, `${randomUUID()}.sqlite`) });
  const quiet = { info() {}, warn() {}, error() {} };
  const built = await buildBridge({
    db,
    repos,
    resultsToken: 'results-token-0123456789',
    webhookSecret: webhook ? SECRET : undefined,
    intake: ({ intakeStore, runs, metrics }) =>
      new IntakeEngine({
        store: intakeStore,
        runs,
        metrics,
        gitea: new GiteaClient({ url: gitea.url, token: bot.token }),
        drone: new DroneClient({
          url: drone.url,
          token: 'drone-token-0123456789',
          repo: 'ops/cc-ci',
        }),
        log: quiet,
        repos,
        trustedOrgs: ['coop-cloud'],
        trustedUsers: [],
        maxConcurrentRuns: 64,
        publicUrl: 'http://ci.example.test',
        pollIntervalMs,
      }),
  });
  const url = await built.app.listen({ host: '127.0.0.1', port: 0 });
  built.engine.start();
  if (webhook) for (const r of repos) gitea.addHook(r, `${url}/hooks/gitea`, SECRET);
  return {
    gitea,
    drone,
    url,
    built,
    async close() {
      await built.app.close();
      await built.engine.stop();
      db.close();
      await gitea.settled();
      await gitea.close();
      await drone.close();
    },
  };
}

/** Time from each comment to its Drone build, one at a time. */
async function commentToBuild(w, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const pr = w.gitea.openPull('recipes/notes', { author: 'maintainer' });
    const built = new Promise((resolve) => (w.drone.onBuild = () => resolve(performance.now())));
    const t0 = performance.now();
    w.gitea.comment('recipes/notes', pr, 'maintainer', '!testme');
    const t1 = await Promise.race([
      built,
      new Promise((_, rej) => setTimeout(() => rej(new Error('no build within 30 s')), 30_000)),
    ]);
    times.push(t1 - t0);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { p50: pct(times, 50), p99: pct(times, 99), max: Math.max(...times) };
}

export default async function bench({ log }) {
  const Fakes = await loadFakes();
  const dir = mkdtempSync(join(tmpdir(), 'ccci-bench-intake-'));
  mkdirSync(dir, { recursive: true });

  // 1. Webhook acceptance vs /healthz.
  const w1 = await world(Fakes, dir);
  const body = JSON.stringify(
    {
      action: 'created',
      is_pull: true,
      issue: { number: 1, pull_request: { merged: false } },
      comment: {
        id: 0,
        body: 'LGTM, thanks!',
        user: { login: 'maintainer' },
        updated_at: new Date().toISOString(),
      },
      repository: { full_name: 'recipes/notes', clone_url: 'http://x/recipes/notes.git' },
      sender: { login: 'maintainer' },
      pad: 'x'.repeat(3000), // real payloads carry full issue/repository/user objects: a few KiB
    },
    null,
    2,
  );
  const sig = createHmac('sha256', SECRET).update(body).digest('hex');
  const health = () =>
    load(DELIVERIES, async () => {
      const r = await fetch(`${w1.url}/healthz`);
      await r.arrayBuffer();
    });
  const webhooks = () =>
    load(DELIVERIES, async () => {
      const r = await fetch(`${w1.url}/hooks/gitea`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-gitea-delivery': randomUUID(),
          'x-gitea-event-type': 'pull_request_comment',
          'x-gitea-signature': sig,
        },
        body,
      });
      await r.arrayBuffer();
      if (r.status !== 202) throw new Error(`webhook answered ${r.status}`);
    });
  const [healthz, hooks] = await alternate([health, webhooks]);
  log(
    `webhooks: ${hooks.perSec.toFixed(0)}/s p50 ${hooks.p50.toFixed(2)} ms (healthz ${healthz.perSec.toFixed(0)}/s)`,
  );
  await w1.close();

  // 2. Comment → build, webhook path.
  const w2 = await world(Fakes, dir);
  const viaHook = await commentToBuild(w2, TRIGGERS);
  log(`webhook path: comment → build p50 ${viaHook.p50.toFixed(1)} ms`);
  await w2.close();

  // 3. Comment → build, poll path (1 s interval), then idle calls per cycle.
  const repos = ['recipes/notes', 'recipes/a', 'recipes/b', 'recipes/c', 'recipes/d'];
  const w3 = await world(Fakes, dir, { repos, pollIntervalMs: 1000, webhook: false });
  const viaPoll = await commentToBuild(w3, Math.min(TRIGGERS, 10));
  log(`poll path: comment → build p50 ${viaPoll.p50.toFixed(0)} ms`);
  await new Promise((r) => setTimeout(r, 1500)); // let the last card settle
  const before = w3.gitea.exchanges.length;
  const pollsBefore = w3.gitea.exchanges.filter(
    (e) => e.route === '/repos/{owner}/{repo}/issues/comments',
  ).length;
  await new Promise((r) => setTimeout(r, 5000));
  const calls = w3.gitea.exchanges.length - before;
  const cycles =
    (w3.gitea.exchanges.filter((e) => e.route === '/repos/{owner}/{repo}/issues/comments').length -
      pollsBefore) /
    repos.length;
  await w3.close();
  const perRepoCycle = calls / (cycles * repos.length);
  log(
    `idle: ${calls} Gitea calls in ${cycles} cycles × ${repos.length} repos = ${perRepoCycle.toFixed(2)} per repo per cycle`,
  );

  return {
    name: 'Bridge intake (webhook, polling, Drone triggering)',
    description: `Bridge in-process with a real SQLite file; fake Gitea and fake Drone on loopback. ${DELIVERIES} signed deliveries of a ~3.5 KiB payload from ${CONCURRENCY} concurrent senders (each stored before the 202); baseline GET /healthz under the same load in the same run; median of ${ROUNDS} alternating rounds (healthz, webhooks, …). Comment → build: ${TRIGGERS} sequential !testme comments (webhook) and ${Math.min(TRIGGERS, 10)} with polling every 1 s; each includes the trust checks (PR, org membership) and the Drone create.`,
    rows: [
      { metric: 'baseline: /healthz requests/s', value: healthz.perSec, unit: '/s' },
      { metric: 'webhook deliveries accepted/s', value: hooks.perSec, unit: '/s' },
      { metric: 'webhook 202 latency p50', value: hooks.p50, unit: 'ms' },
      { metric: 'webhook 202 latency p99', value: hooks.p99, unit: 'ms' },
      { metric: 'baseline: /healthz latency p50', value: healthz.p50, unit: 'ms' },
      { metric: 'comment → build, webhook path p50', value: viaHook.p50, unit: 'ms' },
      { metric: 'comment → build, webhook path p99', value: viaHook.p99, unit: 'ms' },
      { metric: 'comment → build, poll path (1 s interval) p50', value: viaPoll.p50, unit: 'ms' },
      { metric: 'comment → build, poll path (1 s interval) max', value: viaPoll.max, unit: 'ms' },
      {
        metric: 'Gitea API calls per poll cycle per repo, idle',
        value: perRepoCycle,
        unit: 'calls',
      },
    ],
    ratio: [
      { label: 'webhook accepted/s ÷ healthz/s', value: hooks.perSec / healthz.perSec },
      { label: 'webhook p50 ÷ healthz p50', value: hooks.p50 / healthz.p50 },
    ],
  };
}
