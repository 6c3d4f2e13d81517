/** Labels every object of a run carries, so teardown can verify and the janitor can reap. */
import { hostname } from 'node:os';

export const LABEL_RUN_ID = 'cc-ci.run-id';
export const LABEL_DOMAIN = 'cc-ci.domain';
export const LABEL_STACK = 'cc-ci.stack';
export const LABEL_OWNER_PID = 'cc-ci.owner-pid';
export const LABEL_OWNER_HOST = 'cc-ci.owner-host';
export const LABEL_STARTED = 'cc-ci.started';
/** Which lock namespace (state dir) the run's lock lives in; the janitor judges only its own. */
export const LABEL_LOCK_SCOPE = 'cc-ci.lock-scope';
/** Warm canonical deploys: never reaped by the janitor. */
export const LABEL_WARM = 'cc-ci.warm';

export function runLabels(input: {
  runId: string;
  domain: string;
  stack: string;
  started: Date;
  lockScope: string;
}): Record<string, string> {
  return {
    [LABEL_LOCK_SCOPE]: input.lockScope,
    [LABEL_RUN_ID]: input.runId,
    [LABEL_DOMAIN]: input.domain,
    [LABEL_STACK]: input.stack,
    [LABEL_OWNER_PID]: String(process.pid),
    [LABEL_OWNER_HOST]: hostname(),
    [LABEL_STARTED]: input.started.toISOString(),
  };
}
