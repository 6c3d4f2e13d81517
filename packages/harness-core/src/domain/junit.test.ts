import { describe, expect, it } from '@jest/globals';
import { renderJunit } from './junit.js';

describe('renderJunit', () => {
  const base = {
    tier: 'install' as const,
    recipe: 'notes',
    timestamp: '2026-11-22T09:00:00',
    hostname: 'ci',
  };
  it('writes failure for fail, error for unver and skipped for skip, with counts', () => {
    const xml = renderJunit({
      ...base,
      stage: {
        status: 'fail',
        duration_ms: 3000,
        tests: [
          { name: 'a', status: 'pass', ms: 10 },
          { name: 'b', status: 'fail', ms: 20, message: 'expected 200, got 500' },
          { name: 'c', status: 'unver', ms: 30, message: 'daemon gone' },
          { name: 'd', status: 'skip', ms: 0, message: 'declared' },
        ],
      },
    });
    expect(xml).toContain('tests="4" failures="1" errors="1" skipped="1" time="3.000"');
    expect(xml).toContain('<failure message="expected 200, got 500" type="failure">');
    expect(xml).toContain('<error message="daemon gone" type="unverified">');
    expect(xml).toContain('<skipped message="declared"/>');
  });
  it('types a failure and an error by their error code: the row’s own, else the stage’s', () => {
    const xml = renderJunit({
      ...base,
      stage: {
        status: 'fail',
        code: 'HTTP_FAILED',
        duration_ms: 3000,
        tests: [
          { name: 'b', status: 'fail', ms: 20, message: 'got 500' },
          { name: 'c', status: 'unver', ms: 30, message: 'gone', code: 'DOCKER_FAILED' },
        ],
      },
    });
    expect(xml).toContain('<failure message="got 500" type="HTTP_FAILED">');
    expect(xml).toContain('<error message="gone" type="DOCKER_FAILED">');
    expect(xml).toContain('<property name="code" value="HTTP_FAILED"/>');
  });
  it('escapes hostile names and messages so they stay text', () => {
    const xml = renderJunit({
      ...base,
      stage: {
        status: 'fail',
        duration_ms: 1,
        tests: [{ name: '<script>"&', status: 'fail', ms: 1, message: ']]><x a="1">\u0001' }],
      },
    });
    expect(xml).not.toContain('<script>');
    expect(xml).toContain('name="&lt;script&gt;&quot;&amp;"');
    expect(xml).not.toContain('\u0001');
  });
});
