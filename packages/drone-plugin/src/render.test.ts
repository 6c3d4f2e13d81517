import { describe, expect, it } from '@jest/globals';
import { makeResults } from '../../bridge/test/support/results.js';
import { renderSummary } from './render.js';

describe('renderSummary', () => {
  it('prints each failed tier’s error code before its reason and points at docs/errors.md', () => {
    const r = makeResults({ run_id: '1', verdict: 'fail', level: 0 });
    r.stages = {
      install: {
        status: 'fail',
        code: 'CRASH_LOOP',
        reason: 'service app is crash-looping',
        duration_ms: 4200,
        tests: [],
      },
      backup: { status: 'skip', reason: 'not requested', duration_ms: 0, tests: [] },
    };
    const text = renderSummary(r);
    expect(text).toContain('FAIL  install     4.2 s  CRASH_LOOP: service app is crash-looping');
    expect(text).toContain('skip  backup      0.0 s  not requested');
    expect(text).toContain('error codes (CRASH_LOOP): see docs/errors.md');
  });

  it('says which canonical a quick run used and whether it was put back, or why it ran cold', () => {
    const canonical = {
      version: '0.2.0+1.35.0',
      commit: 'c'.repeat(40),
      stack: 'warm-notes-1_ci_localhost',
      domain: 'warm-notes-1.ci.localhost',
    };
    const put = makeResults({
      run_id: '1',
      mode: 'quick',
      quick: { canonical, snapshot_restored: true },
    });
    expect(renderSummary(put)).toContain('(quick run: lower confidence)');
    expect(renderSummary(put)).toContain(
      'quick run on the warm canonical 0.2.0+1.35.0 (warm-notes-1_ci_localhost): put back as it was',
    );
    const broken = makeResults({
      run_id: '1',
      mode: 'quick',
      quick: { canonical, snapshot_restored: false, restore_detail: 'restore failed' },
    });
    expect(renderSummary(broken)).toContain('NOT PUT BACK — restore failed');
    const cold = makeResults({
      run_id: '1',
      quick: { canonical: null, cold_reason: 'no canonical', snapshot_restored: null },
    });
    expect(renderSummary(cold)).toContain('quick run asked for, ran cold: no canonical');
  });

  it('names the code of an error that ended the run', () => {
    const r = makeResults({
      run_id: '1',
      verdict: 'error',
      error: 'daemon gone',
      error_code: 'DOCKER_FAILED',
    });
    expect(renderSummary(r)).toContain('error: DOCKER_FAILED: daemon gone');
  });

  it('says when a failed run was re-run alone, its label and what differed', () => {
    const r = makeResults({ run_id: '1', verdict: 'pass', level: 4 });
    const summary = {
      verdict: 'fail' as const,
      level: 3,
      failed_rung: 'functional' as const,
      code: 'TESTS_FAILED' as const,
      duration_ms: 30_000,
      concurrent_runs: 1,
    };
    r.isolation = {
      label: 'flaky',
      first: summary,
      first_dir: 'first-run',
      rerun: { ...summary, verdict: 'pass', level: 4, concurrent_runs: 0 },
      differences: [
        'load: the first run shared the swarm with 1 other run(s); the re-run had it alone',
      ],
    };
    const text = renderSummary(r);
    expect(text).toContain(
      'isolation re-run: FLAKY — the first run (first-run/) ended fail at level 3; alone it ended pass at level 4',
    );
    expect(text).toContain('    load: the first run shared the swarm with 1 other run(s)');
  });
});
