import { describe, expect, it } from '@jest/globals';
import { chooseUpgradeBase } from './upgrade-base.js';

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
