/**
 * The Drone adapter (server 2.x, docs/platform-facts.md §3): create custom builds with
 * params as query keys, read builds. Only whitelisted params are ever sent (domain/drone-params.ts).
 */
import { DEFAULT_RETRY, HttpClient, type HttpClientOptions } from '../http/http-client.js';

export type DroneStatus =
  | 'skipped'
  | 'blocked'
  | 'declined'
  | 'waiting_on_dependencies'
  | 'pending'
  | 'running'
  | 'success'
  | 'failure'
  | 'killed'
  | 'error';

export interface DroneBuild {
  readonly id: number;
  readonly number: number;
  /** Absent when 0 (omitempty, like `error`): a build that is not a restart. */
  readonly parent?: number;
  readonly status: DroneStatus;
  readonly event: string;
  readonly trigger: string;
  readonly params?: Record<string, string>;
  readonly created: number;
  readonly started: number;
  readonly finished: number;
  readonly error?: string;
}

const DONE: ReadonlySet<string> = new Set([
  'success',
  'failure',
  'killed',
  'error',
  'skipped',
  'declined',
]);
export const isDone = (s: string) => DONE.has(s);

const seg = (s: string | number) => encodeURIComponent(String(s));

export class DroneConfigError extends Error {}

export class DroneClient {
  private readonly http: HttpClient;
  private readonly repoPath: string;
  constructor(
    private readonly opts: {
      url: string;
      token: string;
      repo: string;
      /** Drone's public address (CCCI_DRONE_PUBLIC_URL); `url` may be internal. */
      publicUrl?: string | undefined;
      timeoutMs?: number;
    } & Pick<HttpClientOptions, 'onError' | 'onOk'>,
  ) {
    this.http = new HttpClient({
      upstream: 'drone',
      baseUrl: `${opts.url.replace(/\/+$/, '')}/api`,
      headers: { authorization: `Bearer ${opts.token}` },
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.onError ? { onError: opts.onError } : {}),
      ...(opts.onOk ? { onOk: opts.onOk } : {}),
    });
    const [owner, name] = opts.repo.split('/');
    this.repoPath = `/repos/${seg(owner!)}/${seg(name!)}`;
  }

  /**
   * The public UI link of a build (the same as DRONE_BUILD_LINK), or null when no public Drone
   * address is configured. Never built from `url` (the API address, often internal such as
   * http://drone:80) and never a build's `link` field (that is the commit's link in Gitea).
   * The plugin reports the real DRONE_BUILD_LINK with its progress and results; that one wins.
   */
  buildLink(n: number): string | null {
    if (!this.opts.publicUrl) return null;
    return `${this.opts.publicUrl.replace(/\/+$/, '')}/${this.opts.repo}/${n}`;
  }

  /**
   * Create a custom build on the default branch. Drone answers `200 null` when no pipeline
   * matches, when the repository or its owner is inactive, or when a validator skipped the build
   * (drone trigger/trigger.go): a configuration problem, reported with every cause, never retried.
   * Not retried here: the worker checks for an earlier build with the same trigger key first.
   */
  async createBuild(params: Record<string, string>): Promise<DroneBuild> {
    const res = await this.http.request<DroneBuild | null>({
      method: 'POST',
      path: `${this.repoPath}/builds`,
      query: params,
    });
    if (res.data === null)
      throw new DroneConfigError(
        `Drone created no build for ${this.opts.repo} (it answered 200 null). Drone does that when ` +
          `no pipeline's trigger matches a custom build (check the recipe-ci pipeline's trigger in .drone.yml), ` +
          `when the repository or its owner is inactive in Drone (activate it in the Drone UI), ` +
          `or when a validation extension skipped the build (check DRONE_VALIDATE_PLUGIN_ENDPOINT).`,
      );
    return res.data;
  }

  /** Newest first; per_page is capped at 100 by Drone. */
  async listBuilds(page = 1, perPage = 25): Promise<DroneBuild[]> {
    const res = await this.http.request<DroneBuild[]>({
      method: 'GET',
      path: `${this.repoPath}/builds`,
      query: { page, per_page: Math.min(perPage, 100) },
      retry: DEFAULT_RETRY,
    });
    return res.data ?? [];
  }

  async getBuild(n: number): Promise<DroneBuild | null> {
    const res = await this.http.request<DroneBuild>({
      method: 'GET',
      path: `${this.repoPath}/builds/${seg(n)}`,
      accept: [404],
    });
    return res.status === 404 ? null : res.data;
  }
}
