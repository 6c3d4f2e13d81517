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
