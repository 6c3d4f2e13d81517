/**
 * Running one tier: a tier that throws is classified (the recipe's fault fails it, anything else
 * leaves it unverified), and an unverified attempt is retried once — an infrastructure hiccup
 * must not cost a verdict, and a second one is reported as it is. Messages are redacted before
 * they become a stage. No Docker here: unit-tested in tier-runner.test.ts.
 */
import { AbortedError } from '../errors.js';
import type { Stage, TierName } from '../domain/results.js';
import type { RunLogger, TierOutcome } from '../tiers/types.js';
import { CHECK_FAILED, classify, stageOf } from './rungs.js';

export interface TierRunIo {
  readonly log: RunLogger;
  readonly signal: AbortSignal;
  redact(text: string): string;
  /** Milliseconds; injected so tests need no clock. */
  now(): number;
}

export async function runTierWithRetry(
  tier: TierName,
  fn: () => Promise<TierOutcome>,
  io: TierRunIo,
): Promise<Stage> {
  const t0 = io.now();
  let retried = false;
  for (let attempt = 1; ; attempt++) {
    let outcome: TierOutcome;
    try {
      if (io.signal.aborted) throw new AbortedError();
      outcome = await fn();
    } catch (err) {
      if (err instanceof AbortedError) throw err;
      const c = classify(err);
      outcome = {
        status: c.status,
        reason: c.reason,
        code: c.code,
        tests: [
          { name: tier, status: c.status, ms: io.now() - t0, message: c.reason, code: c.code },
        ],
      };
      if (c.status === 'unver' && attempt === 1 && !io.signal.aborted) {
        io.log.warn(`infrastructure problem: ${c.reason}; retrying the tier once`);
        retried = true;
        continue;
      }
    }
    const ms = io.now() - t0;
    io.log.info(
      `${tier}: ${outcome.pending ?? outcome.status}${outcome.reason ? ` — ${outcome.reason}` : ''} (${Math.round(ms / 100) / 10} s)`,
    );
    return stageOf(
      outcome.status,
      ms,
      outcome.tests.map((r) => ({ ...r, ...(r.message ? { message: io.redact(r.message) } : {}) })),
      {
        reason: outcome.reason ? io.redact(outcome.reason) : undefined,
        code: outcome.code ?? (outcome.status === 'fail' ? CHECK_FAILED[tier] : 'INTERNAL'),
        retried,
      },
    );
  }
}
