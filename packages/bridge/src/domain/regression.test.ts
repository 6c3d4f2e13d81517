import { describe, expect, it } from '@jest/globals';
import type { RungName, RungStatus } from '@cc-ci/harness-core';
import {
  compareReleases,
  firstLostRung,
  judgeRegression,
  previousGreen,
  regressionSentence,
  releaseOf,
  type GreenRun,
  type JudgedRun,
} from './regression.js';

type Rungs = Record<RungName, { status: RungStatus }>;
const ladder = (...s: RungStatus[]): Rungs => ({
  install: { status: s[0] ?? 'pass' },
  upgrade: { status: s[1] ?? 'pass' },
  backup_restore: { status: s[2] ?? 'pass' },
  functional: { status: s[3] ?? 'pass' },
  lint: { status: s[4] ?? 'pass' },
});
const ALL_PASS = ladder();
const green = (runId: string, version: string, level: number, key = runId): GreenRun => ({
  runId,
  version,
  level,
  key,
});
const run = (o: Partial<JudgedRun>): JudgedRun => ({
  runId: 'r',
  version: '1.1.0+2.0',
  verdict: 'fail',
  level: 3,
  rungs: ladder('pass', 'pass', 'pass', 'fail', 'pass'),
  ...o,
});
const rungsOf = () => ALL_PASS;

describe('releaseOf', () => {
  it.each([
    ['1.0.0+2.3', '1.0.0'],
    ['0.3.0+1.35.0', '0.3.0'],
    ['10.2.1+v1.2-rc1', '10.2.1'],
    ['1.0.0', null],
    ['abcdef01+U', null],
    ['', null],
    [null, null],
  ])('%s → %s', (version, release) => expect(releaseOf(version)).toBe(release));

  it('orders releases by semver, never as text', () => {
    expect(compareReleases('1.10.0', '1.9.0')).toBeGreaterThan(0);
    expect(compareReleases('1.0.0', '1.0.0')).toBe(0);
    expect(compareReleases('0.9.9', '1.0.0')).toBeLessThan(0);
  });
});

describe('previousGreen', () => {
  const greens = [
    green('a', '0.9.0+1', 5),
    green('b', '1.0.0+1', 4, '2026-01-01|b'),
    green('c', '1.0.0+2', 5, '2026-01-02|c'), // same release, newer: the release's last green run
    green('d', '1.1.0+1', 5),
    green('e', 'chaos+U', 5),
  ];
  it.each([
    ['1.1.0', 'c'],
    ['1.0.0', 'a'],
    ['2.0.0', 'd'],
    ['0.9.0', null],
    ['0.1.0', null],
  ])('for release %s the baseline is %s', (release, id) =>
    expect(previousGreen(release, greens)?.runId ?? null).toBe(id),
  );
});

describe('judgeRegression', () => {
  const greens = [green('g1', '1.0.0+2.0', 5)];
  it.each<[string, Partial<JudgedRun>, readonly GreenRun[], boolean]>([
    ['below the previous release', {}, greens, true],
    ['below, a passing run too', { verdict: 'pass' }, greens, true],
    ['equal level', { level: 5, rungs: ALL_PASS }, greens, false],
    ['higher level', { level: 5 }, [green('g1', '1.0.0+2.0', 4)], false],
    ['no previous release', {}, [], false],
    ['only the same release was green', {}, [green('g1', '1.1.0+1.9', 5)], false],
    ['only a newer release was green', {}, [green('g1', '1.2.0+2.0', 5)], false],
    ['an error run', { verdict: 'error', level: 0 }, greens, false],
    ['a run still going', { verdict: null, level: null }, greens, false],
    ['a run without a release', { version: null }, greens, false],
    ['a chaos version', { version: 'abcdef01+U' }, greens, false],
  ])('%s', (_name, o, g, expected) => {
    expect(judgeRegression(run(o), g, rungsOf) !== null).toBe(expected);
  });

  it('names the run, the previous release, its run and the first rung lost', () => {
    expect(judgeRegression(run({ runId: '9' }), greens, rungsOf)).toEqual({
      runId: '9',
      level: 3,
      version: '1.1.0+2.0',
      previousVersion: '1.0.0+2.0',
      previousLevel: 5,
      previousRunId: 'g1',
      rung: 'functional',
      rungStatus: 'fail',
    });
  });

  it('compares with the newest older release, not the best one', () => {
    const g = [green('old', '0.9.0+1', 5), green('prev', '1.0.0+1', 3)];
    expect(judgeRegression(run({ level: 3 }), g, rungsOf)).toBeNull();
    expect(judgeRegression(run({ level: 2 }), g, rungsOf)?.previousRunId).toBe('prev');
  });

  it('without the stored results of either run, no rung is named', () => {
    const r = judgeRegression(run({ rungs: undefined }), greens, () => undefined);
    expect(r).toMatchObject({ rung: null, rungStatus: null, previousLevel: 5 });
    expect(regressionSentence(r!)).toBe('level 3 — the last release reached 5');
  });
});

describe('firstLostRung and the sentence', () => {
  it.each<[Rungs, Rungs, RungName | null]>([
    [ALL_PASS, ladder('pass', 'pass', 'fail', 'skip', 'pass'), 'backup_restore'],
    [ALL_PASS, ladder('pass', 'unver'), 'upgrade'],
    [ladder('pass', 'skip'), ladder('pass', 'skip', 'fail'), 'backup_restore'],
    [ladder('pass', 'pass', 'fail'), ladder('pass', 'pass', 'fail'), null],
    [ALL_PASS, ALL_PASS, null],
  ])('%#', (then, now, rung) => expect(firstLostRung(then, now)?.rung ?? null).toBe(rung));

  it.each<[RungName, RungStatus, string]>([
    ['backup_restore', 'fail', 'level 3 — the last release reached 5: backup/restore now fails'],
    ['functional', 'unver', 'level 3 — the last release reached 5: functional is now unverified'],
    ['lint', 'skip', 'level 3 — the last release reached 5: lint is now skipped'],
  ])('%s %s', (rung, rungStatus, text) => {
    const r = judgeRegression(run({}), [green('g', '1.0.0+1', 5)], rungsOf)!;
    expect(regressionSentence({ ...r, rung, rungStatus })).toBe(text);
  });
});
