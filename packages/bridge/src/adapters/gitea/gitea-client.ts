/**
 * The Gitea adapter: the few REST calls the bridge needs (docs/platform-facts.md §1),
 * in our own types. Every request is checked against the Gitea 1.22 OpenAPI document by the
 * contract test (test/contract/gitea-contract.test.ts).
 */
import type { Permission } from '../../domain/trust.js';
import { isRepoFullName } from '../../domain/gitea-names.js';
import {
  DEFAULT_RETRY,
  HttpClient,
  UpstreamError,
  type HttpClientOptions,
} from '../http/http-client.js';

export interface GiteaUserRef {
  readonly login: string;
}

export interface GiteaComment {
  readonly id: number;
  readonly body: string;
  readonly user: GiteaUserRef;
  readonly created_at: string;
  readonly updated_at: string;
  /** The PR's HTML URL when the comment is on a PR, else "". */
  readonly pull_request_url: string;
  readonly html_url: string;
}

export interface GiteaRepoRef {
  readonly full_name: string;
  readonly clone_url: string;
  readonly fork: boolean;
}

export interface GiteaPull {
  readonly number: number;
  readonly state: 'open' | 'closed';
  readonly merged: boolean;
  readonly html_url: string;
  readonly user: GiteaUserRef;
  readonly head: { readonly sha: string; readonly ref: string; readonly repo: GiteaRepoRef | null };
  readonly base: { readonly ref: string; readonly repo: GiteaRepoRef };
}

export type CommitState = 'pending' | 'success' | 'failure' | 'error' | 'warning';

export interface StatusInput {
  readonly state: CommitState;
  readonly target_url: string;
  readonly description: string;
  readonly context: string;
}

/** Largest page Gitea serves (MAX_RESPONSE_ITEMS). */
export const GITEA_MAX_PAGE = 50;

/** A request that is never sent: no status, and trying again cannot help. */
const refused = (message: string) => new UpstreamError('gitea', message, null, false);

/**
 * One URL path segment, encoded. `.` and `..` (also as `%2E`) would be resolved as path steps by
 * the URL parser, so they are refused rather than sent (issue 18).
 */
const seg = (s: string | number) => {
  const v = String(s);
  if (v === '' || v === '.' || v === '..')
    throw refused(`refusing ${JSON.stringify(v)} as a Gitea API path segment`);
  return encodeURIComponent(v);
};
const repoPath = (repo: string) => {
  if (!isRepoFullName(repo))
    throw refused(
      `refusing repository ${JSON.stringify(String(repo).slice(0, 200))}: not owner/name in Gitea's name charset [A-Za-z0-9_.-]`,
    );
  const [owner, name] = repo.split('/');
  return `/repos/${seg(owner!)}/${seg(name!)}`;
};

/** Gitea time format for `since`: RFC 3339 in UTC with a `Z` (a raw `+01:00` gives 422). */
export function giteaTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The PR number of a comment, from its pull_request_url; null for an issue comment. */
export function prNumberOf(c: Pick<GiteaComment, 'pull_request_url'>): number | null {
  if (!c.pull_request_url) return null;
  const m = /\/pulls\/(\d+)$/.exec(c.pull_request_url);
  return m ? Number(m[1]) : null;
}

export class GiteaClient {
  private readonly http: HttpClient;
  constructor(
    opts: { url: string; token: string; timeoutMs?: number } & Pick<
      HttpClientOptions,
      'onError' | 'onOk'
    >,
  ) {
    this.http = new HttpClient({
      upstream: 'gitea',
      baseUrl: `${opts.url.replace(/\/+$/, '')}/api/v1`,
      headers: { authorization: `token ${opts.token}` },
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.onError ? { onError: opts.onError } : {}),
      ...(opts.onOk ? { onOk: opts.onOk } : {}),
    });
  }

  async currentUser(): Promise<string> {
    const res = await this.http.request<{ login: string }>({ method: 'GET', path: '/user' });
    return res.data.login;
  }

  /** One page of a repository's PR/issue comments updated at or after `since`, oldest first. */
  async listRepoComments(
    repo: string,
    since: Date,
    page: number,
    limit = GITEA_MAX_PAGE,
  ): Promise<{ comments: GiteaComment[]; total: number | null }> {
    const res = await this.http.request<GiteaComment[]>({
      method: 'GET',
      path: `${repoPath(repo)}/issues/comments`,
      query: { since: giteaTime(since), page, limit },
    });
    const total = res.headers.get('x-total-count');
    return { comments: res.data ?? [], total: total === null ? null : Number(total) };
  }

  /** Every comment of one PR (Gitea 1.22 does not page this list). */
  async listPullComments(repo: string, pr: number): Promise<GiteaComment[]> {
    const res = await this.http.request<GiteaComment[]>({
      method: 'GET',
      path: `${repoPath(repo)}/issues/${seg(pr)}/comments`,
    });
    return res.data ?? [];
  }

  async getPull(repo: string, pr: number): Promise<GiteaPull | null> {
    const res = await this.http.request<GiteaPull | null>({
      method: 'GET',
      path: `${repoPath(repo)}/pulls/${seg(pr)}`,
      accept: [404],
    });
    return res.status === 404 ? null : res.data;
  }

  /** Not retried here: a lost answer could mean the comment exists (callers look for it first). */
  async createComment(repo: string, pr: number, body: string): Promise<GiteaComment> {
    const res = await this.http.request<GiteaComment>({
      method: 'POST',
      path: `${repoPath(repo)}/issues/${seg(pr)}/comments`,
      body: { body },
    });
    return res.data;
  }

  /** Edit in place; null when the comment no longer exists (deleted by someone). */
  async editComment(repo: string, id: number, body: string): Promise<GiteaComment | null> {
    const res = await this.http.request<GiteaComment | null>({
      method: 'PATCH',
      path: `${repoPath(repo)}/issues/comments/${seg(id)}`,
      body: { body },
      accept: [404],
    });
    return res.status === 404 ? null : res.data;
  }

  /** Setting a status twice is harmless (the newest per context wins), so this one is retried. */
  async createStatus(repo: string, sha: string, status: StatusInput): Promise<void> {
    await this.http.request({
      method: 'POST',
      path: `${repoPath(repo)}/statuses/${seg(sha)}`,
      body: status,
      retry: DEFAULT_RETRY,
    });
  }

  /**
   * The user's permission on the repository. null when Gitea refuses to say (403: the bot needs
   * admin rights on the repository to ask about other users) or the user is unknown (404).
   */
  async permission(repo: string, user: string): Promise<Permission | null> {
    const res = await this.http.request<{ permission: Permission }>({
      method: 'GET',
      path: `${repoPath(repo)}/collaborators/${seg(user)}/permission`,
      accept: [403, 404],
    });
    return res.status === 200 ? res.data.permission : null;
  }

  /**
   * Org membership. 204 = member, 404 = not. When the bot is not a member itself Gitea answers
   * 303 to the public-members check, which fetch follows (public membership only).
   */
  async isOrgMember(org: string, user: string): Promise<boolean> {
    const res = await this.http.request({
      method: 'GET',
      path: `/orgs/${seg(org)}/members/${seg(user)}`,
      accept: [404],
    });
    return res.status === 204;
  }
}
