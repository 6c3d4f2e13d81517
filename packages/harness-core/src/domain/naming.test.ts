import { describe, expect, it } from '@jest/globals';
import {
  appDomain,
  generateRunId,
  isRecipeName,
  RECIPE_NAME_PATTERN,
  RECIPE_NAME_SOURCE,
  secretObjectName,
  stackName,
  validateRecipeName,
  validateRef,
} from './naming.js';

describe('validateRecipeName', () => {
  it.each(['notes', 'a', 'keycloak', 'my-app-2', 'x'.repeat(63)])('accepts %s', (n) => {
    expect(validateRecipeName(n)).toBe(n);
  });
  it.each([
    '',
    'a/b',
    '..',
    '../x',
    'a b',
    'x;rm',
    '$(id)',
    '`id`',
    'Notes',
    '-x',
    'x'.repeat(64),
    'a\nb',
    'a.b',
  ])('refuses %j with BAD_RECIPE_NAME', (n) => {
    expect(() => validateRecipeName(n)).toThrow(
      expect.objectContaining({ code: 'BAD_RECIPE_NAME' }),
    );
    expect(isRecipeName(n)).toBe(false);
  });
  it('isRecipeName, the pattern string and the validator agree (one definition)', () => {
    expect(RECIPE_NAME_PATTERN).toBe(`^${RECIPE_NAME_SOURCE}$`);
    for (const n of ['notes', 'my-app-2', 'x'.repeat(63), 'x'.repeat(64), 'Notes', '-x', 'a.b']) {
      expect(isRecipeName(n)).toBe(new RegExp(RECIPE_NAME_PATTERN).test(n));
      expect(isRecipeName(n)).toBe(n === 'notes' || n === 'my-app-2' || n === 'x'.repeat(63));
    }
  });
});

describe('validateRef', () => {
  it.each(['abcdef1', 'a'.repeat(40), '1.2.3+4.5.6', 'v1.0.0', 'HEAD', 'main'])(
    'accepts %s',
    (r) => {
      expect(validateRef(r)).toBe(r);
    },
  );
  it.each([
    'a;b',
    '--upload-pack=x',
    '-x',
    'HEAD~1',
    'a..b',
    'a b',
    'a\nb',
    '$(id)',
    'x'.repeat(200),
    '',
  ])('refuses %j with BAD_REF', (r) => {
    expect(() => validateRef(r)).toThrow(expect.objectContaining({ code: 'BAD_REF' }));
  });
});

describe('appDomain', () => {
  const base = {
    recipe: 'keycloak',
    pr: 12,
    ref: 'abcdef1',
    runId: '42',
    suffix: 'ci.example.org',
  };
  it('is <recipe[:4]>-<6 hex>.<suffix>', () => {
    expect(appDomain(base)).toMatch(/^keyc-[0-9a-f]{6}\.ci\.example\.org$/);
  });
  it('is stable for the same input and differs when any part changes', () => {
    expect(appDomain(base)).toBe(appDomain({ ...base }));
    for (const change of [
      { pr: 13 },
      { ref: 'abcdef2' },
      { runId: '43' },
      { recipe: 'keycloak2' },
    ]) {
      expect(appDomain({ ...base, ...change })).not.toBe(appDomain(base));
    }
  });
  it('refuses a suffix that is not a DNS name', () => {
    expect(() => appDomain({ ...base, suffix: 'a b' })).toThrow(/not a DNS name/);
  });
});

describe('stackName and secretObjectName', () => {
  it('derives the stack name as abra does: dots to underscores, at most 45 characters', () => {
    expect(stackName('note-abc123.ci.localhost')).toBe('note-abc123_ci_localhost');
    expect(stackName(`x-123456.${'a'.repeat(60)}.org`)).toHaveLength(45);
  });
  it('keeps secret names within Docker’s 64 characters or explains the fix', () => {
    expect(secretObjectName('note-abc123_ci_localhost', 'admin_password', 'v1')).toBe(
      'note-abc123_ci_localhost_admin_password_v1',
    );
    expect(() => secretObjectName('s'.repeat(45), 'a_very_long_secret_name', 'v1')).toThrow(
      /Docker allows 64/,
    );
  });
});

describe('generateRunId', () => {
  it('is sortable by time and valid as a run id', () => {
    expect(generateRunId(new Date('2026-11-22T09:00:00Z'), 'abcdef12')).toBe(
      'local-20261122-090000-abcdef',
    );
  });
});
