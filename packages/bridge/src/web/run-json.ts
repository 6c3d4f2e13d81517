/**
 * A run in the JSON API (`GET /api/runs`): the field names and order the API has always
 * answered with (docs/api.md, the OpenAPI `runRow` schema), built from the domain's RunView.
 */
import type { IsolationLabel } from '@cc-ci/harness-core';
import type { RunView } from '../domain/run-view.js';

export interface RunJson {
  readonly run_id: string;
  readonly trigger_id: number | null;
  readonly recipe: string;
  readonly repo: string | null;
  readonly pr: number | null;
  readonly ref: string | null;
  readonly head_sha: string | null;
  readonly quick: 0 | 1;
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
  readonly progress: string | null;
  readonly drone_finished_at: string | null;
  readonly drone_waiting_since: string | null;
  readonly isolation: IsolationLabel | null;
}

export function runJson(r: RunView): RunJson {
  return {
    run_id: r.runId,
    trigger_id: r.triggerId,
    recipe: r.recipe,
    repo: r.repo,
    pr: r.pr,
    ref: r.ref,
    head_sha: r.headSha,
    quick: r.quick ? 1 : 0,
    status: r.status,
    drone_status: r.droneStatus,
    build_link: r.buildLink,
    verdict: r.verdict,
    level: r.level,
    version: r.version,
    error: r.error,
    created_at: r.createdAt,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    updated_at: r.updatedAt,
    progress: r.progress,
    drone_finished_at: r.droneFinishedAt,
    drone_waiting_since: r.droneWaitingSince,
    isolation: r.isolation,
  };
}
