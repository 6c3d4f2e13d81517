/**
 * Regressions (issue 16) through the real routes: results uploaded for a release, then a PR's
 * run on the next release → the PR card, GET /api/regressions, the status page and the
 * ccci_regressions gauge; and the status page's level trend against the stored levels.
 */
import { describe, expect, it } from '@jest/globals';
import type { Results, RungName, RungStatus } from '@cc-ci/harness-core';
import { CARD_MARKER } from '../../src/domain/card.js';
import {
  RECIPE_REPO,
  runTokenOf,
  uploadResults,
  worldPerTest,
  until,
  type Bridge,
  type World,
} from '../support/intake-kit.js';
import { makeResults } from '../support/results.js';
import { trendBars } from '../support/trend.js';

const setup = worldPerTest();

const rungs = (...s: RungStatus[]): Results['rungs'] => {
  const names: RungName[] = ['install', 'upgrade', 'backup_restore', 'functional', 'lint'];
  return Object.fromEntries(
    names.map((n, i) => [n, { status: s[i] ?? 'pass' }]),
  ) as Results['rungs'];
};
const LEVEL_5 = { level: 5, verdict: 'pass' as const, rungs: rungs() };
/** Level 3: backup/restore passed, the functional rung failed. */
const LEVEL_3 = {
  level: 3,
  verdict: 'fail' as const,
  rungs: rungs('pass', 'pass', 'pass', 'fail', 'pass'),
};

/** A main-line run (no PR) of `version`, uploaded with the shared token, started at `started`. */
function release(runId: string, version: string, started: string, o: Partial<Results> = {}) {
  return makeResults({ run_id: runId, version, pr: null, started, finished: started, ...o });
}

/** `!testme` on the PR, then build 1 uploads `o` with its own run token; returns the card. */
async function prRun(w: World & { pr: number }, b: Bridge, o: Partial<Results>): Promise<string> {
  w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
  await until(() => w.drone.builds.length === 1, 10_000, 'build');
  const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
  const results = makeResults({
    run_id: '1',
    pr: w.pr,
    ref: sha,
    commit: sha,
    started: '2026-11-22T09:30:00.000Z',
    finished: '2026-11-22T09:31:00.000Z',
    ...o,
  });
  await uploadResults(b, results, runTokenOf(w, 1));
  w.drone.setStatus(1, results.verdict === 'pass' ? 'success' : 'failure');
  const card = () =>
    w.gitea
      .commentsOn(RECIPE_REPO, w.pr)
      .find((c) => c.login === 'ccci-bot' && c.body.startsWith(CARD_MARKER))?.body ?? '';
  await until(() => card().includes(`level ${results.level} of 5`), 10_000, 'result card');
  return card();
}

async function regressions(b: Bridge): Promise<unknown[]> {
  return ((await (await fetch(`${b.url}/api/regressions`)).json()) as { regressions: unknown[] })
    .regressions;
}
async function gauge(b: Bridge): Promise<number> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  return Number(/^ccci_regressions (\d+)$/m.exec(text)?.[1]);
}

describe('a PR below the previous release', () => {
  it('level 5 on release 1.0, then level 3 for a PR on 1.1: the card, the API, the page and the gauge say so', async () => {
    const { w, b } = await setup();
    await uploadResults(b, release('100', '1.0.0+2.0', '2026-11-22T08:00:00.000Z', LEVEL_5));
    expect(await regressions(b)).toEqual([]);
    expect(await gauge(b)).toBe(0);

    const card = await prRun(w, b, { version: '1.1.0+2.0', ...LEVEL_3 });
    expect(card).toContain(
      '**Regression:** level 3 — the last release reached 5: functional now fails',
    );
    expect(card).toContain('(last release: 1\\.0\\.0\\+2\\.0, run 100)');
    expect(await regressions(b)).toEqual([
      {
        recipe: 'notes',
        run_id: '1',
        level: 3,
        version: '1.1.0+2.0',
        previous_version: '1.0.0+2.0',
        previous_level: 5,
        previous_run_id: '100',
        rung: 'functional',
        rung_status: 'fail',
      },
    ]);
    expect(await gauge(b)).toBe(1);
    const index = await (await fetch(`${b.url}/`)).text();
    expect(index).toContain(
      'class="regression" title="1.0.0+2.0 reached level 5 in run 100">regression: level 3',
    );

    // A later green run on 1.1 at level 5 is the recipe's newest: no current regression. (The
    // PR's run dates from when the bridge started its build, on the real clock.)
    const later = new Date(Date.now() + 60_000).toISOString();
    await uploadResults(b, release('101', '1.1.0+2.0', later, LEVEL_5));
    expect(await regressions(b)).toEqual([]);
    expect(await gauge(b)).toBe(0);
    expect(await (await fetch(`${b.url}/`)).text()).not.toContain('class="regression"');
  });

  it('an equal level shows none', async () => {
    const { w, b } = await setup();
    await uploadResults(b, release('100', '1.0.0+2.0', '2026-11-22T08:00:00.000Z', LEVEL_5));
    const card = await prRun(w, b, { version: '1.1.0+2.0', ...LEVEL_5 });
    expect(card).not.toContain('Regression');
    expect(await regressions(b)).toEqual([]);
    expect(await gauge(b)).toBe(0);
  });

  it('no previous release with a green run shows none', async () => {
    const { w, b } = await setup();
    // Older releases exist, but none green and cold: a failed run, a quick run, an error.
    await uploadResults(b, release('97', '0.9.0+2.0', '2026-11-22T07:00:00.000Z', LEVEL_3));
    await uploadResults(
      b,
      release('98', '0.9.0+2.0', '2026-11-22T07:10:00.000Z', { ...LEVEL_5, mode: 'quick' }),
    );
    await uploadResults(
      b,
      release('99', '1.0.0+2.0', '2026-11-22T07:20:00.000Z', {
        level: 0,
        verdict: 'error',
        error: 'cancelled',
      }),
    );
    const card = await prRun(w, b, { version: '1.1.0+2.0', ...LEVEL_3 });
    expect(card).not.toContain('Regression');
    expect(await regressions(b)).toEqual([]);
    expect(await gauge(b)).toBe(0);
  });

  it('a green run of the same release (another upstream) is no baseline', async () => {
    const { b } = await setup();
    await uploadResults(b, release('100', '1.1.0+1.9', '2026-11-22T08:00:00.000Z', LEVEL_5));
    await uploadResults(b, release('101', '1.1.0+2.0', '2026-11-22T08:10:00.000Z', LEVEL_3));
    expect(await regressions(b)).toEqual([]);
    // The previous release is the newest older one with a green run, even when an older one
    // reached more: 1.0 (green at 3) and not 0.9 (green at 5).
    await uploadResults(
      b,
      release('102', '1.0.0+2.0', '2026-11-22T07:00:00.000Z', {
        level: 3,
        verdict: 'pass',
        rungs: rungs('pass', 'pass', 'pass', 'skip', 'skip'),
      }),
    );
    await uploadResults(b, release('103', '0.9.0+2.0', '2026-11-22T06:00:00.000Z', LEVEL_5));
    expect(await regressions(b)).toEqual([]);
    await uploadResults(
      b,
      release('104', '1.1.0+2.0', '2026-11-22T08:20:00.000Z', { ...LEVEL_3, level: 2 }),
    );
    expect(await regressions(b)).toMatchObject([
      { run_id: '104', level: 2, previous_run_id: '102', previous_level: 3 },
    ]);
  });
});

describe('the level trend on the recipe page', () => {
  it('draws the stored levels oldest first, one bar each', async () => {
    const { b } = await setup();
    const levels = [1, 5, 0, 3, 4, 2];
    for (const [i, level] of levels.entries())
      await uploadResults(
        b,
        makeResults({
          run_id: `t${i}`,
          recipe: 'trendy',
          level,
          verdict: level === 0 ? 'fail' : 'pass',
          started: `2026-11-22T08:0${i}:00.000Z`,
          finished: `2026-11-22T08:0${i}:30.000Z`,
        }),
      );
    const page = await (await fetch(`${b.url}/recipes/trendy`)).text();
    const bars = trendBars(page);
    expect(bars.map((x) => x[4])).toEqual(levels);
    expect(bars.map((x) => x[3])).toEqual(levels.map((l) => `lv${l}`));
    expect(bars.map((x) => x[0])).toEqual(levels.map((_, i) => i * 8));
    const stored = (await (await fetch(`${b.url}/api/runs?recipe=trendy`)).json()) as {
      runs: Array<{ level: number }>;
    };
    expect(stored.runs.map((r) => r.level).reverse()).toEqual(levels);
  });
});
