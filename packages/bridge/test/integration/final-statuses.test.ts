/**
 * Issue 13, bridge side: no commit status is ever left pending. Superseded shas get a final
 * status, Drone's waiting and ending states (blocked, waiting_on_dependencies, declined, killed)
 * end their trigger, `200 null` names its causes, and build links are Drone's public page.
 * Fake Gitea and fake Drone on loopback; the engine's clock is injected where time matters.
 */
import { describe, expect, it } from '@jest/globals';
import { CARD_MARKER } from '../../src/domain/card.js';
import { STATUS_CONTEXT } from '../../src/intake/engine.js';
import {
  DRONE_PUBLIC_URL,
  DRONE_REPO,
  RECIPE_REPO,
  runTokenOf,
  worldPerTest,
  until,
  type Bridge,
  type World,
} from '../support/intake-kit.js';
import { makeResults } from '../support/results.js';

const setup = worldPerTest();

const cards = (w: World, pr: number) =>
  w.gitea
    .commentsOn(RECIPE_REPO, pr)
    .filter((c) => c.login === 'ccci-bot' && c.body.startsWith(CARD_MARKER));
/** The card's text with Markdown escapes removed (the card escapes every outside value). */
const cardText = (w: World, pr: number) => cards(w, pr)[0]?.body.replace(/\\(.)/g, '$1') ?? '';
const status = (w: World, sha: string) => w.gitea.latestStatus(RECIPE_REPO, sha, STATUS_CONTEXT);
const FINAL = new Set(['success', 'failure', 'error']);
const waitingSince = (b: Bridge, run: string) =>
  (
    b.store.db.prepare('SELECT drone_waiting_since AS s FROM runs WHERE run_id = ?').get(run) as
      { s: string | null } | undefined
  )?.s ?? null;

/**
 * The engine's clock: real time plus what the test adds by hand. It keeps running because the
 * engine schedules its build watcher by the same injected clock as its waiting timers.
 */
function manualClock() {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms: number) => (offset += ms) };
}

describe('superseded triggers', () => {
  it('the older head sha ends with error "superseded by the !testme on <sha>" when the newer !testme is on another sha', async () => {
    const { w, b } = await setup({ maxConcurrentRuns: 1 });
    const oldSha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => status(w, oldSha)?.state === 'pending', 10_000, 'pending on the old sha');
    const newSha = 'b'.repeat(40);
    w.gitea.pushToPull(RECIPE_REPO, w.pr, newSha);
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => status(w, newSha) !== undefined, 10_000, 'status on the new sha');
    await until(() => FINAL.has(status(w, oldSha)?.state ?? ''), 10_000, 'final old status');
    expect(status(w, oldSha)).toMatchObject({
      state: 'error',
      description: `superseded by the !testme on ${newSha.slice(0, 10)}`,
      target_url: 'http://ci.example.test/runs/1',
    });
    // The older run still ends on its own; its result never reaches the PR's current status.
    const results = makeResults({ run_id: '1', pr: w.pr, ref: oldSha, commit: oldSha });
    await fetch(`${b.url}/api/runs/1/results`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runTokenOf(w, 1)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ results }),
    });
    w.drone.setStatus(1, 'success');
    await until(() => w.drone.builds.length === 2, 10_000, 'the newer build after the slot freed');
    await w.gitea.settled();
    await b.engine.tick();
    await w.gitea.settled();
    expect(status(w, oldSha)!.state).toBe('error');
    expect(status(w, newSha)!.state).toBe('pending');
    expect(w.drone.builds[1]!.params!.REF).toBe(newSha);
    expect(cards(w, w.pr)).toHaveLength(1);
  });

  it('a queued trigger superseded on another sha ends too, and a return to the first sha keeps it pending', async () => {
    const { w, b } = await setup({ maxConcurrentRuns: 1 });
    const first = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme'); // builds (slot 1 of 1)
    await until(() => w.drone.builds.length === 1, 10_000, 'first build');
    const second = 'd'.repeat(40);
    w.gitea.pushToPull(RECIPE_REPO, w.pr, second);
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme'); // queued behind it
    await until(() => status(w, second)?.state === 'pending', 10_000, 'pending on the second sha');
    w.gitea.pushToPull(RECIPE_REPO, w.pr, first);
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme --quick'); // back on the first sha
    await until(() => status(w, second)?.state === 'error', 10_000, 'second sha ended');
    expect(status(w, second)!.description).toBe(
      `superseded by the !testme on ${first.slice(0, 10)}`,
    );
    expect(b.store.db.prepare(`SELECT state FROM triggers WHERE id = 2`).get()).toEqual({
      state: 'superseded',
    });
    await w.gitea.settled();
    await b.engine.tick();
    await w.gitea.settled();
    // The first sha is the newest trigger's again: its status is not overwritten by "superseded".
    expect(status(w, first)!.state).toBe('pending');
  });
});

describe('Drone states that never finish on their own', () => {
  it('a blocked build frees its slot after the configured time; the card says why and the status is final', async () => {
    const clock = manualClock();
    const { w, b } = await setup({
      maxConcurrentRuns: 1,
      blockedTimeoutMs: 60_000,
      now: clock.now,
    });
    w.drone.initialStatus = 'blocked';
    const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => w.drone.builds.length === 1, 10_000, 'blocked build');
    // The card is edited first, then the status is set: wait for both.
    await until(
      () =>
        (cards(w, w.pr)[0]?.body.includes('approve') ?? false) &&
        (status(w, sha)?.description.includes('blocked') ?? false),
      10_000,
      'card and status say the build waits for approval',
    );
    expect(status(w, sha)!.state).toBe('pending');
    expect(status(w, sha)!.description).toMatch(/blocked/);
    await until(() => waitingSince(b, '1') !== null, 10_000, 'the watcher saw the build blocked');
    // Another PR's trigger waits for the slot the blocked build holds.
    w.drone.initialStatus = 'pending';
    const pr2 = w.gitea.openPull(RECIPE_REPO, { author: 'writer' });
    w.gitea.comment(RECIPE_REPO, pr2, 'maintainer', '!testme');
    await until(() => cards(w, pr2).length === 1, 10_000, 'queued card on the second PR');
    expect(w.drone.builds).toHaveLength(1);
    clock.advance(61_000);
    await until(() => status(w, sha)?.state === 'error', 10_000, 'final status of the blocked run');
    expect(status(w, sha)!.description).toMatch(/blocked/);
    expect(cardText(w, w.pr)).toMatch(/blocked \(awaiting approval in Drone\) for 1 min/);
    expect(cardText(w, w.pr)).toMatch(/CCCI_BLOCKED_TIMEOUT_S/);
    await until(() => w.drone.builds.length === 2, 10_000, 'the freed slot starts the next build');
    expect(w.drone.builds[1]!.params!.PR).toBe(String(pr2));
    expect(b.runs.getRun('1')).toMatchObject({ status: 'error' });
  });

  it('a build waiting on dependencies that resumes keeps its slot; one that waits too long ends', async () => {
    const clock = manualClock();
    const { w, b } = await setup({ blockedTimeoutMs: 60_000, now: clock.now });
    const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => w.drone.builds.length === 1, 10_000, 'build');
    w.drone.setStatus(1, 'waiting_on_dependencies');
    await until(
      () => cards(w, w.pr)[0]?.body.includes('waiting on dependencies') ?? false,
      10_000,
      'waiting card',
    );
    await until(() => waitingSince(b, '1') !== null, 10_000, 'first wait seen');
    clock.advance(50_000);
    w.drone.setStatus(1, 'running'); // resumes: the waiting time restarts next time
    await until(() => !(cards(w, w.pr)[0]?.body.includes('waiting on') ?? true), 10_000, 'resumed');
    w.drone.setStatus(1, 'waiting_on_dependencies');
    await until(
      () => cards(w, w.pr)[0]?.body.includes('waiting on dependencies') ?? false,
      10_000,
      'waiting again',
    );
    await until(() => waitingSince(b, '1') !== null, 10_000, 'second wait seen');
    clock.advance(30_000); // 80 s since the first wait, 30 s of this one: still within the limit
    await b.engine.watchRuns();
    await b.engine.watchRuns();
    expect(b.runs.getRun('1')!.status).not.toBe('error');
    expect(status(w, sha)!.state).toBe('pending');
    clock.advance(31_000);
    await until(() => status(w, sha)?.state === 'error', 10_000, 'final status');
    expect(cardText(w, w.pr)).toMatch(/waiting on dependencies for 1 min/);
  });

  it.each([
    ['declined', /declined by a Drone admin/],
    ['killed', /cancelled \(killed\); no results uploaded/],
  ] as const)('a %s build ends with a final error status and says so', async (state, message) => {
    const { w, b } = await setup({ noResultsGraceMs: 100 });
    if (state === 'declined') w.drone.initialStatus = 'blocked';
    const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => w.drone.builds.length === 1, 10_000, 'build');
    await until(() => status(w, sha)?.state === 'pending', 10_000, 'pending');
    w.drone.setStatus(1, state);
    await until(() => status(w, sha)?.state === 'error', 10_000, 'final status');
    expect(status(w, sha)!.description).toMatch(message);
    expect(cardText(w, w.pr)).toMatch(message);
    expect(b.store.db.prepare(`SELECT state FROM triggers WHERE id = 1`).get()).toEqual({
      state: 'finished',
    });
    expect(b.store.countInState('building')).toBe(0);
  });
});

describe('Drone answers and links', () => {
  it('explains every cause of Drone’s `200 null` on the PR', async () => {
    const { w } = await setup();
    w.drone.pipelineMatches = false;
    const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => status(w, sha)?.state === 'error', 10_000, 'error status');
    const card = cards(w, w.pr)[0]!.body;
    expect(card).toMatch(/200 null/);
    expect(card).toMatch(/no pipeline/);
    expect(card).toMatch(/inactive/);
    expect(card).toMatch(/validat/);
    expect(w.drone.builds).toHaveLength(0);
  });

  it('with an internal CCCI_DRONE_URL, cards and the run page link the public build page, and the plugin’s DRONE_BUILD_LINK wins', async () => {
    const { w, b } = await setup();
    const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => cards(w, w.pr)[0]?.body.includes('started') ?? false, 10_000, 'card');
    const internal = w.drone.url; // what the bridge uses for the API (loopback here)
    const configured = `${DRONE_PUBLIC_URL}/${DRONE_REPO}/1`;
    expect(cards(w, w.pr)[0]!.body).toContain(configured);
    expect(cards(w, w.pr)[0]!.body).not.toContain(internal);
    // The build's own `link` field (the commit in Gitea) is never used.
    expect(cards(w, w.pr)[0]!.body).not.toContain(w.drone.builds[0]!.link);
    const reported = 'https://ci-drone.example.org/ops/cc-ci/1';
    const progress = await fetch(`${b.url}/api/runs/1/progress`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runTokenOf(w, 1)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tiers: { install: 'running' }, build_link: reported }),
    });
    expect(progress.status).toBe(202);
    await until(() => cards(w, w.pr)[0]?.body.includes(reported) ?? false, 10_000, 'reported');
    const results = makeResults({
      run_id: '1',
      pr: w.pr,
      ref: sha,
      commit: sha,
      meta: { build_link: reported },
    });
    await fetch(`${b.url}/api/runs/1/results`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runTokenOf(w, 1)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ results }),
    });
    await until(() => FINAL.has(status(w, sha)?.state ?? ''), 10_000, 'final status');
    expect(status(w, sha)!.target_url).toBe('http://ci.example.test/runs/1');
    expect(cards(w, w.pr)[0]!.body).toContain(reported);
    const page = await (await fetch(`${b.url}/runs/1`)).text();
    expect(page).toContain(reported);
    expect(page).not.toContain(internal);
  });

  it('without a public Drone URL no build link is shown until the plugin reports one, never the API address', async () => {
    const { w, b } = await setup({ dronePublicUrl: null });
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => cards(w, w.pr)[0]?.body.includes('started') ?? false, 10_000, 'card');
    expect(cards(w, w.pr)[0]!.body).not.toContain(w.drone.url);
    expect(b.runs.getRun('1')!.build_link).toBeNull();
    const page = await (await fetch(`${b.url}/runs/1`)).text();
    expect(page).not.toContain(w.drone.url);
  });

  it('refuses a progress build_link that is not an http(s) URL', async () => {
    const { w, b } = await setup();
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => w.drone.builds.length === 1, 10_000, 'build');
    for (const link of ['javascript:alert(1)', 'https://x/"><script>', 42, 'h'.repeat(2000)]) {
      const res = await fetch(`${b.url}/api/runs/1/progress`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${runTokenOf(w, 1)}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ tiers: { install: 'running' }, build_link: link }),
      });
      expect(res.status).toBe(422);
    }
    expect(b.runs.getRun('1')!.build_link).toBe(`${DRONE_PUBLIC_URL}/${DRONE_REPO}/1`);
  });
});
