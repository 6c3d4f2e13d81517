/**
 * Contract: every request the bridge's Gitea adapter sends and every response the fake Gitea
 * returns, across a full intake flow, conform to Gitea's OpenAPI document; and the fake behaves
 * the way docs/platform-facts.md says real Gitea does where the spec is silent.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CARD_MARKER } from '../../src/domain/card.js';
import { GiteaClient } from '../../src/adapters/gitea/gitea-client.js';
import type { Exchange } from '../fakes/fake-http.js';
import {
  RECIPE_REPO,
  runTokenOf,
  WEBHOOK_SECRET,
  startBridge,
  startWorld,
  until,
  type Bridge,
  type World,
} from '../support/intake-kit.js';
import { makeResults } from '../support/results.js';
import { SwaggerChecker } from './swagger.js';

const checker = new SwaggerChecker();
let world: World & { pr: number };
let bridge: Bridge;

beforeAll(async () => {
  world = await startWorld();
  bridge = await startBridge(world, { pollIntervalMs: 100 });
  const w = world;
  w.gitea.addHook(RECIPE_REPO, `${bridge.url}/hooks/gitea`, WEBHOOK_SECRET);
  // A full tour: trigger, refusal, malformed reply, fork PR, results, a deleted card re-created.
  const fork = w.gitea.openPull(RECIPE_REPO, { author: 'forker', fork: 'forker/notes' });
  w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
  w.gitea.comment(RECIPE_REPO, w.pr, 'stranger', '!testme');
  w.gitea.comment(RECIPE_REPO, w.pr, 'writer', '!testme please');
  w.gitea.comment(RECIPE_REPO, fork, 'writer', '!testme');
  await until(() => w.drone.builds.length === 2, 15_000, 'two builds');
  const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
  const n = w.drone.builds.find((b) => b.params!.PR === String(w.pr))!.number;
  await fetch(`${bridge.url}/api/runs/${n}/results`, {
    method: 'POST',
    headers: { authorization: `Bearer ${runTokenOf(w, n)}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      results: makeResults({ run_id: String(n), pr: w.pr, ref: sha, commit: sha }),
    }),
  });
  await until(
    () => w.gitea.latestStatus(RECIPE_REPO, sha, 'cc-ci/testme')?.state === 'success',
    15_000,
    'final status',
  );
  await until(
    () => w.gitea.commentsOn(RECIPE_REPO, w.pr).filter((c) => c.login === 'ccci-bot').length === 3,
    15_000,
    'card and two replies',
  );
  // The fake's own behaviour beyond the bridge's happy path.
  const client = new GiteaClient({ url: w.gitea.url, token: w.botToken });
  expect(await client.isOrgMember('coop-cloud', 'maintainer')).toBe(true); // bot not a member: 303 → public_members 204
  expect(await client.isOrgMember('coop-cloud', 'stranger')).toBe(false);
  expect(await client.getPull(RECIPE_REPO, 999)).toBeNull();
  await new Promise((r) => setTimeout(r, 200));
}, 60_000);

afterAll(async () => {
  await bridge.stop();
  await world.close();
});

describe('Gitea contract', () => {
  it('every exchange of the flow conforms to the OpenAPI document', () => {
    const problems = world.gitea.exchanges.flatMap((ex) => checker.check(ex));
    expect(problems).toEqual([]);
    // The tour used every operation the adapter has.
    expect([...checker.seen].sort()).toEqual(
      [
        'issueCreateComment',
        'issueEditComment',
        'issueGetComments',
        'issueGetRepoComments',
        'orgIsMember',
        'orgIsPublicMember',
        'repoCreateStatus',
        'repoGetPullRequest',
        'repoGetRepoPermissions',
        'userGetCurrent',
      ].sort(),
    );
  });

  it('the checker rejects what real Gitea would reject (it can fail)', () => {
    const base = world.gitea.exchanges.find(
      (e) => e.route === '/repos/{owner}/{repo}/issues/{index}/comments' && e.method === 'POST',
    )!;
    const mutate = (over: Partial<Exchange>) => checker.check({ ...base, ...over } as Exchange);
    expect(mutate({ body: { text: 'x' } }).join()).toMatch(/request body/);
    expect(mutate({ query: new URLSearchParams('verbose=1') }).join()).toMatch(/not declared/);
    expect(mutate({ path: base.path.replace(/\/issues\/\d+\//, '/issues/abc/') }).join()).toMatch(
      /not an integer/,
    );
    expect(mutate({ headers: { authorization: 'Bearer x' } }).join()).toMatch(/token <T>/);
    expect(mutate({ status: 201, responseBody: { id: 'not-a-number' } }).join()).toMatch(
      /response 201/,
    );
    expect(mutate({ status: 418 }).join()).toMatch(/not documented/);
    const list = world.gitea.exchanges.find(
      (e) => e.route === '/repos/{owner}/{repo}/issues/comments',
    )!;
    expect(
      checker
        .check({ ...list, query: new URLSearchParams('since=2026-11-22 10:00:00') } as Exchange)
        .join(),
    ).toMatch(/RFC 3339/);
  });

  it('the fake behaves as the facts file says real Gitea does', async () => {
    const w = world;
    const api = `${w.gitea.url}/api/v1`;
    const auth = { authorization: `token ${w.botToken}` };
    // A raw `+01:00` becomes a space: 422. Z or %2B works.
    const bad = await fetch(
      `${api}/repos/${RECIPE_REPO}/issues/comments?since=2026-01-01T00:00:00+01:00`,
      { headers: auth },
    );
    expect(bad.status).toBe(422);
    const ok = await fetch(
      `${api}/repos/${RECIPE_REPO}/issues/comments?since=2026-01-01T00:00:00%2B01:00&limit=2`,
      { headers: auth },
    );
    expect(ok.status).toBe(200);
    expect(Number(ok.headers.get('x-total-count'))).toBeGreaterThan(2);
    expect(ok.headers.get('link')).toBeNull();
    expect(((await ok.json()) as unknown[]).length).toBe(2);
    // Comment lists filter on updated time: an old comment edited now comes back.
    const cards = w.gitea
      .commentsOn(RECIPE_REPO, w.pr)
      .filter((c) => c.body.startsWith(CARD_MARKER));
    expect(cards).toHaveLength(1);
    const since = new Date((w.gitea.now() + 5) * 1000).toISOString().replace('.000Z', 'Z');
    w.gitea.clockOffsetS += 10;
    w.gitea.editComment(w.gitea.commentsOn(RECIPE_REPO, w.pr)[0]!.id, 'edited');
    const edited = (await (
      await fetch(`${api}/repos/${RECIPE_REPO}/issues/comments?since=${since}`, { headers: auth })
    ).json()) as Array<{ body: string }>;
    expect(edited.map((c) => c.body)).toEqual(['edited']);
    w.gitea.clockOffsetS -= 10;
    // Statuses answer with `status`, not `state`.
    const st = await fetch(`${api}/repos/${RECIPE_REPO}/statuses/${'a'.repeat(40)}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'success', context: 'x', description: '', target_url: '' }),
    });
    expect(st.status).toBe(201);
    expect(await st.json()).toMatchObject({ status: 'success' });
    // Permission: only admins, repo admins, or the user themself may ask.
    const stranger = w.gitea.addUser('nosy');
    const perm = await fetch(`${api}/repos/${RECIPE_REPO}/collaborators/writer/permission`, {
      headers: { authorization: `token ${stranger.token}` },
    });
    expect(perm.status).toBe(403);
    // Org membership asked by a non-member: 303 to the public check.
    const member = await fetch(`${api}/orgs/coop-cloud/members/maintainer`, {
      headers: auth,
      redirect: 'manual',
    });
    expect(member.status).toBe(303);
    expect(member.headers.get('location')).toMatch(/\/public_members\/maintainer$/);
  });
});
