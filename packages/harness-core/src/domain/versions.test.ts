import { describe, expect, it } from '@jest/globals';
import {
  chaosVersion,
  compareVersions,
  isReleaseTag,
  sortReleases,
  versionLabelFromCompose,
} from './versions.js';

describe('chaosVersion', () => {
  it('is the commit cut to 8 characters, +U when the tree is dirty', () => {
    expect(chaosVersion('0123456789abcdef', false)).toBe('01234567');
    expect(chaosVersion('0123456789abcdef', true)).toBe('01234567+U');
  });
});

describe('release versions', () => {
  it('orders by recipe semver first, then upstream', () => {
    expect(
      sortReleases(['1.10.0+2.0', '1.2.0+9.9', 'junk', '1.2.0+10.0', '0.9.1+1.0-beta', 'v1.0.0']),
    ).toEqual(['0.9.1+1.0-beta', '1.2.0+9.9', '1.2.0+10.0', '1.10.0+2.0']);
  });
  it.each([
    ['1.0.0+1.0', '1.0.0+1.0', 0],
    ['1.0.1+1.0', '1.0.0+2.0', 1],
    ['2.0.0+1.31.1', '10.0.0+1.0', -1],
  ])('compares %s with %s as %i', (a, b, c) => {
    expect(compareVersions(a, b)).toBe(c);
  });
  it('recognises release tags only', () => {
    expect(isReleaseTag('1.13.0+1.31.1')).toBe(true);
    expect(isReleaseTag('1.13.0')).toBe(false);
  });
  it('reads the version label from compose text', () => {
    expect(versionLabelFromCompose('- "coop-cloud.${STACK_NAME}.version=0.3.0+1.35.0"')).toBe(
      '0.3.0+1.35.0',
    );
    expect(versionLabelFromCompose('nothing')).toBeNull();
  });
});
