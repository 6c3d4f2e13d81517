import { describe, expect, it } from '@jest/globals';
import { Redactor } from './redactor.js';

describe('Redactor', () => {
  it('replaces every secret value and its base64 form with a named marker', () => {
    const r = new Redactor();
    r.add('admin_password', 'hunter2hunter2');
    const b64 = Buffer.from('hunter2hunter2').toString('base64');
    expect(r.redact(`pw=hunter2hunter2 again hunter2hunter2 b64=${b64}`)).toBe(
      'pw=[REDACTED:admin_password] again [REDACTED:admin_password] b64=[REDACTED:admin_password]',
    );
  });
  it('finds leaks in raw text and none after redaction', () => {
    const r = new Redactor();
    r.add('api_key', 'k3y-abcdefgh');
    expect(r.findLeaks('log: k3y-abcdefgh')).toEqual(['api_key']);
    expect(r.findLeaks(r.redact('log: k3y-abcdefgh'))).toEqual([]);
  });
  it('refuses values too short to redact safely', () => {
    expect(() => new Redactor().add('x', 'abc')).toThrow(/shorter than 6/);
  });
});
