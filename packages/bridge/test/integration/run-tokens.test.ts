/**
 * Per-run upload credentials (issue 18, docs/security.md#uploads), end to end on loopback: the
 * bridge gives each Drone build it starts its own CCCI_RUN_TOKEN; a run it started accepts that
 * token and nothing else; builds it did not start are accepted with the shared results token (or,
 * for a Drone UI re-run, the token it inherited) as runs of their own that never touch a PR.
 */
import { describe, expect, it } from '@jest/globals';
import { CARD_MARKER } from '../../src/domain/card.js';
import { RunTokens } from '../../src/domain/run-token.js';
import { STATUS_CONTEXT } from '../../src/intake/engine.js';
import {
  RECIPE_REPO,
  RESULTS_TOKEN,
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

async function settle(w: World, b: Bridge): Promise<void> {
  await w.gitea.settled();
  for (let i = 0; i < 4; i++) {
    await b.engine.tick();
    await new Promise((r) => setTimeout(r, 60));
  }
  await w.gitea.settled();
}

const post = (
  b: Bridge,
  runId: string,
  what: 'results' | 'progress',
  token: string,
  body: unknown,
) =>
  fetch(`${b.url}/api/runs/${runId}/${what}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** A !testme on `pr`, its build started and settled: the build number and the pinned sha. */
async function startRun(w: World, b: Bridge, pr: number): Promise<{ n: number; sha: string }> {
  const before = w.drone.builds.length;
  w.gitea.comment(RECIPE_REPO, pr, 'maintainer', '!testme');
  await until(() => w.drone.builds.length === before + 1, 10_000, `build for PR ${pr}`);
  await settle(w, b);
  return { n: w.drone.builds.at(-1)!.number, sha: w.gitea.pull(RECIPE_REPO, pr)!.headSha };
}

describe('per-run upload tokens (issue 18)', () => {
  it('gives every build it starts its own CCCI_RUN_TOKEN param, unrelated to the shared token', async () => {
    const { w, b } = await setup();
    const pr2 = w.gitea.openPull(RECIPE_REPO, { author: 'writer' });
    const first = await startRun(w, b, w.pr);
    const second = await startRun(w, b, pr2);
    const t1 = runTokenOf(w, first.n);
    const t2 = runTokenOf(w, second.n);
    for (const t of [t1, t2]) {
      expect(t).toMatch(/^ccci-run\.\d+\.[A-Za-z0-9_-]{43}$/);
      expect(t).not.toContain(RESULTS_TOKEN);
    }
    expect(t1).not.toBe(t2);
  });

  it('refuses the shared token, another run’s token and forged tokens on a bridge-started run with 403, and changes nothing', async () => {
    const { w, b } = await setup();
    const pr2 = w.gitea.openPull(RECIPE_REPO, { author: 'writer' });
    const run = await startRun(w, b, w.pr);
    const other = await startRun(w, b, pr2);
    const own = runTokenOf(w, run.n);
    const id = String(run.n);
    const triggerId = b.runs.getRun(id)!.trigger_id!;
    const mac = own.slice(own.lastIndexOf('.') + 1);
    const flipped = `${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    const wrong: Array<[string, string]> = [
      ['the shared results token', RESULTS_TOKEN],
      ['another run’s token', runTokenOf(w, other.n)],
      ['a token with one MAC character changed', `ccci-run.${triggerId}.${flipped}`],
      [
        'a token made with another secret',
        new RunTokens('some-other-secret-0123456789').forTrigger(b.store.trigger(triggerId)!),
      ],
      ['this run’s token with another trigger id', `ccci-run.${triggerId + 1}.${mac}`],
      ['garbage', 'x'.repeat(40)],
    ];
    const good = makeResults({ run_id: id, pr: w.pr, ref: run.sha, commit: run.sha, level: 5 });
    const runBefore = b.runs.getRun(id);
    const cardBefore = cards(w, w.pr)[0]!.body;
    const statusesBefore = w.gitea.statusesFor(RECIPE_REPO, run.sha).length;
    for (const [what, token] of wrong) {
      const res = await post(b, id, 'results', token, { results: good });
      expect({ what, status: res.status }).toEqual({ what, status: 403 });
      const error = ((await res.json()) as { error: string }).error;
      expect(error).toMatch(/only the run token of its own Drone build/);
      expect(error).not.toContain(token); // never echoed
      const progress = await post(b, id, 'progress', token, { tiers: { install: 'pass' } });
      expect({ what, status: progress.status }).toEqual({ what, status: 403 });
    }
    await settle(w, b);
    expect(b.runs.getRun(id)).toEqual(runBefore);
    expect(b.runs.getArtifacts(id)).toBeNull();
    expect(await (await fetch(`${b.url}/badge/notes.json`)).json()).toMatchObject({
      message: 'no runs',
    });
    expect(cards(w, w.pr)[0]!.body).toBe(cardBefore);
    expect(w.gitea.statusesFor(RECIPE_REPO, run.sha)).toHaveLength(statusesBefore);
    expect(w.gitea.latestStatus(RECIPE_REPO, run.sha, STATUS_CONTEXT)!.state).toBe('pending');

    // The build's own token works, and only it can replace the results.
    expect((await post(b, id, 'progress', own, { tiers: { install: 'pass' } })).status).toBe(202);
    expect((await post(b, id, 'results', own, { results: good })).status).toBe(201);
    const replaced = makeResults({ ...good, verdict: 'fail', level: 2 });
    expect((await post(b, id, 'results', own, { results: replaced })).status).toBe(201);
    expect(b.runs.getRun(id)).toMatchObject({ status: 'finished', verdict: 'fail', level: 2 });
    for (const [, token] of wrong)
      expect((await post(b, id, 'results', token, { results: good })).status).toBe(403);
    expect(b.runs.getRun(id)).toMatchObject({ verdict: 'fail', level: 2 });
    await until(
      () => w.gitea.latestStatus(RECIPE_REPO, run.sha, STATUS_CONTEXT)?.state === 'failure',
      10_000,
      'final status from the run’s own upload',
    );
  });

  it('accepts the shared token for a build it did not start, as a run of its own that never touches a PR card or status', async () => {
    const { w, b } = await setup();
    const run = await startRun(w, b, w.pr);
    const cardBefore = cards(w, w.pr)[0]!.body;
    const curl = w.drone.createExternal({
      RECIPE: 'notes',
      PR: String(w.pr),
      REF: run.sha,
      SRC: 'https://git.example/recipes/notes.git',
    });
    const id = String(curl.number);
    await until(() => b.runs.getRun(id) !== null, 10_000, 'curl build tracked');
    const results = makeResults({ run_id: id, pr: w.pr, ref: run.sha, commit: run.sha, level: 4 });
    expect(
      (await post(b, id, 'progress', RESULTS_TOKEN, { tiers: { install: 'pass' } })).status,
    ).toBe(202);
    expect((await post(b, id, 'results', RESULTS_TOKEN, { results })).status).toBe(201);
    // Not a trigger's run: a bridge run's token may not describe anything else there.
    const otherCommit = makeResults({ ...results, commit: 'f'.repeat(40), ref: 'f'.repeat(40) });
    expect(
      (await post(b, id, 'results', runTokenOf(w, run.n), { results: otherCommit })).status,
    ).toBe(403);
    expect((await post(b, id, 'results', 'x'.repeat(40), { results })).status).toBe(401);
    await settle(w, b);
    expect(b.runs.getRun(id)).toMatchObject({ trigger_id: null, status: 'finished', level: 4 });
    expect(await (await fetch(`${b.url}/badge/notes.json`)).json()).toMatchObject({
      message: 'level 4',
    });
    expect(cards(w, w.pr)).toHaveLength(1);
    expect(cards(w, w.pr)[0]!.body).toBe(cardBefore);
    expect(w.gitea.latestStatus(RECIPE_REPO, run.sha, STATUS_CONTEXT)!.state).toBe('pending');
    expect(b.runs.getRun(String(run.n))).toMatchObject({ verdict: null });
  });

  it('a Drone UI re-run of a bridge build uploads with the token it inherited, as its own run; the PR stays with the bridge’s run', async () => {
    const { w, b } = await setup();
    const run = await startRun(w, b, w.pr);
    const rerun = w.drone.restart(run.n); // Drone copies the parent's params, token included
    const id = String(rerun.number);
    expect(runTokenOf(w, rerun.number)).toBe(runTokenOf(w, run.n));
    await until(() => b.runs.getRun(id) !== null, 10_000, 're-run tracked');
    const results = makeResults({ run_id: id, pr: w.pr, ref: run.sha, commit: run.sha, level: 3 });
    const token = runTokenOf(w, rerun.number);
    const forged = makeResults({ ...results, recipe: 'keycloak' });
    const refused = await post(b, id, 'results', token, { results: forged });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toMatch(/recipe "keycloak"/);
    expect((await post(b, id, 'results', token, { results })).status).toBe(201);
    await settle(w, b);
    expect(b.runs.getRun(id)).toMatchObject({ trigger_id: null, status: 'finished', level: 3 });
    expect(b.runs.getRun(String(run.n))).toMatchObject({ verdict: null });
    expect(w.gitea.latestStatus(RECIPE_REPO, run.sha, STATUS_CONTEXT)!.state).toBe('pending');
    expect(await (await fetch(`${b.url}/badge/keycloak.json`)).json()).toMatchObject({
      message: 'no runs',
    });
  });

  it('answers 503 (retry) to a genuine run token whose build the bridge has not recorded yet', async () => {
    const { w, b } = await setup();
    w.drone.http.fail({ method: 'POST', path: /\/builds$/, status: 500 });
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(
      () => (b.store.recentTriggers(1)[0]?.create_attempts ?? 0) > 0,
      10_000,
      'a create attempt',
    );
    const t = b.store.recentTriggers(1)[0]!;
    expect(t).toMatchObject({ state: 'queued', build_number: null });
    // The token the build would carry: derived from the shared token, as the bridge does by default.
    const token = new RunTokens(RESULTS_TOKEN).forTrigger(t);
    const sha = t.head_sha!;
    const results = makeResults({ run_id: '77', pr: w.pr, ref: sha, commit: sha });
    const res = await post(b, '77', 'results', token, { results });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    const progress = await post(b, '77', 'progress', token, { tiers: { install: 'pass' } });
    expect(progress.status).toBe(202);
    expect(await progress.json()).toMatchObject({ tracked: false });
    expect(b.runs.getRun('77')).toBeNull();
    w.drone.http.clearFaults();
  });
});
