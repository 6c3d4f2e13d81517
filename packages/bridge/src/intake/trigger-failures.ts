/** How a trigger step's failure ends: retried later with backoff, or failed for good. */
import type { BridgeMetrics } from '../metrics.js';
import type { IntakeStore, TriggerRow } from './intake-store.js';
import type { Logger } from './logger.js';
import { triggerRetry, type RetryDelay } from './retry-policy.js';
import type { NoteFailure } from './upstream-failures.js';

export interface TriggerFailuresDeps {
  readonly store: Pick<IntakeStore, 'setState' | 'bumpCardFor' | 'retryLater'>;
  readonly triggers: BridgeMetrics['triggers'];
  readonly log: Pick<Logger, 'warn' | 'error'>;
  readonly noteFailure: NoteFailure;
  readonly retryDelay: RetryDelay;
  readonly maxAttempts: number;
}

export class TriggerFailures {
  constructor(private readonly deps: TriggerFailuresDeps) {}

  /** The trigger fails for good with `reason`; its card shows it. `err`: what is logged. */
  fail(t: TriggerRow, reason: string, logMsg: string, err = reason): void {
    this.deps.store.setState(t.id, 'failed', reason);
    this.deps.store.bumpCardFor(t.id);
    this.deps.triggers.inc({ outcome: 'failed' });
    this.deps.log.error({ trigger: t.id, err }, logMsg);
  }

  /** A step of the trigger failed with `err`: retry later, or give up (permanent, or too many attempts). */
  retry(t: TriggerRow, err: unknown): void {
    this.deps.noteFailure(err);
    const next = triggerRetry(err, t.attempts, this.deps.maxAttempts, this.deps.retryDelay);
    const message = (err as Error).message;
    if (next.kind === 'give-up') {
      this.fail(t, next.reason, 'trigger failed for good', message);
      return;
    }
    this.deps.store.retryLater(t.id, message, next.delayMs);
    this.deps.log.warn(
      { trigger: t.id, attempt: t.attempts + 1, retryInMs: next.delayMs, err: message },
      'trigger step failed; retrying later',
    );
  }
}
