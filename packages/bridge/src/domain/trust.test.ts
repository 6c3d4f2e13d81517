import { describe, expect, it } from '@jest/globals';
import { decideTrust, type TrustFacts } from './trust.js';

const base: TrustFacts = {
  commenter: 'alice',
  trustedUsers: [],
  memberOf: [],
  permission: 'read',
  prState: 'open',
  prMerged: false,
};

describe('decideTrust', () => {
  it('trusts listed users (case-insensitively), org members and write-or-higher collaborators', () => {
    expect(decideTrust({ ...base, trustedUsers: ['Alice'] })).toMatchObject({
      ok: true,
      via: 'user',
    });
    expect(decideTrust({ ...base, memberOf: ['coop-cloud'] })).toMatchObject({
      ok: true,
      via: 'org',
    });
    for (const p of ['write', 'admin', 'owner'] as const)
      expect(decideTrust({ ...base, permission: p })).toMatchObject({
        ok: true,
        via: 'permission',
      });
  });

  it('refuses read-only, unknown permission and nobody', () => {
    for (const p of ['none', 'read', null] as const) {
      const d = decideTrust({ ...base, permission: p });
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.reason).toMatch(/alice is not a trusted user/);
    }
  });

  it('refuses closed and merged PRs even for trusted users', () => {
    expect(decideTrust({ ...base, trustedUsers: ['alice'], prState: 'closed' })).toEqual({
      ok: false,
      reason: 'the pull request is closed',
    });
    expect(
      decideTrust({ ...base, permission: 'admin', prState: 'closed', prMerged: true }),
    ).toEqual({ ok: false, reason: 'the pull request is merged' });
  });
});
