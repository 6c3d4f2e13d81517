/**
 * Who may start a run, and on what. Pure: the facts are gathered by the intake worker (Gitea
 * calls) and the decision is made here, so every rule is unit-tested without a server.
 *
 * Rules (docs/security.md):
 * - the PR must be open;
 * - the commenter must be in CCCI_TRUSTED_USERS, a member of a CCCI_TRUSTED_ORGS organisation, or
 *   have write (or higher) permission on the recipe repository;
 * - the run is pinned to the head sha seen when the trigger is accepted. For a PR from a fork whose
 *   author is not trusted, that pinning is the whole protection: new pushes are never built until
 *   a trusted user comments `!testme` again.
 */
export type Permission = 'none' | 'read' | 'write' | 'admin' | 'owner';

export interface TrustFacts {
  readonly commenter: string;
  readonly trustedUsers: readonly string[];
  /** Trusted orgs the commenter is a member of (only the ones checked). */
  readonly memberOf: readonly string[];
  /** The commenter's permission on the repository; null when it could not be determined. */
  readonly permission: Permission | null;
  readonly prState: 'open' | 'closed';
  readonly prMerged: boolean;
}

export type TrustDecision =
  | { readonly ok: true; readonly via: 'user' | 'org' | 'permission'; readonly detail: string }
  | { readonly ok: false; readonly reason: string };

const WRITE: ReadonlySet<Permission> = new Set(['write', 'admin', 'owner']);

export function sameLogin(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function decideTrust(f: TrustFacts): TrustDecision {
  if (f.prState !== 'open')
    return {
      ok: false,
      reason: f.prMerged ? 'the pull request is merged' : 'the pull request is closed',
    };
  if (f.trustedUsers.some((u) => sameLogin(u, f.commenter)))
    return { ok: true, via: 'user', detail: 'listed in CCCI_TRUSTED_USERS' };
  if (f.memberOf.length > 0) return { ok: true, via: 'org', detail: `member of ${f.memberOf[0]}` };
  if (f.permission && WRITE.has(f.permission))
    return { ok: true, via: 'permission', detail: `${f.permission} permission on the repository` };
  return {
    ok: false,
    reason: `${f.commenter} is not a trusted user, not a member of a trusted organisation and has no write permission on the repository`,
  };
}
