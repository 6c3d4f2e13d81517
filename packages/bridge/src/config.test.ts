import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig: Drone public address and the blocked-build timeout (issue 13)', () => {
  it('defaults CCCI_BLOCKED_TIMEOUT_S to an hour and leaves CCCI_DRONE_PUBLIC_URL unset', () => {
    const c = loadConfig({});
    expect(c.CCCI_BLOCKED_TIMEOUT_S).toBe(3600);
    expect(c.CCCI_DRONE_PUBLIC_URL).toBeUndefined();
  });

  it('reads both when set', () => {
    const c = loadConfig({
      CCCI_DRONE_URL: 'http://drone:80',
      CCCI_DRONE_PUBLIC_URL: 'https://drone.example.org',
      CCCI_BLOCKED_TIMEOUT_S: '600',
    });
    expect(c.CCCI_DRONE_PUBLIC_URL).toBe('https://drone.example.org');
    expect(c.CCCI_BLOCKED_TIMEOUT_S).toBe(600);
  });

  it.each([
    ['CCCI_DRONE_PUBLIC_URL', 'drone.example.org'],
    ['CCCI_BLOCKED_TIMEOUT_S', '0'],
    ['CCCI_BLOCKED_TIMEOUT_S', 'soon'],
  ])('refuses %s=%j, naming it', (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [key]: value })).toThrow(key);
  });
});

describe('loadConfig: the run-token secret (issue 18)', () => {
  const results = 'results-token-0123456789';

  it('leaves CCCI_RUN_TOKEN_SECRET unset by default (run tokens derive from CCCI_RESULTS_TOKEN)', () => {
    expect(loadConfig({ CCCI_RESULTS_TOKEN: results }).CCCI_RUN_TOKEN_SECRET).toBeUndefined();
  });

  it('reads it from the environment or from CCCI_RUN_TOKEN_SECRET_FILE', () => {
    const secret = 'r'.repeat(32);
    expect(loadConfig({ CCCI_RUN_TOKEN_SECRET: secret }).CCCI_RUN_TOKEN_SECRET).toBe(secret);
    expect(() =>
      loadConfig({ CCCI_RUN_TOKEN_SECRET: secret, CCCI_RUN_TOKEN_SECRET_FILE: '/nonexistent' }),
    ).toThrow(/both set/);
  });

  it.each([
    ['shorter than 32 characters', { CCCI_RUN_TOKEN_SECRET: 'short-secret-0123456789' }, /32/],
    [
      'equal to CCCI_RESULTS_TOKEN',
      { CCCI_RESULTS_TOKEN: 'x'.repeat(40), CCCI_RUN_TOKEN_SECRET: 'x'.repeat(40) },
      /equals CCCI_RESULTS_TOKEN/,
    ],
  ])('refuses a secret %s, naming it', (_what, env, why) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(why);
    expect(() => loadConfig(env)).toThrow('CCCI_RUN_TOKEN_SECRET');
  });
});
