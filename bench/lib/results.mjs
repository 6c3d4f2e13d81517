// Shared by the bridge benchmarks: a schema-valid results.json of run `n`, the `i`-th of `recipe`.
const root = new URL('../../', import.meta.url);
const { parseResults } = await import(new URL('packages/harness-core/dist/index.js', root).href);

export function results(recipe, i, n) {
  const started = new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString();
  return parseResults({
    schema: 1,
    recipe,
    version: `1.${i}.0+1.0`,
    base_version: null,
    pr: i + 1,
    ref: 'a'.repeat(40),
    commit: 'a'.repeat(40),
    run_id: `r${n}`,
    started,
    finished: started,
    mode: 'cold',
    verdict: i % 5 ? 'pass' : 'fail',
    level: i % 6,
    rungs: {
      install: { status: 'pass' },
      upgrade: { status: 'pass' },
      backup_restore: { status: 'skip', reason: 'none' },
      functional: { status: 'skip', reason: 'none' },
      lint: { status: 'unver', reason: 'abra not installed' },
    },
    stages: {
      install: {
        status: 'pass',
        duration_ms: 6000,
        tests: [{ name: 'deploy converges', status: 'pass', ms: 6000 }],
      },
    },
    flags: { clean_teardown: true, no_secret_leak: true },
    domain: 'x-000000.ci.localhost',
    deploy_count: 1,
  });
}
