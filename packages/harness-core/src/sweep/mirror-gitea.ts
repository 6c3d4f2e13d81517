/**
 * The few Gitea API calls the mirror sync makes on the mirror repository (docs/platform-facts.md
 * §1): list its open pull requests, comment on one, close one. Node's fetch, the token in the
 * `Authorization: token <T>` header, every call bounded in time; any failure is an InfraError
 * MIRROR_PR_FAILED naming the call and the status.
 */
import { InfraError } from '../errors.js';

export interface MirrorGiteaConfig {
  /** Base URL of the Gitea instance (`https://git.example.org`; `/api/v1` is added). */
  readonly url: string;
  /** A token that may push to the mirror and write its pull requests. A secret: never logged. */
  readonly token: string;
  /** The mirror repository, `owner/name`. */
  readonly repo: string;
}

/** What the sync needs of a pull request. */
export interface MirrorPull {
  readonly number: number;
  readonly headSha: string;
  readonly baseRef: string;
}

/** Gitea's page size cap (`[api] MAX_RESPONSE_ITEMS`, 50 by default). */
const PAGE = 50;
/** At most this many pages (1000 open PRs) are read: every loop is bounded. */
const MAX_PAGES = 20;
const CALL_TIMEOUT_MS = 15_000;

export interface MirrorGiteaClient {
  openPulls(signal: AbortSignal): Promise<MirrorPull[]>;
  comment(pr: number, body: string, signal: AbortSignal): Promise<void>;
  close(pr: number, signal: AbortSignal): Promise<void>;
}

export function mirrorGitea(
  cfg: MirrorGiteaConfig,
  fetchImpl: typeof fetch = fetch,
): MirrorGiteaClient {
  const [owner, name] = cfg.repo.split('/');
  if (!owner || !name || cfg.repo.split('/').length !== 2)
    throw new InfraError(
      'MIRROR_PR_FAILED',
      `the mirror repository "${cfg.repo}" is not owner/name`,
    );
  const base = `${cfg.url.replace(/\/+$/, '')}/api/v1/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
  const call = async (
    what: string,
    method: string,
    path: string,
    ok: readonly number[],
    signal: AbortSignal,
    body?: unknown,
  ): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetchImpl(`${base}${path}`, {
        method,
        headers: {
          authorization: `token ${cfg.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        redirect: 'error',
        signal: AbortSignal.any([signal, AbortSignal.timeout(CALL_TIMEOUT_MS)]),
      });
    } catch (err) {
      throw new InfraError(
        'MIRROR_PR_FAILED',
        `Gitea ${what} on ${cfg.repo} failed: ${(err as Error).message}`,
      );
    }
    const text = await res.text().catch(() => '');
    if (!ok.includes(res.status))
      throw new InfraError(
        'MIRROR_PR_FAILED',
        `Gitea ${what} on ${cfg.repo} answered ${res.status}: ${text.slice(0, 200)}`,
      );
    return text ? (JSON.parse(text) as unknown) : null;
  };
  return {
    async openPulls(signal) {
      const pulls: MirrorPull[] = [];
      for (let page = 1; page <= MAX_PAGES; page++) {
        const list = await call(
          'list pull requests',
          'GET',
          `/pulls?state=open&page=${page}&limit=${PAGE}`,
          [200],
          signal,
        );
        if (!Array.isArray(list))
          throw new InfraError('MIRROR_PR_FAILED', `Gitea listed ${cfg.repo}'s PRs as a non-list`);
        for (const p of list as Array<Record<string, unknown>>) {
          const head = (p.head ?? {}) as Record<string, unknown>;
          const baseRef = (p.base ?? {}) as Record<string, unknown>;
          if (p.state !== 'open' || typeof p.number !== 'number') continue;
          pulls.push({
            number: p.number,
            headSha: String(head.sha ?? ''),
            baseRef: String(baseRef.ref ?? ''),
          });
        }
        if (list.length < PAGE) return pulls;
      }
      return pulls;
    },
    async comment(pr, body, signal) {
      await call('comment', 'POST', `/issues/${pr}/comments`, [201], signal, { body });
    },
    async close(pr, signal) {
      // Gitea answers an edited pull request with 201 (the OpenAPI document says so too).
      await call('close pull request', 'PATCH', `/pulls/${pr}`, [200, 201], signal, {
        state: 'closed',
      });
    },
  };
}
