import { describe, expect, it } from '@jest/globals';
import { Redactor, displayUrl, urlCredentials } from './redactor.js';

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

describe('urlCredentials and displayUrl', () => {
  it.each([
    [
      'https://bot:s3cr%40t-token@git.example.org/r/notes.git',
      ['bot:s3cr%40t-token', 'bot', 's3cr@t-token'],
      'https://***@git.example.org/r/notes.git',
    ],
    [
      'https://ghp_abcdef123456@git.example.org/r/notes.git',
      ['ghp_abcdef123456'],
      'https://***@git.example.org/r/notes.git',
    ],
    ['https://git.example.org/r/notes.git', [], 'https://git.example.org/r/notes.git'],
    ['/home/me/notes', [], '/home/me/notes'],
  ])('finds the credentials of %s and prints it without them', (src, creds, shown) => {
    expect(urlCredentials(src).sort()).toEqual([...creds].sort());
    expect(displayUrl(src)).toBe(shown);
  });
});
