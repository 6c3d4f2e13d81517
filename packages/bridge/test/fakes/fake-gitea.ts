/**
 * A fake Gitea 1.22 for tests: a real HTTP server on loopback with users, organisations,
 * repositories, pull requests, comments, commit statuses and webhooks, behaving as
 * docs/platform-facts.md (§1, §2) describes (comment lists filtered on *updated* time with
 * inclusive whole seconds, 422 on unparseable times, X-Total-Count without Link on comment lists,
 * the permission endpoint's 403 rule, the org-membership 303, `status` in status responses,
 * MarshalIndent webhook bodies signed with lowercase hex HMAC-SHA256). Responses are checked
 * against the OpenAPI document by test/contract/gitea-contract.test.ts.
 */
import { createHmac, createHash, randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { FakeHttpServer, type Exchange, type Reply } from './fake-http.js';

type Perm = 'read' | 'write' | 'admin';

interface User {
  id: number;
  login: string;
  admin: boolean;
  token: string;
}
interface Org {
  members: Set<string>;
  publicMembers: Set<string>;
}
interface Repo {
  id: number;
  owner: string;
  name: string;
  fork: boolean;
  collaborators: Map<string, Perm>;
  hooks: Array<{ url: string; secret: string }>;
  nextIndex: number;
}
interface Pull {
  number: number;
  title: string;
  author: string;
  state: 'open' | 'closed';
  merged: boolean;
  locked: boolean;
  headSha: string;
  headRef: string;
  /** the branch it would merge into */
  baseRef: string;
  /** full name of the head repository (the fork), or null when the fork was deleted */
  headRepo: string | null;
  created: number;
  updated: number;
}
export interface FakeComment {
  id: number;
  repo: string;
  issue: number;
  login: string;
  body: string;
  created: number;
  updated: number;
}
export interface FakeStatus {
  id: number;
  state: string;
  target_url: string;
  description: string;
  context: string;
  creator: string;
  created: number;
}
export interface WebhookDelivery {
  readonly id: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  status: number | null;
  error: string | null;
}

const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
const notFound: Reply = { status: 404 };

export class FakeGitea {
  readonly http = new FakeHttpServer('/api/v1', (_s, message) => ({
    message,
    url: 'https://gitea.example/api/swagger',
  }));
  private readonly users = new Map<string, User>();
  private readonly orgs = new Map<string, Org>();
  private readonly repos = new Map<string, Repo>();
  private readonly pulls = new Map<string, Map<number, Pull>>();
  readonly comments = new Map<number, FakeComment>();
  private readonly statuses = new Map<string, FakeStatus[]>();
  readonly deliveries: WebhookDelivery[] = [];
  private nextId = 100;
  private nextCommentId = 1000;
  /** Seconds added to the wall clock (tests move time forward). */
  clockOffsetS = 0;

  get url(): string {
    return this.http.url;
  }
  get exchanges(): Exchange[] {
    return this.http.exchanges;
  }
  now(): number {
    return Math.floor(Date.now() / 1000) + this.clockOffsetS;
  }

  static async start(host?: string): Promise<FakeGitea> {
    const g = new FakeGitea();
    g.routes();
    await g.http.start(host);
    return g;
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  // ---- state (the test's side) ------------------------------------------------------------

  addUser(login: string, opts: { admin?: boolean } = {}): { login: string; token: string } {
    const token = createHash('sha1').update(`token:${login}`).digest('hex');
    this.users.set(login.toLowerCase(), {
      id: this.nextId++,
      login,
      admin: opts.admin ?? false,
      token,
    });
    return { login, token };
  }

  addOrg(name: string, members: string[] = [], publicMembers: string[] = []): void {
    this.orgs.set(name.toLowerCase(), {
      members: new Set(members.map((m) => m.toLowerCase())),
      publicMembers: new Set(publicMembers.map((m) => m.toLowerCase())),
    });
  }

  addRepo(full: string, opts: { collaborators?: Record<string, Perm>; fork?: boolean } = {}): void {
    const [owner, name] = full.split('/') as [string, string];
    if (!this.users.has(owner.toLowerCase()) && !this.orgs.has(owner.toLowerCase()))
      this.addUser(owner);
    this.repos.set(full.toLowerCase(), {
      id: this.nextId++,
      owner,
      name,
      fork: opts.fork ?? false,
      collaborators: new Map(
        Object.entries(opts.collaborators ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
      ),
      hooks: [],
      nextIndex: 1,
    });
    this.pulls.set(full.toLowerCase(), new Map());
  }

  /**
   * Serve a bare repository at the repository's clone URL over git's "dumb" HTTP protocol (static
   * files; run `git update-server-info` in it first), as Gitea serves clones.
   */
  serveGit(repo: string, bareDir: string): void {
    const r = this.repo(repo)!;
    const prefix = `/${r.owner}/${r.name}.git/`;
    const previous = this.http.fallback;
    this.http.fallback = (ex) => {
      if (ex.method !== 'GET' || !ex.path.startsWith(prefix)) return previous?.(ex) ?? null;
      const rel = normalize(decodeURIComponent(ex.path.slice(prefix.length)));
      if (rel.startsWith('..') || rel.startsWith('/')) return { status: 404 };
      const file = join(bareDir, rel);
      try {
        if (!statSync(file).isFile()) return { status: 404 };
        return { status: 200, bytes: readFileSync(file) };
      } catch {
        return { status: 404 };
      }
    };
  }

  addHook(repo: string, url: string, secret: string): void {
    this.repo(repo)!.hooks.push({ url, secret });
  }

  openPull(
    repo: string,
    opts: { author: string; headSha?: string; headRef?: string; fork?: string; baseRef?: string },
  ): number {
    const r = this.repo(repo)!;
    const n = r.nextIndex++;
    const t = this.now();
    this.pulls.get(repo.toLowerCase())!.set(n, {
      number: n,
      title: `PR ${n}`,
      author: opts.author,
      state: 'open',
      merged: false,
      locked: false,
      headSha: opts.headSha ?? createHash('sha1').update(`${repo}#${n}`).digest('hex'),
      headRef: opts.headRef ?? `pr-${n}`,
      baseRef: opts.baseRef ?? 'main',
      headRepo: opts.fork ?? `${r.owner}/${r.name}`,
      created: t,
      updated: t,
    });
    return n;
  }

  pull(repo: string, n: number): Pull | undefined {
    return this.pulls.get(repo.toLowerCase())?.get(n);
  }

  closePull(repo: string, n: number, merged = false): void {
    const p = this.pull(repo, n)!;
    p.state = 'closed';
    p.merged = merged;
  }

  pushToPull(repo: string, n: number, sha: string): void {
    this.pull(repo, n)!.headSha = sha;
  }

  /** A user comments on a PR (fires webhooks like Gitea does). */
  comment(repo: string, pr: number, login: string, body: string): FakeComment {
    const t = this.now();
    const c: FakeComment = {
      id: this.nextCommentId++,
      repo: this.repo(repo)!.owner + '/' + this.repo(repo)!.name,
      issue: pr,
      login,
      body,
      created: t,
      updated: t,
    };
    this.comments.set(c.id, c);
    void this.fire(c, 'created');
    return c;
  }

  editComment(id: number, body: string): void {
    const c = this.comments.get(id)!;
    const from = c.body;
    c.body = body;
    c.updated = this.now();
    void this.fire(c, 'edited', from);
  }

  commentsOn(repo: string, pr: number): FakeComment[] {
    return [...this.comments.values()]
      .filter((c) => c.repo.toLowerCase() === repo.toLowerCase() && c.issue === pr)
      .sort((a, b) => a.id - b.id);
  }

  statusesFor(repo: string, sha: string): FakeStatus[] {
    return this.statuses.get(`${repo.toLowerCase()}@${sha}`) ?? [];
  }

  /** The newest status of a context (what Gitea shows). */
  latestStatus(repo: string, sha: string, context: string): FakeStatus | undefined {
    return this.statusesFor(repo, sha)
      .filter((s) => s.context === context)
      .at(-1);
  }

  /** Send a delivery again with the same id (what "Redeliver" in Gitea's UI does). */
  async redeliver(d: WebhookDelivery): Promise<number | null> {
    return this.post(d);
  }

  async settled(): Promise<void> {
    await Promise.all(this.pending);
  }

  // ---- JSON shapes -----------------------------------------------------------------------------

  private repo(full: string): Repo | undefined {
    return this.repos.get(full.toLowerCase());
  }

  private userJson(login: string): Record<string, unknown> {
    const u = this.users.get(login.toLowerCase());
    return {
      id: u?.id ?? 0,
      login: u?.login ?? login,
      login_name: '',
      full_name: '',
      email: `${login.toLowerCase()}@noreply.gitea.example`,
      avatar_url: `${this.url}/avatars/${login.toLowerCase()}`,
      html_url: `${this.url}/${login}`,
      language: '',
      is_admin: u?.admin ?? false,
      last_login: iso(0),
      created: iso(0),
      restricted: false,
      active: true,
      prohibit_login: false,
      location: '',
      website: '',
      description: '',
      visibility: 'public',
      followers_count: 0,
      following_count: 0,
      starred_repos_count: 0,
      username: u?.login ?? login,
    };
  }

  private repoJson(r: Repo): Record<string, unknown> {
    const full = `${r.owner}/${r.name}`;
    return {
      id: r.id,
      owner: this.userJson(r.owner),
      name: r.name,
      full_name: full,
      description: '',
      empty: false,
      private: false,
      fork: r.fork,
      template: false,
      mirror: false,
      size: 1,
      language: '',
      languages_url: `${this.url}/api/v1/repos/${full}/languages`,
      html_url: `${this.url}/${full}`,
      url: `${this.url}/api/v1/repos/${full}`,
      link: '',
      ssh_url: `git@gitea.example:${full}.git`,
      clone_url: `${this.url}/${full}.git`,
      original_url: '',
      website: '',
      stars_count: 0,
      forks_count: 0,
      watchers_count: 0,
      open_issues_count: 0,
      open_pr_counter: 0,
      release_counter: 0,
      default_branch: 'main',
      archived: false,
      created_at: iso(0),
      updated_at: iso(0),
      has_issues: true,
      has_wiki: false,
      has_pull_requests: true,
      has_projects: false,
      has_releases: true,
      has_packages: false,
      has_actions: false,
      ignore_whitespace_conflicts: false,
      allow_merge_commits: true,
      allow_rebase: true,
      allow_rebase_explicit: true,
      allow_squash_merge: true,
      default_merge_style: 'merge',
      avatar_url: '',
      internal: false,
      mirror_interval: '',
    };
  }

  private commentJson(c: FakeComment): Record<string, unknown> {
    const isPull = this.pull(c.repo, c.issue) !== undefined;
    const htmlBase = `${this.url}/${c.repo}/${isPull ? 'pulls' : 'issues'}/${c.issue}`;
    return {
      id: c.id,
      html_url: `${htmlBase}#issuecomment-${c.id}`,
      pull_request_url: isPull ? htmlBase : '',
      issue_url: isPull ? '' : htmlBase,
      user: this.userJson(c.login),
      original_author: '',
      original_author_id: 0,
      body: c.body,
      assets: [],
      created_at: iso(c.created),
      updated_at: iso(c.updated),
    };
  }

  private branchJson(repoFull: string | null, ref: string, sha: string): Record<string, unknown> {
    const r = repoFull ? this.repo(repoFull) : undefined;
    return { label: ref, ref, sha, repo_id: r?.id ?? 0, ...(r ? { repo: this.repoJson(r) } : {}) };
  }

  private pullJson(repo: Repo, p: Pull): Record<string, unknown> {
    const full = `${repo.owner}/${repo.name}`;
    return {
      id: repo.id * 1000 + p.number,
      url: `${this.url}/${full}/pulls/${p.number}`,
      number: p.number,
      user: this.userJson(p.author),
      title: p.title,
      body: '',
      labels: [],
      assignees: [],
      state: p.state,
      is_locked: p.locked,
      comments: this.commentsOn(full, p.number).length,
      html_url: `${this.url}/${full}/pulls/${p.number}`,
      diff_url: `${this.url}/${full}/pulls/${p.number}.diff`,
      patch_url: `${this.url}/${full}/pulls/${p.number}.patch`,
      mergeable: p.state === 'open',
      merged: p.merged,
      allow_maintainer_edit: false,
      head: this.branchJson(p.headRepo, p.headRef, p.headSha),
      base: this.branchJson(
        full,
        p.baseRef,
        createHash('sha1').update(`${full}:${p.baseRef}`).digest('hex'),
      ),
      merge_base: createHash('sha1').update(`${full}:main`).digest('hex'),
      created_at: iso(p.created),
      updated_at: iso(p.updated),
    };
  }

  // ---- webhooks ------------------------------------------------------------------------------

  private readonly pending: Promise<unknown>[] = [];

  private fire(c: FakeComment, action: 'created' | 'edited', from?: string): Promise<void> {
    const r = this.repo(c.repo)!;
    const p = this.pull(c.repo, c.issue);
    if (!r.hooks.length) return Promise.resolve();
    const full = `${r.owner}/${r.name}`;
    const payload = {
      action,
      issue: {
        id: r.id * 1000 + c.issue,
        url: `${this.url}/api/v1/repos/${full}/issues/${c.issue}`,
        html_url: `${this.url}/${full}/${p ? 'pulls' : 'issues'}/${c.issue}`,
        number: c.issue,
        user: this.userJson(p?.author ?? c.login),
        original_author: '',
        original_author_id: 0,
        title: p?.title ?? `issue ${c.issue}`,
        body: '',
        ref: '',
        assets: [],
        labels: [],
        milestone: null,
        assignee: null,
        assignees: null,
        state: p?.state ?? 'open',
        is_locked: false,
        comments: 0,
        created_at: iso(p?.created ?? c.created),
        updated_at: iso(c.updated),
        closed_at: null,
        due_date: null,
        pull_request: p
          ? {
              merged: p.merged,
              merged_at: null,
              draft: false,
              html_url: `${this.url}/${full}/pulls/${c.issue}`,
            }
          : null,
        repository: { id: r.id, name: r.name, owner: r.owner, full_name: full },
        pin_order: 0,
      },
      comment: this.commentJson(c),
      ...(action === 'edited' ? { changes: { body: { from } } } : {}),
      repository: this.repoJson(r),
      sender: this.userJson(c.login),
      is_pull: Boolean(p),
    };
    const body = JSON.stringify(payload, null, 2);
    const event = 'issue_comment';
    const eventType = p ? 'pull_request_comment' : 'issue_comment';
    const work = Promise.all(
      r.hooks.map((h) => {
        const id = randomUUID();
        const sig = createHmac('sha256', h.secret).update(body).digest('hex');
        const sig1 = createHmac('sha1', h.secret).update(body).digest('hex');
        const d: WebhookDelivery = {
          id,
          url: h.url,
          body,
          headers: {
            'content-type': 'application/json',
            'x-gitea-delivery': id,
            'x-gitea-event': event,
            'x-gitea-event-type': eventType,
            'x-gitea-signature': sig,
            'x-gogs-delivery': id,
            'x-gogs-event': event,
            'x-gogs-event-type': eventType,
            'x-gogs-signature': sig,
            'x-hub-signature': `sha1=${sig1}`,
            'x-hub-signature-256': `sha256=${sig}`,
            'x-github-delivery': id,
            'x-github-event': event,
            'x-github-event-type': eventType,
          },
          status: null,
          error: null,
        };
        this.deliveries.push(d);
        return this.post(d);
      }),
    ).then(() => undefined);
    this.pending.push(work);
    return work;
  }

  private async post(d: WebhookDelivery): Promise<number | null> {
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: d.headers,
        body: d.body,
        signal: AbortSignal.timeout(5_000),
      });
      await res.text();
      d.status = res.status;
      return res.status;
    } catch (err) {
      d.error = (err as Error).message;
      return null;
    }
  }

  // ---- the API ---------------------------------------------------------------------------------

  private caller(ex: Exchange): User | null {
    const auth = String(ex.headers.authorization ?? '');
    const m = /^(token|bearer) (\S+)$/i.exec(auth);
    if (!m) return null;
    return [...this.users.values()].find((u) => u.token === m[2]) ?? null;
  }

  private perm(r: Repo, login: string): Perm | 'owner' | 'none' {
    const u = this.users.get(login.toLowerCase());
    if (u?.admin) return 'admin';
    if (r.owner.toLowerCase() === login.toLowerCase()) return 'owner';
    return r.collaborators.get(login.toLowerCase()) ?? 'none';
  }

  private timeParam(ex: Exchange, name: string): number | null | 'bad' {
    const raw = ex.query.get(name); // URLSearchParams turns a raw '+' into a space, as Gitea's form parsing does
    if (raw === null || raw === '') return null;
    if (!TIME_RE.test(raw)) return 'bad';
    const t = Date.parse(raw);
    return Number.isNaN(t) ? 'bad' : Math.floor(t / 1000);
  }

  private routes(): void {
    const h = this.http;
    const authed =
      (fn: (ex: Exchange, p: Record<string, string>, me: User) => Reply | Promise<Reply>) =>
      (ex: Exchange, p: Record<string, string>): Reply | Promise<Reply> => {
        const me = this.caller(ex);
        if (!me) return { status: 401, body: { message: 'token is required', url: '' } };
        return fn(ex, p, me);
      };
    const repoOf = (p: Record<string, string>) => this.repo(`${p.owner}/${p.repo}`);

    h.route('GET', '/version', () => ({ status: 200, body: { version: '1.22.0' } }));
    h.route(
      'GET',
      '/user',
      authed((_ex, _p, me) => ({ status: 200, body: this.userJson(me.login) })),
    );

    const listComments = (
      ex: Exchange,
      filter: (c: FakeComment) => boolean,
      paged: boolean,
    ): Reply => {
      const since = this.timeParam(ex, 'since');
      const before = this.timeParam(ex, 'before');
      if (since === 'bad' || before === 'bad')
        return { status: 422, body: { message: 'parsing time: cannot parse as RFC3339', url: '' } };
      const all = [...this.comments.values()]
        .filter(filter)
        .filter(
          (c) => (since === null || c.updated >= since) && (before === null || c.updated <= before),
        )
        .sort((a, b) => a.created - b.created || a.id - b.id);
      let page = all;
      if (paged) {
        const limit = Math.min(50, Math.max(1, Number(ex.query.get('limit') ?? 30) || 30));
        const n = Math.max(1, Number(ex.query.get('page') ?? 1) || 1);
        page = all.slice((n - 1) * limit, n * limit);
      }
      return {
        status: 200,
        body: page.map((c) => this.commentJson(c)),
        headers: {
          'x-total-count': String(all.length),
          'access-control-expose-headers': 'X-Total-Count',
        },
      };
    };

    h.route(
      'GET',
      '/repos/{owner}/{repo}/issues/comments',
      authed((ex, p) => {
        const r = repoOf(p);
        if (!r) return notFound;
        const full = `${r.owner}/${r.name}`.toLowerCase();
        return listComments(ex, (c) => c.repo.toLowerCase() === full, true);
      }),
    );

    h.route(
      'GET',
      '/repos/{owner}/{repo}/issues/{index}/comments',
      authed((ex, p) => {
        const r = repoOf(p);
        if (!r) return notFound;
        const full = `${r.owner}/${r.name}`.toLowerCase();
        const n = Number(p.index);
        return listComments(ex, (c) => c.repo.toLowerCase() === full && c.issue === n, false);
      }),
    );

    h.route(
      'POST',
      '/repos/{owner}/{repo}/issues/{index}/comments',
      authed((ex, p, me) => {
        const r = repoOf(p);
        const pull = r ? this.pull(`${r.owner}/${r.name}`, Number(p.index)) : undefined;
        if (!r || !pull) return notFound;
        const body = (ex.body as { body?: unknown } | undefined)?.body;
        if (typeof body !== 'string' || body === '')
          return { status: 422, body: { message: '[Body]: Required', url: '' } };
        if (pull.locked && this.perm(r, me.login) === 'none')
          return { status: 403, body: { message: 'locked', url: '' } };
        const c = this.comment(`${r.owner}/${r.name}`, pull.number, me.login, body);
        return { status: 201, body: this.commentJson(c) };
      }),
    );

    h.route(
      'GET',
      '/repos/{owner}/{repo}/issues/comments/{id}',
      authed((_ex, p) => {
        const c = this.comments.get(Number(p.id));
        if (!c || !repoOf(p)) return notFound;
        return { status: 200, body: this.commentJson(c) };
      }),
    );

    h.route(
      'PATCH',
      '/repos/{owner}/{repo}/issues/comments/{id}',
      authed((ex, p, me) => {
        const r = repoOf(p);
        const c = this.comments.get(Number(p.id));
        if (!r || !c || c.repo.toLowerCase() !== `${r.owner}/${r.name}`.toLowerCase())
          return notFound;
        const body = (ex.body as { body?: unknown } | undefined)?.body;
        if (typeof body !== 'string')
          return { status: 422, body: { message: '[Body]: Required', url: '' } };
        if (
          c.login.toLowerCase() !== me.login.toLowerCase() &&
          !['write', 'admin', 'owner'].includes(this.perm(r, me.login))
        )
          return { status: 403, body: { message: 'user cannot edit this comment', url: '' } };
        if (body !== c.body) this.editComment(c.id, body);
        return { status: 200, body: this.commentJson(c) };
      }),
    );

    h.route(
      'GET',
      '/repos/{owner}/{repo}/pulls/{index}',
      authed((_ex, p) => {
        const r = repoOf(p);
        const pull = r ? this.pull(`${r.owner}/${r.name}`, Number(p.index)) : undefined;
        if (!r || !pull) return notFound;
        return { status: 200, body: this.pullJson(r, pull) };
      }),
    );

    // GET /repos/{o}/{r}/pulls: `state` open (default) | closed | all; paged like every Gitea
    // list (limit capped at 50), with X-Total-Count and a Link header [G routers/api/v1/repo/pull.go].
    h.route(
      'GET',
      '/repos/{owner}/{repo}/pulls',
      authed((ex, p) => {
        const r = repoOf(p);
        if (!r) return notFound;
        const state = ex.query.get('state') ?? 'open';
        const all = [...this.pulls.get(`${r.owner}/${r.name}`.toLowerCase())!.values()]
          .filter((pr) => state === 'all' || pr.state === state)
          .sort((a, b) => b.number - a.number);
        const limit = Math.min(50, Math.max(1, Number(ex.query.get('limit') ?? 30) || 30));
        const n = Math.max(1, Number(ex.query.get('page') ?? 1) || 1);
        const last = Math.max(1, Math.ceil(all.length / limit));
        const link = (page: number, rel: string) =>
          `<${this.url}/api/v1/repos/${r.owner}/${r.name}/pulls?limit=${limit}&page=${page}&state=${state}>; rel="${rel}"`;
        const links = [
          ...(n < last ? [link(n + 1, 'next'), link(last, 'last')] : []),
          ...(n > 1 ? [link(1, 'first'), link(n - 1, 'prev')] : []),
        ];
        return {
          status: 200,
          body: all.slice((n - 1) * limit, n * limit).map((pr) => this.pullJson(r, pr)),
          headers: {
            'x-total-count': String(all.length),
            ...(links.length ? { link: links.join(',') } : {}),
            'access-control-expose-headers': 'X-Total-Count, Link',
          },
        };
      }),
    );

    // PATCH /repos/{o}/{r}/pulls/{n} `{state}`: the poster or a writer may close or reopen; a merged
    // PR's state cannot change (412); the edited PR comes back with 201 [G routers/api/v1/repo/pull.go].
    h.route(
      'PATCH',
      '/repos/{owner}/{repo}/pulls/{index}',
      authed((ex, p, me) => {
        const r = repoOf(p);
        const pull = r ? this.pull(`${r.owner}/${r.name}`, Number(p.index)) : undefined;
        if (!r || !pull) return notFound;
        if (
          pull.author.toLowerCase() !== me.login.toLowerCase() &&
          !['write', 'admin', 'owner'].includes(this.perm(r, me.login))
        )
          return { status: 403 }; // Gitea answers ctx.Status(403): no body
        const state = (ex.body as { state?: unknown } | undefined)?.state;
        if (state === 'open' || state === 'closed') {
          if (pull.merged && state !== pull.state)
            return {
              status: 412,
              body: {
                message: 'cannot change state of this pull request, it was already merged',
                url: '',
              },
            };
          if (state !== pull.state) {
            pull.state = state;
            pull.updated = this.now();
          }
        }
        return { status: 201, body: this.pullJson(r, pull) };
      }),
    );

    h.route(
      'POST',
      '/repos/{owner}/{repo}/statuses/{sha}',
      authed((ex, p, me) => {
        const r = repoOf(p);
        if (!r) return notFound;
        const b = (ex.body ?? {}) as Record<string, unknown>;
        if (!['pending', 'success', 'error', 'failure', 'warning'].includes(String(b.state)))
          return { status: 400, body: { message: `invalid state ${String(b.state)}`, url: '' } };
        const key = `${r.owner}/${r.name}@${p.sha}`.toLowerCase();
        const list = this.statuses.get(key) ?? [];
        const s: FakeStatus = {
          id: this.nextId++,
          state: String(b.state),
          target_url: String(b.target_url ?? ''),
          description: String(b.description ?? ''),
          context: String(b.context ?? 'default'),
          creator: me.login,
          created: this.now(),
        };
        list.push(s);
        this.statuses.set(key, list);
        return { status: 201, body: this.statusJson(r, p.sha!, s) };
      }),
    );

    h.route(
      'GET',
      '/repos/{owner}/{repo}/statuses/{sha}',
      authed((_ex, p) => {
        const r = repoOf(p);
        if (!r) return notFound;
        const list = [
          ...(this.statuses.get(`${r.owner}/${r.name}@${p.sha}`.toLowerCase()) ?? []),
        ].reverse();
        return {
          status: 200,
          body: list.map((s) => this.statusJson(r, p.sha!, s)),
          headers: { 'x-total-count': String(list.length) },
        };
      }),
    );

    h.route(
      'GET',
      '/repos/{owner}/{repo}/collaborators/{collaborator}/permission',
      authed((_ex, p, me) => {
        const r = repoOf(p);
        if (!r) return notFound;
        const mine = this.perm(r, me.login);
        const self = me.login.toLowerCase() === p.collaborator!.toLowerCase();
        if (!self && !me.admin && mine !== 'admin' && mine !== 'owner')
          return {
            status: 403,
            body: {
              message:
                'Only admins can query all permissions, repo admins can query all repo permissions, collaborators can query only their own',
              url: '',
            },
          };
        const target = this.users.get(p.collaborator!.toLowerCase());
        if (!target) return notFound;
        const perm = this.perm(r, target.login);
        // Gitea answers `read` for a user without explicit rights on a public repository.
        const permission = perm === 'none' ? 'read' : perm;
        return {
          status: 200,
          body: { permission, role_name: permission, user: this.userJson(target.login) },
        };
      }),
    );

    h.route(
      'GET',
      '/orgs/{org}/members/{username}',
      authed((_ex, p, me) => {
        const o = this.orgs.get(p.org!.toLowerCase());
        if (!o) return notFound;
        if (!me.admin && !o.members.has(me.login.toLowerCase()))
          return {
            status: 303,
            headers: { location: `${this.url}/api/v1/orgs/${p.org}/public_members/${p.username}` },
          };
        return o.members.has(p.username!.toLowerCase()) ? { status: 204 } : notFound;
      }),
    );

    h.route(
      'GET',
      '/orgs/{org}/public_members/{username}',
      authed((_ex, p) => {
        const o = this.orgs.get(p.org!.toLowerCase());
        if (!o) return notFound;
        return o.publicMembers.has(p.username!.toLowerCase()) ? { status: 204 } : notFound;
      }),
    );
  }

  private statusJson(r: Repo, sha: string, s: FakeStatus): Record<string, unknown> {
    return {
      id: s.id,
      status: s.state,
      target_url: s.target_url,
      description: s.description,
      url: `${this.url}/api/v1/repos/${r.owner}/${r.name}/statuses/${sha}`,
      context: s.context,
      creator: this.userJson(s.creator),
      created_at: iso(s.created),
      updated_at: iso(s.created),
    };
  }
}
