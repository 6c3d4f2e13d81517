import { describe, expect, it } from '@jest/globals';
import type { Results } from '../domain/results.js';
import { promotionDecision, sweepDecision, type Canonical } from './decisions.js';

const canon = (version: string): Canonical => ({
  recipe: 'notes',
  version,
  commit: 'c'.repeat(40),
  domain: 'note-abc123.ci.localhost',
  stack: 'note-abc123_ci_localhost',
  run_id: 'sweep-notes-1',
  ts: '2026-11-22T00:00:00Z',
});

describe('sweepDecision', () => {
  it('tests the latest release when there is no canonical or it is older; never keys on commits', () => {
    const tags = ['0.1.0+1.0', '0.10.0+1.0', '0.9.0+1.0', 'latest', 'v-test'];
    expect(sweepDecision(null, tags)).toMatchObject({ action: 'test', tag: '0.10.0+1.0' });
    expect(sweepDecision(canon('0.9.0+1.0'), tags)).toMatchObject({
      action: 'test',
      tag: '0.10.0+1.0',
    });
    expect(sweepDecision(canon('0.10.0+1.0'), tags)).toMatchObject({ action: 'skip' });
    expect(sweepDecision(canon('1.0.0+1.0'), tags)).toMatchObject({ action: 'skip' }); // never downgrade
  });
  it('is an error when the repository has no release tags', () => {
    expect(sweepDecision(null, ['main', 'latest'])).toMatchObject({ action: 'error' });
  });
});

describe('promotionDecision', () => {
  const tag = '0.2.0+1.35.0';
  const green = {
    verdict: 'pass',
    mode: 'cold',
    pr: null,
    version: tag,
    commit: 'a'.repeat(40),
    meta: { kept_warm: { stack: 's', domain: 'd' } },
  } as unknown as Results;
  const decide = (
    over: Partial<Results>,
    extra: Partial<{ enrolled: boolean; tag: string; tagCommit: string }> = {},
  ) =>
    promotionDecision({
      results: { ...green, ...over } as Results,
      enrolled: true,
      tag,
      tagCommit: 'a'.repeat(40),
      ...extra,
    });

  it('promotes an enrolled, green, cold, non-PR run of exactly the release tag and its commit', () => {
    expect(decide({})).toEqual({ promote: true });
  });
  it.each<
    [
      string,
      Partial<Results>,
      Partial<{ enrolled: boolean; tag: string; tagCommit: string }>,
      RegExp,
    ]
  >([
    ['not enrolled', {}, { enrolled: false }, /not enrolled/],
    ['a failing run', { verdict: 'fail' }, {}, /not green/],
    ['an infrastructure error', { verdict: 'error' }, {}, /not green/],
    ['a quick run', { mode: 'quick' }, {}, /quick runs never promote/],
    ['a PR run', { pr: 4 }, {}, /pull request/],
    ['a non-release ref', {}, { tag: 'main' }, /not a release tag/],
    ['another version than the tag', { version: '0.1.0+1.35.0' }, {}, /is not the release/],
    ['another commit than the tag’s', { commit: 'b'.repeat(40) }, {}, /is not 0\.2\.0/],
    ['a deploy that was not kept', { meta: {} }, {}, /not kept warm/],
  ])('refuses %s', (_name, over, extra, reason) => {
    const d = decide(over, extra);
    expect(d.promote).toBe(false);
    if (!d.promote) expect(d.reason).toMatch(reason);
  });
});
