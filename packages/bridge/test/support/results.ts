/** Build schema-valid results.json objects for bridge tests. */
import { parseResults, type Isolation, type Results } from '@cc-ci/harness-core';

export function makeResults(overrides: Partial<Results> & { run_id: string }): Results {
  const base: Results = {
    schema: 1,
    recipe: 'notes',
    version: '0.3.0+1.35.0',
    base_version: null,
    pr: 7,
    ref: 'a'.repeat(40),
    commit: 'a'.repeat(40),
    run_id: overrides.run_id,
    started: '2026-11-22T09:00:00.000Z',
    finished: '2026-11-22T09:01:00.000Z',
    mode: 'cold',
    verdict: 'pass',
    level: 1,
    rungs: {
      install: { status: 'pass', duration_ms: 6000 },
      upgrade: { status: 'skip', reason: 'not requested' },
      backup_restore: { status: 'skip', reason: 'not requested' },
      functional: { status: 'skip', reason: 'not requested' },
      lint: { status: 'skip', reason: 'not requested' },
    },
    stages: {
      install: {
        status: 'pass',
        duration_ms: 6000,
        tests: [{ name: 'deploy converges', status: 'pass', ms: 6000 }],
      },
    },
    flags: { clean_teardown: true, no_secret_leak: true },
    domain: 'note-abcdef.ci.localhost',
    deploy_count: 1,
  };
  return parseResults({ ...base, ...overrides });
}

export const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg onload=alert(1)>",
  '[click](javascript:alert(1)) <b>bold</b> ![x](http://127.0.0.1:1/x.png)',
];

/**
 * A run that failed at functional with one other run on the swarm and passed alone, with the
 * sentences the harness writes for it (harness-core domain/isolation.ts `differences`).
 */
export const FLAKY_ISOLATION: Isolation = {
  label: 'flaky',
  first: {
    verdict: 'fail',
    level: 3,
    failed_rung: 'functional',
    code: 'TESTS_FAILED',
    reason: 'GET /login answered 502',
    duration_ms: 300_000,
    failed_tier_ms: 240_000,
    concurrent_runs: 1,
  },
  first_dir: 'first-run',
  rerun: { verdict: 'pass', level: 5, duration_ms: 120_000, concurrent_runs: 0 },
  differences: [
    'load: the first run shared the swarm with 1 other run(s); the re-run had it alone',
    'timing: custom took 240.0 s in the first run and 61.0 s alone',
  ],
};
