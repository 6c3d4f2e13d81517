import type { IsolationLabel } from '@cc-ci/harness-core';

/**
 * A run as the status page and the API show it: the domain's view, mapped from the store's rows
 * in store/runs-store.ts (the SQLite row type stays in the store).
 */
export interface RunView {
  /** The Drone build number, as text. */
  readonly runId: string;
  /** The trigger behind a run the bridge started; null for builds it did not start. */
  readonly triggerId: number | null;
  readonly recipe: string;
  /** owner/name of the recipe repository when known. */
  readonly repo: string | null;
  readonly pr: number | null;
  readonly ref: string | null;
  readonly headSha: string | null;
  readonly quick: boolean;
  /** queued | running | finished | error */
  readonly status: string;
  /** Drone's own build status. */
  readonly droneStatus: string | null;
  readonly buildLink: string | null;
  /** pass | fail | error; null while the run is going. */
  readonly verdict: string | null;
  readonly level: number | null;
  readonly version: string | null;
  readonly error: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string;
  /** Live tier progress (JSON {tier: status}) while the run is going. */
  readonly progress: string | null;
  readonly droneFinishedAt: string | null;
  readonly droneWaitingSince: string | null;
  /** The isolation re-run's label (results.isolation.label); null when the run has none. */
  readonly isolation: IsolationLabel | null;
}
