/**
 * Capped exponential backoff with jitter: the one formula behind every retry delay in cc-ci (the
 * plugin's results upload, the bridge's HTTP client and its persistent intake retries). Pure.
 */
export interface Backoff {
  /** The delay ceiling at exponent 0. */
  readonly baseMs: number;
  /** The ceiling never grows past this. */
  readonly capMs: number;
  /**
   * 'full' (default): uniform in [0, ceiling), whole milliseconds — spreads retries the most.
   * 'equal': uniform in [ceiling/2, ceiling) — never retries almost at once.
   */
  readonly jitter?: 'full' | 'equal';
  /** A floor on the delay (after jitter). */
  readonly minMs?: number;
}

/** The ceiling for `exponent`: min(cap, base·2^exponent); the exponent is clamped to 30. */
export function backoffCeilingMs(exponent: number, b: Backoff): number {
  return Math.min(b.capMs, b.baseMs * 2 ** Math.min(exponent, 30));
}

/** A jittered delay for `exponent` (see Backoff); `random` returns [0, 1). */
export function backoffMs(
  exponent: number,
  b: Backoff,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeilingMs(exponent, b);
  const delay =
    b.jitter === 'equal' ? ceiling / 2 + random() * (ceiling / 2) : Math.floor(random() * ceiling);
  return Math.max(b.minMs ?? 0, delay);
}
