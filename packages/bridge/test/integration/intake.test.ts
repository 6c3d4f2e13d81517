/**
 * Intake end to end on loopback: fake Gitea (webhooks, comments, PRs, statuses) → the bridge
 * (real HTTP server, real SQLite file) → fake Drone. Each test builds a fresh world.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { GiteaClient } from '../../src/adapters/gitea/gitea-client.js';
import { CARD_MARKER } from '../../src/domain/card.js';
import { STATUS_CONTEXT } from '../../src/intake/engine.js';
import {
  DRONE_PUBLIC_URL,
  DRONE_REPO,
  RECIPE_REPO,
  WEBHOOK_SECRET,
  runTokenOf,
  startBridge,
  startWorld,
  until,
  type Bridge,
  type World,
} from '../support/intake-kit.js';
import { makeResults } from '../support/results.js';

let world: (World & { pr: number }) | null = null;
let bridge: Bridge | null = null;

afterEach(async () => {
  await bridge?.stop();
  bridge = null;
  await world?.close();
  world = null;
});

async function setup(o: Parameters<typeof startBridge>[1] = {}) {
  world = await startWorld();
  bridge = await startBridge(world, o);
  if (o.webhook !== false)
    world.gitea.addHook(RECIPE_REPO, `${bridge.url}/hooks/gitea`, WEBHOOK_SECRET);
  return { w: world, b: bridge };
}

const botComments = (w: World, pr: number) =>
  w.gitea.commentsOn(RECIPE_REPO, pr).filter((c) => c.login === 'ccci-bot');
const cards = (w: World, pr: number) =>
  botComments(w, pr).filter((c) => c.body.startsWith(CARD_MARKER));

/** Let every pending delivery and worker pass finish, then a little more (no extra effects may appear). */
async function settle(w: World, b: Bridge): Promise<void> {
  await w.gitea.settled();
  for (let i = 0; i < 4; i++) {
    await b.engine.tick();
    await new Promise((r) => setTimeout(r, 60));
  }
  await w.gitea.settled();
}

function sign(body: string, secret = WEBHOOK_SECRET) {
  return createHmac('sha256', secret).update(body).digest('hex');
}

async function postHook(b: Bridge, body: string, headers: Record<string, string> = {}) {
  return fetch(`${b.url}/hooks/gitea`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-gitea-delivery': `d-${Math.random().toString(16).slice(2)}`,
      'x-gitea-event': 'issue_comment',
      'x-gitea-event-type': 'pull_request_comment',
      'x-gitea-signature': sign(body),
      ...headers,
    },
    body,
  });
}

describe('webhook path', () => {
  it('a trusted !testme creates exactly one build with the whitelisted params, one ack comment and a pending status', async () => {
    const { w, b } = await setup();
    const pull = w.gitea.pull(RECIPE_REPO, w.pr)!;
    const c = w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(
      () => w.drone.builds.length === 1 && cards(w, w.pr).length === 1,
      10_000,
      'build and card',
    );
    await settle(w, b);
    expect(w.drone.builds).toHaveLength(1);
    const params = w.drone.builds[0]!.params!;
    expect(params).toEqual({
      RECIPE: 'notes',
      PR: String(w.pr),
      REF: pull.headSha,
      SRC: `${w.gitea.url}/${RECIPE_REPO}.git`,
      STAGES: '',
      CCCI_QUICK: '0',
      CCCI_TRIGGER: `gitea-comment:${c.id}`,
      CCCI_RUN_TOKEN: expect.stringMatching(/^ccci-run\.\d+\.[A-Za-z0-9_-]{43}$/),
    });
    expect(cards(w, w.pr)).toHaveLength(1);
    expect(botComments(w, w.pr)).toHaveLength(1);
    const status = w.gitea.latestStatus(RECIPE_REPO, pull.headSha, STATUS_CONTEXT)!;
    expect(status.state).toBe('pending');
    expect(status.target_url).toBe('http://ci.example.test/runs/1');
    // The delivery was answered 202 and stored.
    expect(w.gitea.deliveries.find((d) => d.body.includes('"!testme"'))?.status).toBe(202);
  });

  it('!testme --quick asks for a quick run', async () => {
    const { w } = await setup();
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '  !testme --quick \n');
    await until(() => w.drone.builds.length === 1, 10_000, 'build');
    expect(w.drone.builds[0]!.params!.CCCI_QUICK).toBe('1');
  });

  it('a replayed delivery, an edit of the trigger, and the bot’s own comments create nothing more', async () => {
    const { w, b } = await setup();
    const c = w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(
      () => w.drone.builds.length === 1 && cards(w, w.pr).length === 1,
      10_000,
      'first build',
    );
    await settle(w, b);
    const first = w.gitea.deliveries.find(
      (d) =>
        d.body.includes(`"id": ${c.id},`) &&
        d.headers['x-gitea-event-type'] === 'pull_request_comment',
    )!;
    expect(await w.gitea.redeliver(first)).toBe(200);
    w.gitea.editComment(c.id, '!testme');
    w.gitea.editComment(c.id, '!testme --quick');
    w.gitea.comment(RECIPE_REPO, w.pr, 'ccci-bot', '!testme');
    await settle(w, b);
    expect(w.drone.builds).toHaveLength(1);
    expect(cards(w, w.pr)).toHaveLength(1);
    // The bot's own card edits came back as webhooks and were recognised as its own.
    const outcomes = b.db
      .prepare(`SELECT outcome, COUNT(*) AS n FROM webhook_deliveries GROUP BY outcome`)
      .all() as Array<{ outcome: string; n: number }>;
    expect(outcomes.find((o) => o.outcome === 'triggered')?.n).toBe(1);
  });

  it('refuses bad signatures (401), oversized bodies (413), malformed JSON (400) and stores nothing', async () => {
    const { b } = await setup();
    const body = JSON.stringify({ action: 'created' });
    const forged = await postHook(b, body, {
      'x-gitea-signature': sign(body, 'wrong-secret-0123456789'),
    });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ code: 'BAD_SIGNATURE' });
    expect((await postHook(b, body, { 'x-gitea-signature': '' })).status).toBe(401);
    expect((await postHook(b, body, { 'x-gitea-signature': 'sha256=' + sign(body) })).status).toBe(
      401,
    );
    const big = await postHook(b, JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: 'BODY_TOO_LARGE' });
    const bad = '{"action": "created",';
    const res = await postHook(b, bad);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: expect.stringMatching(/not valid JSON/),
      code: 'BAD_WEBHOOK',
    });
    expect((await postHook(b, body, { 'x-gitea-delivery': '' })).status).toBe(400);
    expect(
      (b.db.prepare('SELECT COUNT(*) AS n FROM webhook_deliveries').get() as { n: number }).n,
    ).toBe(0);
  });

  it('answers other event types 202 without storing them', async () => {
    const { b } = await setup();
    const res = await postHook(b, '{"ref":"refs/heads/main"}', {
      'x-gitea-event-type': 'push',
      'x-gitea-event': 'push',
    });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { outcome: string }).outcome).toBe('ignored');
  });
});

describe('poll path', () => {
  it('a !testme seen only by polling creates one build and an ack; a comment posted while the bridge was down is handled after restart', async () => {
    world = await startWorld();
    const w = world;
    bridge = await startBridge(w, { webhook: false, pollIntervalMs: 100 });
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(
      () => w.drone.builds.length === 1 && cards(w, w.pr).length === 1,
      10_000,
      'build from poll',
    );
    await bridge.stop();
    bridge = null;
    // Down: a second PR gets a !testme.
    const pr2 = w.gitea.openPull(RECIPE_REPO, { author: 'writer' });
    w.gitea.comment(RECIPE_REPO, pr2, 'writer', '!testme');
    bridge = await startBridge(w, { webhook: false, pollIntervalMs: 100 });
    await until(
      () => w.drone.builds.length === 2 && cards(w, pr2).length === 1,
      10_000,
      'build after restart',
    );
    await settle(w, bridge);
    expect(w.drone.builds.map((b) => b.params!.PR)).toEqual([String(w.pr), String(pr2)]);
    expect(cards(w, w.pr)).toHaveLength(1);
    // Poll requests send `since` in UTC with Z and never get a 422.
    const polls = w.gitea.exchanges.filter(
      (e) => e.route === '/repos/{owner}/{repo}/issues/comments',
    );
    expect(polls.length).toBeGreaterThan(2);
    for (const p of polls) {
      expect(p.query.get('since')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(p.status).toBe(200);
    }
  });

  it('the same comment seen by the webhook and by polling creates one build', async () => {
    const { w, b } = await setup({ pollIntervalMs: 50 });
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => w.drone.builds.length === 1 && cards(w, w.pr).length === 1, 10_000, 'build');
    await until(
      async () =>
        (
          (await b.store.db.prepare(`SELECT COUNT(*) AS n FROM handled_comments`).get()) as {
            n: number;
          }
        ).n >= 1,
    );
    await new Promise((r) => setTimeout(r, 400)); // several polls overlap the comment
    await settle(w, b);
    expect(w.drone.builds).toHaveLength(1);
    expect(cards(w, w.pr)).toHaveLength(1);
  });
});

describe('grammar and trust', () => {
  it('ignores look-alikes, answers a malformed !testme once, never builds', async () => {
    const { w, b } = await setup({ pollIntervalMs: 50 });
    for (const body of ['!testmexyz', '> !testme', 'please !testme', '`!testme`', '!TESTME'])
      w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', body);
    const bad = w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme foo');
    await until(() => botComments(w, w.pr).length === 1, 10_000, 'one reply');
    await new Promise((r) => setTimeout(r, 300));
    await settle(w, b);
    expect(w.drone.builds).toHaveLength(0);
    const replies = botComments(w, w.pr);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.body).toContain(`<!-- cc-ci:reply:${bad.id} -->`);
    expect(replies[0]!.body).toContain('`!testme --quick`');
  });

  it('refuses an untrusted commenter and a closed PR, visibly', async () => {
    const { w, b } = await setup();
    w.gitea.comment(RECIPE_REPO, w.pr, 'stranger', '!testme');
    const closed = w.gitea.openPull(RECIPE_REPO, { author: 'writer' });
    w.gitea.closePull(RECIPE_REPO, closed, true);
    w.gitea.comment(RECIPE_REPO, closed, 'maintainer', '!testme');
    await until(
      () => botComments(w, w.pr).length === 1 && botComments(w, closed).length === 1,
      10_000,
      'refusal replies',
    );
    await settle(w, b);
    expect(w.drone.builds).toHaveLength(0);
    expect(botComments(w, w.pr)[0]!.body).toMatch(/not a trusted user/);
    expect(botComments(w, closed)[0]!.body).toMatch(/merged/);
    const api = (await (await fetch(`${b.url}/api/triggers`)).json()) as {
      triggers: Array<{ state: string; commenter: string; reason: string }>;
    };
    expect(api.triggers.map((t) => t.state).sort()).toEqual(['refused', 'refused']);
    const page = await (await fetch(`${b.url}/triggers`)).text();
    expect(page).toContain('stranger');
    expect(page).toContain('refused');
  });

  it('accepts org members, write collaborators and listed users; each gets its own run', async () => {
    const { w } = await setup({ maxConcurrentRuns: 5 });
    const prs = [
      w.pr,
      w.gitea.openPull(RECIPE_REPO, { author: 'writer' }),
      w.gitea.openPull(RECIPE_REPO, { author: 'writer' }),
    ];
    w.gitea.comment(RECIPE_REPO, prs[0]!, 'maintainer', '!testme');
    w.gitea.comment(RECIPE_REPO, prs[1]!, 'writer', '!testme');
    w.gitea.comment(RECIPE_REPO, prs[2]!, 'listed', '!testme');
    await until(() => w.drone.builds.length === 3, 10_000, 'three builds');
    expect(w.drone.builds.map((b) => b.params!.PR).sort()).toEqual(prs.map(String).sort());
  });

  it('builds a fork PR from the base repository at the head sha the trusted comment was accepted for', async () => {
    const { w, b } = await setup();
    const fork = w.gitea.openPull(RECIPE_REPO, {
      author: 'forker',
      fork: 'forker/notes',
      headSha: 'f'.repeat(40),
    });
    w.gitea.comment(RECIPE_REPO, fork, 'maintainer', '!testme');
    await until(() => w.drone.builds.length === 1, 10_000, 'fork build');
    expect(w.drone.builds[0]!.params!.SRC).toBe(`${w.gitea.url}/${RECIPE_REPO}.git`);
    expect(w.drone.builds[0]!.params!.REF).toBe('f'.repeat(40));
    // The fork author pushes and asks again: not trusted, nothing new runs.
    w.gitea.pushToPull(RECIPE_REPO, fork, 'e'.repeat(40));
    w.gitea.comment(RECIPE_REPO, fork, 'forker', '!testme');
    await until(() => botComments(w, fork).length === 2, 10_000, 'refusal');
    await settle(w, b);
    expect(w.drone.builds).toHaveLength(1);
  });

  it('records a !testme on a repository that is not enrolled and says so', async () => {
    world = await startWorld();
    const w = world;
    w.gitea.addRepo('recipes/other', { collaborators: { 'ccci-bot': 'admin' } });
    const pr = w.gitea.openPull('recipes/other', { author: 'writer' });
    bridge = await startBridge(w);
    w.gitea.addHook('recipes/other', `${bridge.url}/hooks/gitea`, WEBHOOK_SECRET);
    w.gitea.comment('recipes/other', pr, 'maintainer', '!testme');
    await until(
      () => w.gitea.commentsOn('recipes/other', pr).some((c) => c.login === 'ccci-bot'),
      10_000,
      'reply',
    );
    expect(w.drone.builds).toHaveLength(0);
    const api = (await (await fetch(`${bridge.url}/api/triggers`)).json()) as {
      triggers: Array<{ state: string; repo: string }>;
    };
    expect(api.triggers).toEqual([
      expect.objectContaining({ state: 'unknown_repo', repo: 'recipes/other' }),
    ]);
  });
});

describe('failures and results', () => {
  it('completes once Gitea answers 500 and Drone times out for a while', async () => {
    const { w, b } = await setup();
    w.gitea.http.fail({ path: /\/pulls\//, status: 500, times: 3 });
    w.gitea.http.fail({ method: 'POST', path: /\/statuses\//, status: 502, times: 4 });
    w.drone.http.fail({ method: 'POST', path: /\/builds$/, delayMs: 2_500, times: 1 }); // longer than the client timeout: the build IS created
    w.drone.http.fail({ method: 'POST', path: /\/builds$/, status: 503, times: 2 });
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(
      () => {
        const pull = w.gitea.pull(RECIPE_REPO, w.pr)!;
        return w.gitea.latestStatus(RECIPE_REPO, pull.headSha, STATUS_CONTEXT)?.state === 'pending';
      },
      20_000,
      'pending status after recovery',
    );
    await settle(w, b);
    expect(w.drone.builds).toHaveLength(1); // the timed-out create was found again, not repeated
    expect(cards(w, w.pr)).toHaveLength(1);
    const errors = await (await fetch(`${b.url}/metrics`)).text();
    expect(errors).toMatch(/ccci_upstream_errors_total\{upstream="gitea",kind="http_5xx"\} [1-9]/);
  });

  it('reports Drone’s `200 null` (no matching pipeline) as a configuration error on the PR', async () => {
    const { w } = await setup();
    w.drone.pipelineMatches = false;
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    await until(
      () => w.gitea.latestStatus(RECIPE_REPO, sha, STATUS_CONTEXT)?.state === 'error',
      10_000,
      'error status',
    );
    expect(cards(w, w.pr)[0]!.body).toMatch(/no pipeline/);
    expect(w.drone.builds).toHaveLength(0);
  });

  it('turns the card into the result card and sets the final status when results arrive', async () => {
    const { w } = await setup();
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => w.drone.builds.length === 1, 10_000, 'build');
    const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    w.drone.setStatus(1, 'running');
    // What the plugin in build 1 sends: the build's own CCCI_RUN_TOKEN.
    const token = runTokenOf(w, 1);
    const progress = await fetch(`${bridge!.url}/api/runs/1/progress`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tiers: { install: 'pass', upgrade: 'running' } }),
    });
    expect(progress.status).toBe(202);
    await until(
      () => cards(w, w.pr)[0]?.body.includes('running') ?? false,
      10_000,
      'progress card',
    );
    const results = makeResults({ run_id: '1', pr: w.pr, ref: sha, commit: sha, level: 1 });
    const up = await fetch(`${bridge!.url}/api/runs/1/results`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ results, junit: {}, log: '' }),
    });
    expect(up.status).toBe(201);
    w.drone.setStatus(1, 'success');
    await until(
      () => w.gitea.latestStatus(RECIPE_REPO, sha, STATUS_CONTEXT)?.state === 'success',
      10_000,
      'final status',
    );
    const status = w.gitea.latestStatus(RECIPE_REPO, sha, STATUS_CONTEXT)!;
    expect(status.description).toBe('pass · level 1 of 5');
    expect(status.target_url).toBe('http://ci.example.test/runs/1');
    const card = cards(w, w.pr);
    expect(card).toHaveLength(1);
    expect(card[0]!.body).toContain('level 1 of 5');
    expect(card[0]!.body).toContain('http://ci.example.test/badge/notes.svg');
  });

  it('a build that ends without uploading results gets a truthful error', async () => {
    const { w, b } = await setup();
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => w.drone.builds.length === 1, 10_000, 'build');
    const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    w.drone.setStatus(1, 'killed');
    await until(
      () => w.gitea.latestStatus(RECIPE_REPO, sha, STATUS_CONTEXT)?.state === 'error',
      10_000,
      'error status',
    );
    expect(w.gitea.latestStatus(RECIPE_REPO, sha, STATUS_CONTEXT)!.description).toMatch(
      /no results uploaded/,
    );
    expect(b.runs.getRun('1')).toMatchObject({ status: 'error', verdict: 'error' });
  });

  it('a newer !testme supersedes: the card and status follow the newest run only', async () => {
    const { w, b } = await setup({ maxConcurrentRuns: 1 });
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => w.drone.builds.length === 1, 10_000, 'first build');
    const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme --quick');
    await until(
      () => cards(w, w.pr)[0]?.body.includes('queued') ?? false,
      10_000,
      'queued card for the newer trigger',
    );
    // The first run ends: its result must not overwrite what the PR shows.
    const first = makeResults({
      run_id: '1',
      pr: w.pr,
      ref: sha,
      commit: sha,
      verdict: 'fail',
      level: 0,
    });
    const firstUp = await fetch(`${b.url}/api/runs/1/results`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runTokenOf(w, 1)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ results: first }),
    });
    expect(firstUp.status).toBe(201);
    w.drone.setStatus(1, 'failure');
    await until(() => w.drone.builds.length === 2, 10_000, 'second build after the slot freed');
    await settle(w, b);
    expect(w.drone.builds[1]!.params!.CCCI_QUICK).toBe('1');
    expect(w.gitea.latestStatus(RECIPE_REPO, sha, STATUS_CONTEXT)!.state).toBe('pending');
    expect(w.gitea.statusesFor(RECIPE_REPO, sha).some((s) => s.state === 'failure')).toBe(false);
    expect(cards(w, w.pr)).toHaveLength(1);
  });

  it('tracks builds it did not start: a curl-created build and a re-run', async () => {
    const { w, b } = await setup();
    const curl = w.drone.createExternal({
      RECIPE: 'notes',
      REF: 'main',
      SRC: 'https://git.example/recipes/notes.git',
    });
    await until(() => b.runs.getRun(String(curl.number)) !== null, 10_000, 'curl build tracked');
    const rerun = w.drone.restart(curl.number);
    await until(() => b.runs.getRun(String(rerun.number)) !== null, 10_000, 're-run tracked');
    w.drone.setStatus(curl.number, 'error');
    await until(
      () => b.runs.getRun(String(curl.number))?.status === 'error',
      10_000,
      'curl build ended',
    );
    const runs = (await (await fetch(`${b.url}/api/runs?recipe=notes`)).json()) as {
      runs: Array<{ run_id: string; status: string; error: string | null }>;
    };
    expect(runs.runs.map((r) => r.run_id).sort()).toEqual(
      [String(curl.number), String(rerun.number)].sort(),
    );
    expect(runs.runs.find((r) => r.run_id === String(curl.number))!.error).toMatch(
      /no results uploaded/,
    );
    // Tracked from Drone's own record: the build link is Drone's public page of the CI
    // repository's build (CCCI_DRONE_PUBLIC_URL), never the API address the bridge reaches.
    expect(b.runs.getRun(String(curl.number))!.build_link).toBe(
      `${DRONE_PUBLIC_URL}/${DRONE_REPO}/${curl.number}`,
    );
  });
});

describe('hostile signed payloads (issue 18)', () => {
  const payload = (over: { full_name?: string; login?: string; body?: string }) =>
    JSON.stringify({
      action: 'created',
      is_pull: true,
      issue: { number: 1 },
      comment: {
        id: 4242,
        body: over.body ?? '!testme',
        updated_at: '2026-11-22T10:00:00Z',
        user: { login: over.login ?? 'maintainer' },
      },
      repository: { full_name: over.full_name ?? RECIPE_REPO },
    });

  it('refuses unsafe repository names and unbounded fields with 400 and never calls Gitea with them', async () => {
    const { w, b } = await setup();
    const before = w.gitea.http.exchanges.length;
    for (const [over, field] of [
      [{ full_name: '../hello' }, /repository\.full_name/],
      [{ full_name: 'recipes/..' }, /repository\.full_name/],
      [{ full_name: 'recipes/notes/../../x' }, /repository\.full_name/],
      [{ full_name: `recipes/${'n'.repeat(101)}` }, /repository\.full_name/],
      [{ login: 'x'.repeat(100_000) }, /login/],
      [{ login: '../admin' }, /login/],
      [{ body: `!testme ${'x'.repeat(70_000)}` }, /comment\.body/],
    ] as const) {
      const res = await postHook(b, payload(over));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(field);
    }
    await settle(w, b);
    const calls = w.gitea.http.exchanges.slice(before).map((e) => e.path);
    expect(
      calls.filter((p) => /\/api\/v1\/(hello|repos\/recipes\/\.\.|users\/\.\.)/.test(p)),
    ).toEqual([]);
    expect(calls.filter((p) => p.includes('xxxxxxxx'))).toEqual([]);
    expect(b.store.recentTriggers(10)).toEqual([]);
  });

  it('the Gitea client refuses a repository or user name that a URL would resolve as a path step', async () => {
    const { w } = await setup({ webhook: false });
    const client = new GiteaClient({ url: w.gitea.url, token: w.botToken });
    const before = w.gitea.http.exchanges.length;
    await expect(client.getPull('../hello', 1)).rejects.toThrow(/refusing repository/);
    await expect(client.permission(RECIPE_REPO, '..')).rejects.toThrow(/path segment/);
    expect(w.gitea.http.exchanges.length).toBe(before);
  });

  it('fails a trigger at once when Gitea answers a 4xx other than 408/429 (no retries)', async () => {
    const { w, b } = await setup();
    w.gitea.http.fail({ path: /\/pulls\//, status: 422 });
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => b.store.recentTriggers(1)[0]?.state === 'failed', 10_000, 'failed trigger');
    await settle(w, b);
    const pulls = w.gitea.http.exchanges.filter((e) => /\/pulls\/\d+$/.test(e.path));
    expect(pulls).toHaveLength(1);
    expect(b.store.recentTriggers(1)[0]!.attempts).toBe(0);
    expect(w.drone.builds).toHaveLength(0);
  });
});

describe('uploads bound to their trigger (issue 18)', () => {
  it('refuses with 403 an upload to a bridge-started run that claims another recipe, commit or PR, and changes nothing', async () => {
    const { w, b } = await setup();
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => w.drone.builds.length === 1, 10_000, 'build');
    await settle(w, b);
    const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    const post = (results: unknown) =>
      fetch(`${b.url}/api/runs/1/results`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${runTokenOf(w, 1)}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ results }),
      });
    const good = { run_id: '1', pr: w.pr, ref: sha, commit: sha, level: 5 } as const;
    const before = b.runs.getRun('1');
    for (const [forged, why] of [
      [makeResults({ ...good, recipe: 'keycloak' }), /recipe "keycloak", expected "notes"/],
      [makeResults({ ...good, commit: 'f'.repeat(40), ref: 'f'.repeat(40) }), /commit/],
      [makeResults({ ...good, pr: w.pr + 1 }), /pr /],
    ] as const) {
      const res = await post(forged);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: string }).error).toMatch(why);
    }
    await settle(w, b);
    expect(b.runs.getRun('1')).toEqual(before);
    expect(b.runs.getArtifacts('1')).toBeNull();
    expect(await (await fetch(`${b.url}/badge/keycloak.json`)).json()).toMatchObject({
      message: 'no runs',
    });
    expect(w.gitea.latestStatus(RECIPE_REPO, sha, STATUS_CONTEXT)!.state).toBe('pending');
    expect(await (await fetch(`${b.url}/metrics`)).text()).toMatch(
      /ccci_results_uploads_total\{outcome="forbidden"\} 3/,
    );
    // The build's own upload still works.
    expect((await post(makeResults({ ...good, level: 2 }))).status).toBe(201);
    expect(b.runs.getRun('1')).toMatchObject({ status: 'finished', level: 2 });
  });
});
