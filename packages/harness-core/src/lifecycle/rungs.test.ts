import { describe, expect, it } from '@jest/globals';
import { InfraError, InputError, RecipeError } from '../errors.js';
import type { Stage } from '../domain/results.js';
import {
  classify,
  combine,
  combinePaths,
  gateTier,
  rungsOf,
  skipReason,
  stageOf,
  type Stages,
} from './rungs.js';

const st = (status: Stage['status'], reason?: string): Stage => stageOf(status, 10, [], { reason });

describe('classify', () => {
  it.each([
    [new RecipeError('CRASH_LOOP', 'loops'), 'fail', 'loops', 'CRASH_LOOP'],
    [new InputError('BAD_CONFIG', 'typo'), 'fail', 'typo', 'BAD_CONFIG'],
    [new InfraError('DOCKER_FAILED', 'daemon gone'), 'unver', 'daemon gone', 'DOCKER_FAILED'],
    [new Error('boom'), 'unver', 'internal error: boom', 'INTERNAL'],
  ])('%p → %s', (err, status, reason, code) => {
    expect(classify(err)).toEqual({ status, reason, code });
  });
});

describe('skipReason', () => {
  const requested = new Set(['install', 'lint'] as const);
  it.each([
    ['upgrade', {}, 'not requested'],
    ['install', {}, null],
    [
      'lint',
      { lint: 'upstream has no lint' },
      'skipped by recipes/r/cc-ci.yml: upstream has no lint',
    ],
  ] as const)('%s with %j → %p', (tier, skip, want) => {
    expect(skipReason(tier, requested, skip, 'r')).toBe(want);
  });
});

describe('gateTier', () => {
  const pass = st('pass');
  it.each<
    [
      Parameters<typeof gateTier>[0],
      string | null,
      boolean,
      Stages,
      Stage['status'] | null,
      RegExp | null,
    ]
  >([
    ['backup', 'not requested', true, { install: pass }, 'skip', /not requested/],
    ['backup', null, false, { install: pass }, 'unver', /not implemented/],
    ['backup', null, true, { install: st('fail') }, 'unver', /install did not pass/],
    ['custom', null, true, {}, 'unver', /install did not pass/],
    ['lint', null, true, { install: st('fail') }, null, null],
    ['restore', null, true, { install: pass, backup: st('fail') }, 'unver', /no backup to restore/],
    [
      'restore',
      null,
      true,
      { install: pass, backup: st('skip', 'no backupbot labels') },
      'skip',
      /no backupbot labels/,
    ],
    ['restore', null, true, { install: pass, backup: pass }, null, null],
    ['backup', null, true, { install: pass }, null, null],
  ])('%s (skip %p, implemented %p) after %j', (tier, skip, implemented, stages, status, reason) => {
    const gated = gateTier(tier, { skip, implemented, stages });
    expect(gated?.status ?? null).toBe(status);
    if (reason) expect(gated?.reason).toMatch(reason);
    // Only a stage that failed or is unverified carries a code: why it did not run.
    expect(gated?.code).toBe(
      status === 'unver' ? (implemented ? 'NOT_RUN' : 'INTERNAL') : undefined,
    );
  });
});

describe('combine (the backup_restore rung)', () => {
  it.each<[Stage | undefined, Stage | undefined, string, RegExp | null]>([
    [undefined, undefined, 'skip', /not requested/],
    [st('pass'), st('pass'), 'pass', null],
    [st('pass'), st('fail', 'rows missing'), 'fail', /rows missing/],
    [st('unver', 'daemon'), st('fail', 'rows missing'), 'fail', /rows missing/],
    [st('unver', 'daemon'), st('pass'), 'unver', /daemon/],
    [st('skip', 'no labels'), st('skip', 'no labels'), 'skip', /no labels/],
    [st('pass'), st('skip', 'skipped'), 'unver', /must both run/],
    [st('pass'), undefined, 'unver', /must both run/],
  ])('%j + %j → %s', (a, b, status, reason) => {
    const rung = combine(a, b);
    expect(rung.status).toBe(status);
    if (reason) expect(rung.reason).toMatch(reason);
  });
});

describe('stageOf', () => {
  it('keeps a code only on a stage that failed or is unverified', () => {
    expect(stageOf('fail', 1, [], { code: 'CRASH_LOOP' }).code).toBe('CRASH_LOOP');
    expect(stageOf('unver', 1, [], { code: 'DOCKER_FAILED' }).code).toBe('DOCKER_FAILED');
    expect(stageOf('pass', 1, [], { code: 'CRASH_LOOP' }).code).toBeUndefined();
    expect(stageOf('skip', 1, [], { code: 'CRASH_LOOP' }).code).toBeUndefined();
  });
  it('hands the code of a failing stage to its rung, and of the failing half to backup_restore', () => {
    const failed = stageOf('fail', 10, [], { reason: 'rows missing', code: 'RESTORE_FAILED' });
    expect(rungsOf({ custom: failed }).functional.code).toBe('RESTORE_FAILED');
    expect(combine(st('pass'), failed)).toMatchObject({ status: 'fail', code: 'RESTORE_FAILED' });
    expect(combine(st('pass'), undefined).code).toBe('NOT_RUN');
  });
});

describe('rungsOf', () => {
  it('maps stages to the five rungs, custom to functional', () => {
    const rungs = rungsOf({ install: st('pass'), custom: st('fail', 'a test failed') });
    expect(rungs.install.status).toBe('pass');
    expect(rungs.upgrade).toEqual({ status: 'skip', reason: 'not requested' });
    expect(rungs.functional).toEqual({ status: 'fail', reason: 'a test failed', duration_ms: 10 });
    expect(rungs.backup_restore.status).toBe('skip');
  });
});

describe('combinePaths (upgrade_paths)', () => {
  const path = (base: string, status: Stage['status'], reason?: string) => ({
    base_version: base,
    stage: stageOf(status, 10, [{ name: 'head is deployed', status, ms: 5 }], {
      reason,
      code: status === 'pass' ? undefined : status === 'fail' ? 'UPGRADE_FAILED' : 'DOCKER_FAILED',
    }),
  });
  it('is the path’s own stage when there is one', () => {
    const one = path('0.2.0', 'fail', 'rolled back');
    expect(combinePaths([one], 30)).toEqual({ ...one.stage, duration_ms: 30 });
  });
  it.each<[Stage['status'][], Stage['status'], string | undefined]>([
    [['pass', 'pass'], 'pass', undefined],
    [['fail', 'pass'], 'fail', 'from 0.1.0: x'],
    [['pass', 'unver'], 'unver', 'from 0.2.0: x'],
    [['unver', 'fail'], 'fail', 'from 0.1.0: x; from 0.2.0: x'],
  ])('%j → %s', (statuses, want, reason) => {
    const stage = combinePaths(
      statuses.map((st, i) =>
        path(i === 0 ? '0.1.0' : '0.2.0', st, st === 'pass' ? undefined : 'x'),
      ),
      40,
    );
    expect(stage.status).toBe(want);
    expect(stage.reason).toBe(reason);
    expect(stage.tests.map((t) => t.name)).toEqual([
      'from 0.1.0: head is deployed',
      'from 0.2.0: head is deployed',
    ]);
    expect(stage.code).toBe(
      want === 'fail' ? 'UPGRADE_FAILED' : want === 'unver' ? 'DOCKER_FAILED' : undefined,
    );
  });
});
