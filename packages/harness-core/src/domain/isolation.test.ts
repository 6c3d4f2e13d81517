import { describe, expect, it } from '@jest/globals';
import { differences, isolationOf, labelOf, rerunDecision, summarize } from './isolation.js';
import { IsolationSchema, type Results, type Rung, type Stage } from './results.js';

const pass: Rung = { status: 'pass' };
const stage = (status: Stage['status'], ms: number): Stage => ({
  status,
  duration_ms: ms,
  tests: [],
});

/** A run of a recipe: green up to `failAt` (functional = custom failed), level to match. */
function run(over: Partial<Results> & { failAt?: 'functional' | 'install'; ms?: number } = {}) {
  const { failAt, ms = 4000, ...rest } = over;
  const functional: Rung =
    failAt === 'functional'
      ? { status: 'fail', code: 'TESTS_FAILED', reason: '1 test(s) failed: home' }
      : pass;
  const install: Rung =
    failAt === 'install' ? { status: 'fail', code: 'CRASH_LOOP', reason: 'exits 1' } : pass;
  return {
    schema: 1,
    recipe: 'notes',
    version: '1.0.0',
    pr: 3,
    ref: 'abc',
    run_id: '7',
    started: '2026-12-03T01:00:00.000Z',
    finished: '2026-12-03T01:00:30.000Z',
    mode: 'cold',
    verdict: failAt ? 'fail' : 'pass',
    level: failAt === 'install' ? 0 : failAt ? 3 : 4,
    rungs: { install, upgrade: pass, backup_restore: pass, functional, lint: pass },
    stages: {
      install: stage(failAt === 'install' ? 'fail' : 'pass', 9000),
      custom: stage(failAt === 'functional' ? 'fail' : 'pass', ms),
    },
    flags: { clean_teardown: true, no_secret_leak: true },
    domain: 'notes-3.ci.localhost',
    deploy_count: 1,
    concurrent_runs: 0,
    ...rest,
  } as Results;
}

describe('rerunDecision', () => {
  it.each([
    ['a pass', run(), 'on-failure', true, false, 'the run passed'],
    ['policy off', run({ failAt: 'functional' }), 'off', true, false, 'off for this run'],
    [
      'cc-ci.yml',
      run({ failAt: 'functional' }),
      'on-failure',
      false,
      false,
      'isolation_rerun: false',
    ],
    ['asked', run({ failAt: 'functional' }), 'on-failure', true, true, 'asked for'],
    ['lone, Drone default', run({ failAt: 'functional' }), 'when-shared', true, false, 'to itself'],
    [
      'shared, Drone default',
      run({ failAt: 'functional', concurrent_runs: 2 }),
      'when-shared',
      true,
      true,
      'while 2 other run(s) deployed',
    ],
    [
      'an aborted run',
      run({ verdict: 'error', error_code: 'ABORTED' }),
      'on-failure',
      true,
      false,
      'ABORTED',
    ],
    [
      'an infrastructure error',
      run({ verdict: 'error', error_code: 'DOCKER_FAILED' }),
      'on-failure',
      true,
      true,
      'asked for',
    ],
    [
      'a recipe error with verdict error',
      run({ verdict: 'error', error_code: 'BAD_RECIPE' }),
      'on-failure',
      true,
      false,
      'BAD_RECIPE',
    ],
  ] as const)('%s', (_name, results, policy, allows, rerun, why) => {
    const d = rerunDecision(results, policy, allows);
    expect(d.rerun).toBe(rerun);
    expect(d.why).toContain(why);
  });
});

describe('labels', () => {
  const failed = summarize(run({ failAt: 'functional', concurrent_runs: 1 }));
  it('is flaky when the re-run passes, genuine at the same rung and code, else changed', () => {
    expect(labelOf(failed, summarize(run()))).toBe('flaky');
    expect(labelOf(failed, summarize(run({ failAt: 'functional' })))).toBe('genuine');
    expect(labelOf(failed, summarize(run({ failAt: 'install' })))).toBe('changed');
    const otherCode = summarize(
      run({
        failAt: 'functional',
        rungs: { ...run().rungs, functional: { status: 'unver', code: 'PROCESS_FAILED' } },
      }),
    );
    expect(labelOf(failed, otherCode)).toBe('changed');
  });

  it('summarises a run by its lowest failed rung, its code and the time its tiers took', () => {
    expect(failed).toEqual({
      verdict: 'fail',
      level: 3,
      failed_rung: 'functional',
      code: 'TESTS_FAILED',
      reason: '1 test(s) failed: home',
      duration_ms: 30_000,
      failed_tier_ms: 4000,
      concurrent_runs: 1,
    });
    expect(summarize(run())).not.toHaveProperty('failed_rung');
  });

  it('says what differed: load, the failing step’s timing, both outcomes', () => {
    const first = run({ failAt: 'functional', concurrent_runs: 1, ms: 12_300 });
    expect(differences(first, run({ ms: 4100 }))).toEqual([
      'load: the first run shared the swarm with 1 other run(s); the re-run had it alone',
      'timing: custom took 12.3 s in the first run and 4.1 s alone',
      'the whole run took 30.0 s, alone 30.0 s',
      'first run: failed at functional (TESTS_FAILED): 1 test(s) failed: home',
      're-run alone: passed at level 4',
    ]);
    expect(differences(first, run({ concurrent_runs: 2 }))[0]).toBe(
      'load: the first run shared the swarm with 1 other run(s), the re-run with 2',
    );
    const installFailed = run({ failAt: 'install', stages: { install: stage('fail', 9000) } });
    expect(differences(first, installFailed)[1]).toBe(
      'timing: custom took 12.3 s in the first run, and did not run alone',
    );
  });

  it('builds an isolation block the schema accepts', () => {
    const block = isolationOf(run({ failAt: 'functional' }), run(), 'first-run');
    expect(IsolationSchema.parse(block)).toEqual(block);
    expect(block.label).toBe('flaky');
  });
});
