import { describe, expect, it } from '@jest/globals';
import { RunTokens, runTokenTriggerId, type RunTokenSubject } from './run-token.js';

const tokens = new RunTokens('results-token-0123456789');
const t: RunTokenSubject = {
  id: 12,
  idempotency_key: 'gitea-comment:900',
  head_sha: 'a'.repeat(40),
};
const own = tokens.forTrigger(t);

describe('RunTokens', () => {
  it('derives a token of the documented shape that names its trigger', () => {
    expect(own).toMatch(/^ccci-run\.12\.[A-Za-z0-9_-]{43}$/);
    expect(runTokenTriggerId(own)).toBe(12);
    expect(tokens.forTrigger(t)).toBe(own); // deterministic: a restart derives the same token
    expect(own).not.toContain('results-token');
  });

  it('verifies the trigger’s own token', () => {
    expect(tokens.verify(own, t)).toBe(true);
  });

  it.each<[string, string, RunTokenSubject]>([
    ['another trigger id', own, { ...t, id: 13 }],
    ['another idempotency key', own, { ...t, idempotency_key: 'gitea-comment:901' }],
    ['another head sha', own, { ...t, head_sha: 'b'.repeat(40) }],
    ['a changed MAC', `${own.slice(0, -1)}${own.endsWith('A') ? 'B' : 'A'}`, t],
    ['the trigger id swapped in the token', own.replace('ccci-run.12.', 'ccci-run.13.'), t],
    ['another secret', new RunTokens('another-secret-0123456789').forTrigger(t), t],
    ['the shared token', 'results-token-0123456789', t],
    ['a truncated token', own.slice(0, -2), t],
    ['a token with a trailing newline', `${own}\n`, t],
  ])('refuses %s', (_what, token, subject) => {
    expect(tokens.verify(token, subject)).toBe(false);
  });

  it('refuses a secret shorter than 16 characters', () => {
    expect(() => new RunTokens('short')).toThrow(/16 characters/);
  });
});
