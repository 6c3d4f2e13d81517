/**
 * A small JSON-over-HTTP client for the Gitea and Drone adapters: timeouts on every request,
 * bounded retries with capped exponential backoff and full jitter for idempotent calls, and one
 * error type that says whether trying again later can help.
 *
 * Non-idempotent calls (creating a comment, creating a build) are never retried here: the intake
 * worker retries them only after checking that the earlier attempt left nothing behind.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '@cc-ci/harness-core';

export type Upstream = 'gitea' | 'drone';

export class UpstreamError extends Error {
  constructor(
    readonly upstream: Upstream,
    message: string,
    /** HTTP status, or null for a network error or timeout. */
    readonly status: number | null,
    /** True when the same request may succeed later (5xx, 429, timeout, connection error). */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

export interface RetryPolicy {
  /** Attempts in total (1 = no retry). */
  readonly attempts: number;
  readonly baseMs: number;
  readonly capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseMs: 250, capMs: 4_000 };
export const NO_RETRY: RetryPolicy = { attempts: 1, baseMs: 0, capMs: 0 };

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  readonly path: string;
  readonly query?: Record<string, string | number | undefined>;
  readonly body?: unknown;
  /** Retry policy; defaults to DEFAULT_RETRY for GET/PATCH/PUT/DELETE and NO_RETRY for POST. */
  readonly retry?: RetryPolicy;
  /** Statuses that are answers, not errors (e.g. 404 for "not a member"). */
  readonly accept?: readonly number[];
}

export interface HttpResponse<T> {
  readonly status: number;
  readonly data: T;
  readonly headers: Headers;
}

export interface HttpClientOptions {
  readonly upstream: Upstream;
  /** Base URL including any API prefix, without a trailing slash. */
  readonly baseUrl: string;
  readonly headers: Record<string, string>;
  readonly timeoutMs?: number;
  /** Called for every failed attempt (metrics, health). */
  readonly onError?: (err: UpstreamError) => void;
  /** Called for every answered request (health: last successful contact). */
  readonly onOk?: () => void;
}

export class HttpClient {
  private readonly timeoutMs: number;
  constructor(private readonly opts: HttpClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  url(path: string, query?: HttpRequest['query']): string {
    const u = new URL(this.opts.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  async request<T>(req: HttpRequest): Promise<HttpResponse<T>> {
    const policy = req.retry ?? (req.method === 'POST' ? NO_RETRY : DEFAULT_RETRY);
    let last: UpstreamError | undefined;
    for (let attempt = 0; attempt < policy.attempts; attempt++) {
      if (attempt > 0) await sleep(backoffMs(attempt, policy)); // full jitter in [0, min(cap, base·2^attempt))
      try {
        return await this.once<T>(req);
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        this.opts.onError?.(err);
        last = err;
        if (!err.retryable) throw err;
      }
    }
    throw last ?? new UpstreamError(this.opts.upstream, 'no attempt made', null, true);
  }

  private async once<T>(req: HttpRequest): Promise<HttpResponse<T>> {
    const up = this.opts.upstream;
    const label = `${up} ${req.method} ${req.path}`;
    let res: Response;
    try {
      res = await fetch(this.url(req.path, req.query), {
        method: req.method,
        headers: {
          accept: 'application/json',
          ...this.opts.headers,
          ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'follow',
      });
    } catch (err) {
      const e = err as Error;
      const timeout = e.name === 'TimeoutError' || e.name === 'AbortError';
      throw new UpstreamError(
        up,
        `${label}: ${timeout ? `no answer within ${this.timeoutMs} ms` : `connection failed (${e.cause instanceof Error ? e.cause.message : e.message})`}`,
        null,
        true,
      );
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new UpstreamError(
        up,
        `${label}: response cut off (${(err as Error).message})`,
        null,
        true,
      );
    }
    const accepted = res.ok || (req.accept ?? []).includes(res.status);
    if (!accepted) {
      let message = text.slice(0, 300);
      try {
        const j = JSON.parse(text) as { message?: unknown };
        if (typeof j.message === 'string') message = j.message;
      } catch {
        /* not JSON */
      }
      const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
      throw new UpstreamError(
        up,
        `${label}: HTTP ${res.status}${message ? `: ${message}` : ''}`,
        res.status,
        retryable,
      );
    }
    this.opts.onOk?.();
    let data: unknown = null;
    if (text.length > 0 && res.status !== 204) {
      try {
        data = JSON.parse(text);
      } catch {
        throw new UpstreamError(
          up,
          `${label}: HTTP ${res.status} with a body that is not JSON`,
          res.status,
          true,
        );
      }
    }
    return { status: res.status, data: data as T, headers: res.headers };
  }
}
