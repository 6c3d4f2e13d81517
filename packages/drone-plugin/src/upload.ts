/**
 * Upload a run's results to the bridge: POST <bridge>/api/runs/<runId>/results with the Bearer
 * token. 5xx and connection errors are retried with capped exponential backoff and jitter
 * (bounded attempts); 4xx are not. A failed upload never changes the verdict: it is reported.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { backoffMs } from '@cc-ci/harness-core';

export interface UploadInput {
  readonly bridgeUrl: string;
  readonly token: string;
  readonly runId: string;
  readonly runDir: string;
  readonly fetchImpl?: typeof fetch;
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface UploadResult {
  readonly ok: boolean;
  readonly attempts: number;
  readonly status: number | null;
  readonly error?: string;
}

const MAX_LOG_BYTES = 1024 * 1024;

export async function buildUploadBody(runDir: string): Promise<string> {
  const results = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8')) as unknown;
  const junit: Record<string, string> = {};
  try {
    for (const f of await readdir(join(runDir, 'junit'))) {
      if (f.endsWith('.xml')) junit[f] = await readFile(join(runDir, 'junit', f), 'utf8');
    }
  } catch {
    // no junit directory: a run that stopped before any tier
  }
  let log = '';
  try {
    const full = await readFile(join(runDir, 'run.log'), 'utf8');
    log = full.length > MAX_LOG_BYTES ? full.slice(full.length - MAX_LOG_BYTES) : full;
  } catch {
    log = '';
  }
  return JSON.stringify({ results, junit, log });
}

export async function uploadResults(input: UploadInput): Promise<UploadResult> {
  const doFetch = input.fetchImpl ?? fetch;
  const sleep = input.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxAttempts = input.maxAttempts ?? 6;
  const base = input.baseDelayMs ?? 500;
  const url = `${input.bridgeUrl.replace(/\/+$/, '')}/api/runs/${encodeURIComponent(input.runId)}/results`;
  const body = await buildUploadBody(input.runDir);
  let lastError = '';
  let status: number | null = null;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${input.token}` },
        body,
        signal: AbortSignal.timeout(30_000),
      });
      status = res.status;
      if (res.ok) return { ok: true, attempts: attempt, status };
      const text = (await res.text()).slice(0, 500);
      lastError = `HTTP ${res.status}: ${text}`;
      if (res.status < 500) return { ok: false, attempts: attempt, status, error: lastError };
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (attempt < maxAttempts) {
      // Equal jitter: in [c/2, c) for c = min(base·2^(attempt-1), 15 s).
      await sleep(backoffMs(attempt - 1, { baseMs: base, capMs: 15_000, jitter: 'equal' }));
    }
  }
  return { ok: false, attempts: maxAttempts, status, error: lastError };
}
