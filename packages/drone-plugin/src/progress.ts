/**
 * Live tier progress to the bridge: POST <bridge>/api/runs/<runId>/progress with the whole
 * {tier: status} map so far, and Drone's public build link when the step knows it. One request in flight at a time and the newest state wins, so a slow
 * bridge never queues up requests; failures are ignored (progress is cosmetic, the final upload
 * is what counts). flush() waits for the last post (bounded by its timeout).
 */
import type { TierName, TierProgress } from '@cc-ci/harness-core';

export type { TierProgress };

export interface ProgressReporter {
  readonly onTier: (tier: TierName, status: TierProgress) => void;
  flush(): Promise<void>;
}

export function progressReporter(input: {
  bridgeUrl: string;
  token: string;
  runId: string;
  /** Drone's public build page (DRONE_BUILD_LINK): the bridge links it from the card. */
  buildLink?: string | undefined;
  fetchImpl?: typeof fetch;
  timeoutMs?: number;
}): ProgressReporter {
  const doFetch = input.fetchImpl ?? fetch;
  const url = `${input.bridgeUrl.replace(/\/+$/, '')}/api/runs/${encodeURIComponent(input.runId)}/progress`;
  const tiers: Partial<Record<TierName, TierProgress>> = {};
  let inFlight: Promise<void> | null = null;
  let dirty = false;
  const send = async (): Promise<void> => {
    while (dirty) {
      dirty = false;
      try {
        const res = await doFetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${input.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            tiers,
            ...(input.buildLink ? { build_link: input.buildLink } : {}),
          }),
          signal: AbortSignal.timeout(input.timeoutMs ?? 5_000),
        });
        await res.text();
      } catch {
        /* cosmetic: the results upload reports real problems */
      }
    }
    inFlight = null;
  };
  return {
    onTier(tier, status) {
      tiers[tier] = status;
      dirty = true;
      inFlight ??= send();
    },
    async flush() {
      await inFlight;
    },
  };
}
