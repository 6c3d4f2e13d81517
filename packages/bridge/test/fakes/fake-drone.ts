/**
 * A fake Drone 2.x server for tests (docs/platform-facts.md §3): custom builds created
 * by POST with params as query keys (every key except access_token, commit and branch), `200 null`
 * when no pipeline matches, build lists newest first with per_page capped at 100, restarts whose
 * old params override new ones, cancel → killed. The test drives build states, or hands each new
 * build to a runner (the e2e test runs the real plugin through the local Drone runner).
 * Builds may start `blocked` (a pipeline that needs approval, `initialStatus`); a restart of a
 * blocked or declined build is refused with 400, as in Drone's retry.go.
 * Build JSON leaves out the `omitempty` fields (parent, error, title, cron, deploy_*, debug) when
 * they are zero, and a build's `link` is the commit's link in Gitea, as in core/build.go.
 */
import { FakeHttpServer, type Exchange, type Reply } from './fake-http.js';

export interface FakeBuild {
  id: number;
  repo_id: number;
  trigger: string;
  number: number;
  parent: number;
  status: string;
  error: string;
  event: string;
  action: string;
  link: string;
  timestamp: number;
  title: string;
  message: string;
  before: string;
  after: string;
  ref: string;
  source_repo: string;
  source: string;
  target: string;
  author_login: string;
  author_name: string;
  author_email: string;
  author_avatar: string;
  sender: string;
  params?: Record<string, string>;
  cron: string;
  deploy_to: string;
  deploy_id: number;
  debug: boolean;
  started: number;
  finished: number;
  created: number;
  updated: number;
  version: number;
}

/** Drone's build/stage status values (core/status.go). */
export const DRONE_STATUSES = [
  'skipped',
  'blocked',
  'declined',
  'waiting_on_dependencies',
  'pending',
  'running',
  'success',
  'failure',
  'killed',
  'error',
] as const;
export type FakeDroneStatus = (typeof DRONE_STATUSES)[number];
const FINISHED: ReadonlySet<string> = new Set([
  'success',
  'failure',
  'killed',
  'error',
  'skipped',
  'declined',
]);

/** Build fields that are `omitempty` in core/build.go: absent from the JSON when zero. */
const OMIT_EMPTY = ['parent', 'error', 'title', 'cron', 'deploy_to', 'deploy_id', 'debug'] as const;
function omitEmpty(b: FakeBuild): Record<string, unknown> {
  const out: Record<string, unknown> = { ...b };
  for (const k of OMIT_EMPTY) if (!out[k]) delete out[k];
  return out;
}

export class FakeDrone {
  readonly http = new FakeHttpServer('/api', (_s, message) => ({ message }));
  readonly builds: FakeBuild[] = [];
  /** false: no pipeline matches a custom build, so create answers `200 null`. */
  pipelineMatches = true;
  /** The status a new build starts in: `pending`, or `blocked` when the pipeline needs approval. */
  initialStatus: 'pending' | 'blocked' = 'pending';
  /** Called with each new build (created or restarted). */
  onBuild: ((b: FakeBuild) => void) | null = null;
  private nextNumber = 1;

  constructor(
    readonly token: string,
    readonly repo: string,
  ) {}

  get url(): string {
    return this.http.url;
  }
  get exchanges(): Exchange[] {
    return this.http.exchanges;
  }

  static async start(token: string, repo: string): Promise<FakeDrone> {
    const d = new FakeDrone(token, repo);
    d.routes();
    await d.http.start();
    return d;
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  setStatus(n: number, status: FakeDroneStatus): void {
    const b = this.build(n)!;
    const now = Math.floor(Date.now() / 1000);
    b.status = status;
    b.updated = now;
    if (status === 'running' && !b.started) b.started = now;
    if (FINISHED.has(status)) b.finished = now;
  }

  build(n: number): FakeBuild | undefined {
    return this.builds.find((b) => b.number === n);
  }

  /** A build created outside the bridge (curl with RECIPE=…, the Drone UI). */
  createExternal(params: Record<string, string>): FakeBuild {
    return this.newBuild(params, 0, 'admin');
  }

  restart(n: number, extra: Record<string, string> = {}): FakeBuild {
    const old = this.build(n)!;
    return this.newBuild({ ...extra, ...(old.params ?? {}) }, n, 'admin');
  }

  private newBuild(params: Record<string, string>, parent: number, sender: string): FakeBuild {
    const now = Math.floor(Date.now() / 1000);
    const number = this.nextNumber++;
    const b: FakeBuild = {
      id: 5000 + number,
      repo_id: 1,
      trigger: sender,
      number,
      parent,
      status: this.initialStatus,
      error: '',
      event: 'custom',
      action: '',
      link: `https://git.example/${this.repo}/commit/${'c'.repeat(40)}`,
      timestamp: now,
      title: '',
      message: 'main',
      before: '0'.repeat(40),
      after: 'c'.repeat(40),
      ref: 'refs/heads/main',
      source_repo: '',
      source: 'main',
      target: 'main',
      author_login: sender,
      author_name: sender,
      author_email: `${sender}@example.org`,
      author_avatar: '',
      sender,
      ...(Object.keys(params).length ? { params } : {}),
      cron: '',
      deploy_to: '',
      deploy_id: 0,
      debug: false,
      started: 0,
      finished: 0,
      created: now,
      updated: now,
      version: 1,
    };
    this.builds.push(b);
    this.onBuild?.(b);
    return b;
  }

  private routes(): void {
    const h = this.http;
    const wire = (b: FakeBuild, stages?: unknown[]) => ({
      ...omitEmpty(b),
      ...(stages ? { stages } : {}),
    });
    const authed =
      (fn: (ex: Exchange, p: Record<string, string>) => Reply) =>
      (ex: Exchange, p: Record<string, string>): Reply => {
        const auth = String(ex.headers.authorization ?? '');
        const token = auth.startsWith('Bearer ') ? auth.slice(7) : ex.query.get('access_token');
        if (token !== this.token) return { status: 401, body: { message: 'Unauthorized' } };
        if (`${p.owner}/${p.name}` !== this.repo)
          return { status: 404, body: { message: 'Not Found' } };
        return fn(ex, p);
      };
    h.route(
      'POST',
      '/repos/{owner}/{name}/builds',
      authed((ex) => {
        if (!this.pipelineMatches) return { status: 200, raw: 'null' };
        const params: Record<string, string> = {};
        for (const [k, v] of ex.query)
          if (!['access_token', 'commit', 'branch'].includes(k) && !(k in params)) params[k] = v;
        return { status: 200, body: wire(this.newBuild(params, 0, 'ccci-bot')) };
      }),
    );
    h.route(
      'GET',
      '/repos/{owner}/{name}/builds',
      authed((ex) => {
        const perPage = Math.min(100, Math.max(1, Number(ex.query.get('per_page') ?? 25) || 25));
        const page = Math.max(1, Number(ex.query.get('page') ?? 1) || 1);
        const newest = [...this.builds].sort((a, b) => b.number - a.number);
        return {
          status: 200,
          body: newest.slice((page - 1) * perPage, page * perPage).map((b) => wire(b)),
        };
      }),
    );
    h.route(
      'GET',
      '/repos/{owner}/{name}/builds/{number}',
      authed((_ex, p) => {
        const b = this.build(Number(p.number));
        return b
          ? { status: 200, body: wire(b, []) }
          : { status: 404, body: { message: 'Not Found' } };
      }),
    );
    h.route(
      'DELETE',
      '/repos/{owner}/{name}/builds/{number}',
      authed((_ex, p) => {
        const b = this.build(Number(p.number));
        if (!b) return { status: 404, body: { message: 'Not Found' } };
        if (['pending', 'running'].includes(b.status)) this.setStatus(b.number, 'killed');
        return { status: 200, body: wire(b, []) };
      }),
    );
    h.route(
      'POST',
      '/repos/{owner}/{name}/builds/{number}',
      authed((ex, p) => {
        const old = this.build(Number(p.number));
        if (!old) return { status: 404, body: { message: 'Not Found' } };
        if (old.status === 'blocked' || old.status === 'declined')
          return { status: 400, body: { message: `cannot start a ${old.status} build` } };
        return {
          status: 200,
          body: wire(this.restart(Number(p.number), Object.fromEntries(ex.query))),
        };
      }),
    );
  }
}
