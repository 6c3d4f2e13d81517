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

  it('names the code of an error that ended the run', () => {
    const r = makeResults({
      run_id: '1',
      verdict: 'error',
      error: 'daemon gone',
      error_code: 'DOCKER_FAILED',
    });
    expect(renderSummary(r)).toContain('error: DOCKER_FAILED: daemon gone');
  });
});
