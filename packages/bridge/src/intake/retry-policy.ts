/**
 * The one retry policy of the intake workers: how long a failed step (a trigger, a card, a final
 * status, a reply) waits before its next attempt, and when a trigger gives up.
 */
import { backoffMs } from '@cc-ci/harness-core';
import { UpstreamError } from '../adapters/http/http-client.js';

export interface RetryBackoff {
  readonly baseMs: number;
  readonly capMs: number;
}

/** The delay before retrying a step that failed `attempts` times before this failure. */
export type RetryDelay = (attempts: number) => number;

/** Capped exponential backoff with full jitter, at least 250 ms. */
export function retryDelay(b: RetryBackoff, random: () => number = Math.random): RetryDelay {
  return (attempts) =>
    backoffMs(attempts + 1, { baseMs: b.baseMs, capMs: b.capMs, minMs: 250 }, random);
}

export type TriggerRetry =
  | { readonly kind: 'give-up'; readonly reason: string }
  | { readonly kind: 'retry'; readonly delayMs: number };

/**
 * What to do with a trigger whose step failed with `err` after `attempts` earlier failures. A
 * 4xx other than 408/429 (or a request refused before sending) will not change by waiting: fail
 * now instead of retrying for hours (issue 18).
 */
export function triggerRetry(
  err: unknown,
  attempts: number,
  maxAttempts: number,
  delay: RetryDelay,
): TriggerRetry {
  const message = (err as Error).message;
  if (err instanceof UpstreamError && !err.retryable) return { kind: 'give-up', reason: message };
  if (attempts + 1 >= maxAttempts)
    return { kind: 'give-up', reason: `gave up after ${attempts + 1} attempts: ${message}` };
  return { kind: 'retry', delayMs: delay(attempts) };
}
