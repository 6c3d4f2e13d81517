import { describe, expect, it } from '@jest/globals';
import { levelTrend, regressionMark, renderIndex, renderRecipe } from './html.js';
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
