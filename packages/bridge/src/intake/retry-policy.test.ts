import { describe, expect, it } from '@jest/globals';
import { UpstreamError } from '../adapters/http/http-client.js';
import { retryDelay, triggerRetry } from './retry-policy.js';

const policy = { baseMs: 2_000, capMs: 300_000 };

describe('retryDelay', () => {
  it.each([
    // attempts before this failure, random draw, delay
    [0, 0.5, 2_000],
    [1, 0.5, 4_000],
    [3, 0.5, 16_000],
    [0, 0.999, 3_996],
    [20, 0.5, 150_000], // capped at capMs
    [0, 0, 250], // never retries at once
  ])('waits %d failures → random %d → %d ms', (attempts, draw, ms) => {
    expect(retryDelay(policy, () => draw)(attempts)).toBe(ms);
  });

  it('never exceeds the cap however many attempts failed', () => {
    const delay = retryDelay(policy, () => 0.999_999);
    for (const attempts of [10, 30, 1_000]) expect(delay(attempts)).toBeLessThan(300_000);
  });
});

describe('triggerRetry', () => {
  const delay = (attempts: number) => 1_000 * (attempts + 1);
  const http = (status: number | null, retryable: boolean) =>
    new UpstreamError('gitea', `gitea answered ${status ?? 'nothing'}`, status, retryable);

  it('retries a retryable failure after the policy delay', () => {
    expect(triggerRetry(http(503, true), 2, 60, delay)).toEqual({ kind: 'retry', delayMs: 3_000 });
    expect(triggerRetry(new Error('socket hang up'), 0, 60, delay)).toEqual({
      kind: 'retry',
      delayMs: 1_000,
    });
  });

  it('gives up at once with the upstream message when waiting cannot help (a 4xx)', () => {
    expect(triggerRetry(http(404, false), 0, 60, delay)).toEqual({
      kind: 'give-up',
      reason: 'gitea answered 404',
    });
  });

  it('gives up after maxAttempts attempts, saying how many', () => {
    expect(triggerRetry(http(502, true), 59, 60, delay)).toEqual({
      kind: 'give-up',
      reason: 'gave up after 60 attempts: gitea answered 502',
    });
    expect(triggerRetry(http(502, true), 58, 60, delay)).toMatchObject({ kind: 'retry' });
  });
});
