import { describe, expect, it } from '@jest/globals';
import { chooseUpgradeBase, chooseUpgradeBases } from './upgrade-base.js';

const releases = ['1.0.0+1.0', '1.1.0+1.0', '2.0.0+2.0'];

describe('chooseUpgradeBase', () => {
  it.each([
    [
      'the newest release strictly older than the head',
      '2.1.0+2.0',
      null,
      { kind: 'base', version: '2.0.0+2.0', source: 'release' },
    ],
    [
      'a step back when the head is itself a release',
      '2.0.0+2.0',
      null,
      { kind: 'base', version: '1.1.0+1.0', source: 'release' },
    ],
    [
      'the canonical when it is strictly older',
      '2.1.0+2.0',
      { version: '1.1.0+1.0' },
      { kind: 'base', version: '1.1.0+1.0', source: 'canonical' },
    ],
    [
      'a step back when the canonical equals the head',
      '2.0.0+2.0',
      { version: '2.0.0+2.0' },
      { kind: 'base', version: '1.1.0+1.0', source: 'release' },
    ],
    [
      'no canonical newer than the head',
      '1.1.0+1.0',
      { version: '2.0.0+2.0' },
      { kind: 'base', version: '1.0.0+1.0', source: 'release' },
    ],
  ])('picks %s', (_n, head, canonical, want) => {
    expect(chooseUpgradeBase({ headVersion: head, releases, canonical })).toEqual(want);
  });
  it.each([
    ['the oldest release', '1.0.0+1.0', /no previous release older than 1\.0\.0\+1\.0/],
    ['a head without a version', null, /no release version/],
    ['a head with a non-release version', 'latest', /no release version/],
  ])('skips for %s', (_n, head, reason) => {
    const choice = chooseUpgradeBase({ headVersion: head, releases });
    expect(choice.kind).toBe('skip');
    expect(choice.kind === 'skip' && choice.reason).toMatch(reason);
  });
});

describe('chooseUpgradeBases (upgrade_paths)', () => {
  const releases = ['0.1.0+1.0', '0.2.0+1.1', '0.2.1+1.1', '0.3.0+1.2'];
  it.each([
    [1, ['0.2.1+1.1'], false],
    [2, ['0.2.0+1.1', '0.2.1+1.1'], false],
    [3, ['0.1.0+1.0', '0.2.0+1.1', '0.2.1+1.1'], false],
    [5, ['0.1.0+1.0', '0.2.0+1.1', '0.2.1+1.1'], true],
  ])('%i path(s) from head 0.3.0+1.2 → %j, oldest first', (paths, want, short) => {
    const c = chooseUpgradeBases({ headVersion: '0.3.0+1.2', releases, paths });
    expect(c.kind).toBe('bases');
    if (c.kind !== 'bases') return;
    expect(c.bases.map((b) => b.version)).toEqual(want);
    expect(Boolean(c.short)).toBe(short);
  });
  it('never takes the head version or a newer release as a base', () => {
    const c = chooseUpgradeBases({ headVersion: '0.2.0+1.1', releases, paths: 3 });
    expect(c.kind === 'bases' && c.bases.map((b) => b.version)).toEqual(['0.1.0+1.0']);
  });
  it('skips as chooseUpgradeBase does without an older release', () => {
    expect(chooseUpgradeBases({ headVersion: '0.1.0+1.0', releases, paths: 2 }).kind).toBe('skip');
  });
});
