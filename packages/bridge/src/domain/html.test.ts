import { describe, expect, it } from '@jest/globals';
import { FLAKY_ISOLATION, makeResults } from '../../test/support/results.js';
import {
  flakySection,
  isolationMark,
  levelTrend,
  regressionMark,
  renderIndex,
  renderRecipe,
  renderRun,
} from './html.js';
import type { RunView } from './run-view.js';
import { trendBars } from '../../test/support/trend.js';

const view = (runId: string, level: number | null, verdict: string | null = 'pass'): RunView => ({
  runId,
  triggerId: null,
  recipe: 'notes',
  repo: null,
  pr: null,
  ref: null,
  headSha: null,
  quick: false,
  status: verdict ? 'finished' : 'running',
  droneStatus: null,
  buildLink: null,
  verdict,
  level,
  version: '1.0.0+1',
  error: null,
  createdAt: '2026-11-22T09:00:00.000Z',
  startedAt: null,
  finishedAt: null,
  updatedAt: '2026-11-22T09:00:00.000Z',
  progress: null,
  droneFinishedAt: null,
  droneWaitingSince: null,
  isolation: null,
});
const now = new Date('2026-11-22T10:00:00Z');

describe('levelTrend', () => {
  it('draws one bar per level, left to right, its height and colour the level', () => {
    expect(trendBars(levelTrend([5, 3, 0, 4]))).toEqual([
      [0, 0, 50, 'lv5', 5],
      [8, 20, 30, 'lv3', 3],
      [16, 50, 1, 'lv0', 0],
      [24, 10, 40, 'lv4', 4],
    ]);
    expect(levelTrend([5, 3])).toContain('width="16" height="50" viewBox="0 0 16 50"');
  });
  it('draws nothing without levels', () => expect(levelTrend([])).toBe(''));
});

describe('renderRecipe', () => {
  it('trends the runs oldest first (runs come newest first), skipping runs without a level', () => {
    const runs = [view('4', 2), view('3', null, null), view('2', 5), view('1', 1)];
    expect(trendBars(renderRecipe('notes', runs, null, now)).map((b) => b[4])).toEqual([1, 5, 2]);
  });
});

describe('the regression mark', () => {
  const r = {
    runId: '9',
    level: 3,
    version: '1.1.0+2.0',
    previousVersion: '1.0.0+"><script>',
    previousLevel: 5,
    previousRunId: '7',
    rung: 'backup_restore' as const,
    rungStatus: 'fail' as const,
  };
  it('marks the recipe on the index, escaped', () => {
    const page = renderIndex([{ recipe: 'notes', latest: view('9', 3), regression: r }], null, now);
    expect(page).toContain(
      'regression: level 3 — the last release reached 5: backup/restore now fails',
    );
    expect(page).not.toContain('<script>');
    expect(regressionMark(r)).toContain(
      'title="1.0.0+&quot;&gt;&lt;script&gt; reached level 5 in run 7"',
    );
    const plain = renderIndex([{ recipe: 'notes', latest: view('9', 3) }], null, now);
    expect(plain).not.toContain('class="regression"');
  });
});

describe('the isolation label', () => {
  const flaky = { ...view('9', 5), isolation: 'flaky' as const };
  it("marks the recipe's latest run on the index and each run of its history, with what it means", () => {
    const page = renderIndex([{ recipe: 'notes', latest: flaky }], null, now);
    expect(page).toContain(
      '<span class="verdict pass">pass</span> <span class="isolation flaky" title="Isolation re-run: The run failed, then passed when re-run alone on the swarm; its verdict is the re-run’s. What differed is what to stabilise.">flaky</span>',
    );
    const history = renderRecipe(
      'notes',
      [flaky, { ...view('8', 3, 'fail'), isolation: 'genuine' }, view('7', 5)],
      null,
      now,
    );
    expect(history.match(/class="isolation (\w+)"/g)).toEqual([
      'class="isolation flaky"',
      'class="isolation genuine"',
    ]);
    expect(isolationMark('changed')).toContain('failed differently when re-run alone');
    expect(isolationMark(null)).toBe('');
    const plain = renderIndex([{ recipe: 'notes', latest: view('9', 5) }], null, now);
    expect(plain).not.toContain('class="isolation');
  });

  it('lists the recipes flaky recently with their count, and nothing when there are none', () => {
    const page = renderIndex([{ recipe: 'notes', latest: flaky }], null, now, [
      { recipe: 'notes', flaky: 2, runs: 10 },
      { recipe: '"><script>', flaky: 1, runs: 1 },
    ]);
    expect(page).toContain('<h2 id="flaky-recent">Flaky recently</h2>');
    expect(page).toContain(
      '<li><a href="/recipes/notes">notes</a>: flaky in 2 of the last 10 runs</li>',
    );
    expect(page).toContain('&quot;&gt;&lt;script&gt;</a>: flaky in its only run');
    expect(page).not.toContain('<script>');
    expect(flakySection([{ recipe: 'notes', flaky: 1, runs: 4 }])).toContain(
      '1 of the last 4 runs',
    );
    expect(flakySection([])).toBe('');
    expect(renderIndex([{ recipe: 'notes', latest: flaky }], null, now)).not.toContain(
      'Flaky recently',
    );
  });

  it("tells the run page what the re-run found, escaping the harness's differences", () => {
    const results = makeResults({
      run_id: '9',
      level: 5,
      isolation: {
        ...FLAKY_ISOLATION,
        differences: [
          'timing: custom took 240.0 s in the first run and 61.0 s alone',
          '<img src=x>',
        ],
      },
    });
    const page = renderRun(flaky, results, [], false);
    expect(page).toContain(
      'flaky — failed at functional (TESTS_FAILED) with 1 other run on the swarm, passed alone. What differed:<ul class="differences"><li>timing: custom took 240.0 s in the first run and 61.0 s alone</li><li>&lt;img src=x&gt;</li></ul>',
    );
    expect(page).toContain('<code>first-run</code> of the run directory');
    expect(page).not.toContain('<img src=x>');
    expect(renderRun(view('9', 5), makeResults({ run_id: '9' }), [], false)).not.toContain(
      'isolation re-run',
    );
  });
});
