/**
 * The `runs` table's rows and what RunsStore is given to write them. The status page and
 * `/api/runs` see only the domain's RunView; intake workers and the upload gate still read a
 * run's row through `getRun`.
 */
import { ISOLATION_LABELS, type IsolationLabel, type Results } from '@cc-ci/harness-core';
import type { RunView } from '../domain/run-view.js';

export interface RunRow {
  readonly run_id: string;
  /** The trigger behind a run the bridge started; null for builds it did not start. */
  readonly trigger_id: number | null;
  readonly recipe: string;
  readonly repo: string | null;
  readonly pr: number | null;
  readonly ref: string | null;
  readonly head_sha: string | null;
  readonly quick: number;
  readonly status: string;
  readonly drone_status: string | null;
  readonly build_link: string | null;
  readonly verdict: string | null;
  readonly level: number | null;
  readonly version: string | null;
  readonly error: string | null;
  readonly created_at: string;
  readonly started_at: string | null;
  readonly finished_at: string | null;
  readonly updated_at: string;
  /** Live tier progress (JSON {tier: status}) while the run is going. */
  readonly progress: string | null;
  readonly drone_finished_at: string | null;
  readonly drone_waiting_since: string | null;
  /** results.isolation.label (genuine | flaky | changed), filled on upload; null without one. */
  readonly isolation: string | null;
}

const isLabel = (s: string | null): s is IsolationLabel =>
  (ISOLATION_LABELS as readonly (string | null)[]).includes(s);

/** A row of `runs` → the domain's view of the run. */
export function toRunView(r: RunRow): RunView {
  return {
    runId: r.run_id,
    triggerId: r.trigger_id,
    recipe: r.recipe,
    repo: r.repo,
    pr: r.pr,
    ref: r.ref,
    headSha: r.head_sha,
    quick: r.quick === 1,
    status: r.status,
    droneStatus: r.drone_status,
    buildLink: r.build_link,
    verdict: r.verdict,
    level: r.level,
    version: r.version,
    error: r.error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    updatedAt: r.updated_at,
    progress: r.progress,
    droneFinishedAt: r.drone_finished_at,
    droneWaitingSince: r.drone_waiting_since,
    isolation: isLabel(r.isolation) ? r.isolation : null,
  };
}

export interface StoredArtifacts {
  readonly results: Results;
  readonly junit: Record<string, string>;
  readonly log: string;
}

/** A run the bridge started: its Drone build exists (IntakeStore.building). */
export interface StartedRun {
  readonly runId: string;
  readonly triggerId: number;
  readonly recipe: string;
  readonly repo: string;
  readonly pr: number;
  /** The trigger's pinned head sha (also the run's ref). */
  readonly headSha: string | null;
  readonly quick: number;
  readonly droneStatus: string;
  readonly buildLink: string | null;
}

/** A build the bridge did not start (Drone UI re-run, curl), tracked from its params. */
export interface ForeignRun {
  readonly runId: string;
  readonly recipe: string;
  readonly repo: string | null;
  readonly pr: number | null;
  readonly ref: string | null;
  readonly quick: boolean;
  readonly status: string;
  readonly droneStatus: string;
  readonly link: string | null;
  readonly created: string;
}

/** What the build watcher reads of an unfinished run. */
export interface UnfinishedRun {
  readonly run_id: string;
  readonly trigger_id: number | null;
  readonly status: string;
  readonly drone_status: string | null;
  readonly drone_finished_at: string | null;
  readonly drone_waiting_since: string | null;
}
