/**
 * Gitea's naming rules, checked before a name from a payload is used in a URL or stored
 * (issue 18: a repository named `../hello` made the bridge call `/api/v1/hello/…`).
 *
 * Gitea allows `[A-Za-z0-9_.-]` in user, organisation and repository names (models/user and
 * models/repo `IsUsableName`/`alphaDashDot`), at most 40 characters for users and 100 for
 * repositories, and never `.` or `..` (which a URL would resolve as path steps).
 */
const NAME = /^[A-Za-z0-9_.-]+$/;

/** Longest user or organisation name Gitea accepts. */
export const MAX_LOGIN_LENGTH = 40;
/** Longest repository name Gitea accepts. */
export const MAX_REPO_NAME_LENGTH = 100;

function usable(s: string, max: number): boolean {
  return s.length >= 1 && s.length <= max && NAME.test(s) && s !== '.' && s !== '..';
}

/** A user or organisation name that is safe as one URL path segment. */
export function isGiteaLogin(s: unknown): s is string {
  return typeof s === 'string' && usable(s, MAX_LOGIN_LENGTH);
}

/** `owner/name` with both parts valid Gitea names. */
export function isRepoFullName(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const parts = s.split('/');
  return (
    parts.length === 2 &&
    usable(parts[0]!, MAX_LOGIN_LENGTH) &&
    usable(parts[1]!, MAX_REPO_NAME_LENGTH)
  );
}
