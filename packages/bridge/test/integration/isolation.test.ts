/**
 * The isolation re-run's label through the real routes: a PR's run that failed with company on
 * the swarm and passed alone uploads results.json with an `isolation` block → the PR card says
 * so and what differed, GET /api/runs has the label (and still matches the OpenAPI runRow
 * schema exactly), the status page marks the run and lists the recipe under "Flaky recently".
 */
import { describe, expect, it } from '@jest/globals';
import AjvModule from 'ajv';
import { parseResults, type Isolation } from '@cc-ci/harness-core';
import { CARD_MARKER } from '../../src/domain/card.js';
import {
  RECIPE_REPO,
  runTokenOf,
  uploadResults,
  worldPerTest,
  until,
} from '../support/intake-kit.js';
import { FLAKY_ISOLATION, makeResults } from '../support/results.js';

/** The shared flaky block, re-run at level 1 (the level of these uploads). */
const FLAKY = { ...FLAKY_ISOLATION, rerun: { ...FLAKY_ISOLATION.rerun, level: 1 } };

const Ajv = AjvModule.default;
const setup = worldPerTest();

/** A main-line run (no PR) of notes, started at minute `m` of 08:00. */
const mainLine = (runId: string, m: number, isolation?: Isolation) =>
  makeResults({
    run_id: runId,
    pr: null,
    started: `2026-11-22T08:${String(m).padStart(2, '0')}:00.000Z`,
    finished: `2026-11-22T08:${String(m).padStart(2, '0')}:30.000Z`,
    ...(isolation ? { isolation } : {}),
  });

describe('an isolation re-run', () => {
  it('flaky on a PR: the card, /api/runs, the status page and the run page say so', async () => {
    const { w, b } = await setup();
    // History: a genuine failure and a plain pass on the main line, before the PR.
    const genuine: Isolation = {
      ...FLAKY,
      label: 'genuine',
      rerun: { ...FLAKY.first, concurrent_runs: 0 },
      differences: [],
    };
    await uploadResults(b, mainLine('100', 0, genuine));
    await uploadResults(b, mainLine('101', 1));

    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => w.drone.builds.length === 1, 10_000, 'build');
    const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
    const results = parseResults({
      ...makeResults({ run_id: '1', pr: w.pr, ref: sha, commit: sha }),
      concurrent_runs: 0,
      isolation: FLAKY,
    });
    await uploadResults(b, results, runTokenOf(w, 1));
    w.drone.setStatus(1, 'success');
    const card = () =>
      w.gitea
        .commentsOn(RECIPE_REPO, w.pr)
        .find((c) => c.login === 'ccci-bot' && c.body.startsWith(CARD_MARKER))?.body ?? '';
    await until(() => card().includes('level 1 of 5'), 10_000, 'result card');
    expect(card()).toContain(
      [
        '> 🔁 **Isolation re-run:** flaky — failed at functional (TESTS_FAILED) with 1 other run on the swarm, passed alone.',
        '>',
        '> What differed between the two runs:',
        '> - load\\: the first run shared the swarm with 1 other run\\(s\\); the re\\-run had it alone',
        '> - timing\\: custom took 240\\.0 s in the first run and 61\\.0 s alone',
      ].join('\n'),
    );

    // /api/runs: the label per run, and the rows still match the documented schema exactly.
    const api = (await (await fetch(`${b.url}/api/runs?recipe=notes`)).json()) as {
      runs: Array<{ run_id: string; isolation: string | null; verdict: string }>;
    };
    expect(api.runs.map((r) => [r.run_id, r.isolation, r.verdict])).toEqual([
      ['1', 'flaky', 'pass'],
      ['101', null, 'pass'],
      ['100', 'genuine', 'pass'],
    ]);
    const doc = (await (await fetch(`${b.url}/api/openapi.json`)).json()) as {
      paths: Record<
        string,
        {
          get: {
            responses: Record<string, { content: { 'application/json': { schema: object } } }>;
          };
        }
      >;
    };
    const schema = doc.paths['/api/runs']!.get.responses['200']!.content['application/json'].schema;
    const validate = new Ajv({ strict: false, allErrors: true, logger: false }).compile(schema);
    expect({ ok: validate(api), errors: validate.errors ?? null }).toEqual({
      ok: true,
      errors: null,
    });
    expect(validate({ ...api, runs: [{ ...api.runs[0], isolation: 'shrug' }] })).toBe(false);

    // The status page: the latest run's mark, the history's marks, "Flaky recently".
    const index = await (await fetch(`${b.url}/`)).text();
    expect(index).toMatch(
      /<span class="verdict pass">pass<\/span> <span class="isolation flaky" title="Isolation re-run: The run failed, then passed when re-run alone on the swarm[^"]*">flaky<\/span>/,
    );
    expect(index).toContain('<h2 id="flaky-recent">Flaky recently</h2>');
    expect(index).toContain(
      '<li><a href="/recipes/notes">notes</a>: flaky in 1 of the last 3 runs</li>',
    );
    const history = await (await fetch(`${b.url}/recipes/notes`)).text();
    expect(history.match(/class="isolation (\w+)"/g)).toEqual([
      'class="isolation flaky"',
      'class="isolation genuine"',
    ]);
    const page = await (await fetch(`${b.url}/runs/1`)).text();
    expect(page).toContain(
      'flaky — failed at functional (TESTS_FAILED) with 1 other run on the swarm, passed alone. What differed:',
    );
    expect(page).toContain('<code>first-run</code> of the run directory');
  });

  it('no flaky run among the last 10: no "Flaky recently", and the label is null without a re-run', async () => {
    const { b } = await setup();
    await uploadResults(b, mainLine('200', 0, FLAKY));
    expect(await (await fetch(`${b.url}/`)).text()).toContain('flaky in its only run');
    for (let m = 1; m <= 10; m++)
      await uploadResults(b, mainLine(`2${String(m).padStart(2, '0')}`, m));
    const index = await (await fetch(`${b.url}/`)).text();
    expect(index).not.toContain('Flaky recently');
    expect(index).not.toContain('class="isolation');
    const api = (await (await fetch(`${b.url}/api/runs?recipe=notes&limit=11`)).json()) as {
      runs: Array<{ run_id: string; isolation: string | null }>;
    };
    expect(api.runs.filter((r) => r.isolation !== null)).toEqual([
      expect.objectContaining({ run_id: '200', isolation: 'flaky' }),
    ]);
  });
});
