/**
 * Final statuses for shas a newer !testme on another head sha superseded, so no sha is left
 * `pending` forever (an outbox the store fills when a card moves to a new trigger).
 */
import type { GiteaClient } from '../adapters/gitea/gitea-client.js';
import type { RunsStore } from '../store/runs-store.js';
import { STATUS_CONTEXT } from './card-sync.js';
import type { IntakeStore } from './intake-store.js';
import type { RetryDelay } from './retry-policy.js';
import type { NoteFailure } from './upstream-failures.js';

export interface SupersededStatusesDeps {
  readonly gitea: Pick<GiteaClient, 'createStatus'>;
  readonly store: Pick<
    IntakeStore,
    'dueShaStatuses' | 'trigger' | 'card' | 'shaStatusPosted' | 'shaStatusRetry'
  >;
  readonly runs: Pick<RunsStore, 'getRun'>;
  readonly noteFailure: NoteFailure;
  readonly retryDelay: RetryDelay;
  readonly publicUrl: string;
}

export async function postSupersededStatuses(deps: SupersededStatusesDeps): Promise<void> {
  const { store } = deps;
  const base = deps.publicUrl.replace(/\/+$/, '');
  for (const row of store.dueShaStatuses()) {
    const t = store.trigger(row.trigger_id);
    const card = t ? store.card(t.repo, t.pr) : null;
    const shown = card ? store.trigger(card.trigger_id) : null;
    if (shown?.head_sha === row.sha) {
      store.shaStatusPosted(row.id); // the PR's current trigger owns this sha again
      continue;
    }
    const runRow = t?.build_number != null ? deps.runs.getRun(String(t.build_number)) : null;
    const recipe = row.repo.split('/')[1]!;
    try {
      await deps.gitea.createStatus(row.repo, row.sha, {
        state: 'error',
        target_url: runRow
          ? `${base}/runs/${encodeURIComponent(runRow.run_id)}`
          : `${base}/recipes/${encodeURIComponent(recipe)}`,
        description: row.description,
        context: STATUS_CONTEXT,
      });
      store.shaStatusPosted(row.id);
    } catch (err) {
      deps.noteFailure(err);
      store.shaStatusRetry(row.id, (err as Error).message, deps.retryDelay(row.attempts));
    }
  }
}
