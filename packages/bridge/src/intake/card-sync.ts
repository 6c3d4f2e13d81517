/**
 * The PR side of a run: the single cc-ci comment (the card) and the commit status, brought up to
 * date from the store whenever the card's revision moved. Edits are idempotent; a card comment is
 * created only after looking for one we may have created before (hidden marker).
 */
import type { Results, TierName } from '@cc-ci/harness-core';
import type { CommitState, GiteaClient } from '../adapters/gitea/gitea-client.js';
import {
  CARD_MARKER,
  renderCard,
  statusDescription,
  type CardRun,
  type CardState,
  type TierProgress,
} from '../domain/card.js';
import type { RunsStore } from '../store/runs-store.js';
import type { BotAccount } from './bot-account.js';
import type { CardRow, IntakeStore, TriggerRow } from './intake-store.js';
import type { Limit, Logger } from './logger.js';
import type { RetryDelay } from './retry-policy.js';
import type { NoteFailure } from './upstream-failures.js';

export const STATUS_CONTEXT = 'cc-ci/testme';

export interface CardSyncDeps {
  readonly gitea: Pick<GiteaClient, 'editComment' | 'createComment' | 'createStatus'>;
  readonly store: Pick<
    IntakeStore,
    | 'dirtyCards'
    | 'trigger'
    | 'queuePosition'
    | 'setCardComment'
    | 'cardSynced'
    | 'cardRetry'
    | 'contact'
  >;
  readonly runs: Pick<RunsStore, 'getRun' | 'getArtifacts' | 'regressionOf'>;
  readonly bot: Pick<BotAccount, 'findOwnComment'>;
  readonly log: Pick<Logger, 'warn'>;
  readonly noteFailure: NoteFailure;
  readonly retryDelay: RetryDelay;
  readonly limit: Limit;
  readonly now: () => number;
  readonly publicUrl: string;
  /** Least time between two progress edits of one PR comment. */
  readonly progressMinIntervalMs: number;
}

export interface CardView {
  readonly run: CardRun;
  readonly state: CardState;
  readonly sha: string;
}

export class CardSync {
  private readonly base: string;

  constructor(private readonly deps: CardSyncDeps) {
    this.base = deps.publicUrl.replace(/\/+$/, '');
  }

  async syncCards(): Promise<void> {
    const cards = this.deps.store.dirtyCards();
    await Promise.all(cards.map((c) => this.deps.limit(() => this.sync(c))));
  }

  /** What the card and status should show for the card's trigger, from the store. */
  view(t: TriggerRow): CardView {
    const runRow = t.build_number !== null ? this.deps.runs.getRun(String(t.build_number)) : null;
    const recipe = t.repo.split('/')[1]!;
    const run: CardRun = {
      runId: runRow?.run_id ?? null,
      recipe,
      pr: t.pr,
      headSha: t.head_sha ?? '',
      quick: t.quick === 1,
      requestedBy: t.commenter,
      links: runRow
        ? {
            runUrl: `${this.base}/runs/${encodeURIComponent(runRow.run_id)}`,
            buildUrl: runRow.build_link,
            badgeUrl: `${this.base}/badge/${encodeURIComponent(recipe)}.svg`,
          }
        : null,
    };
    let state: CardState;
    if (t.state === 'failed')
      state = { kind: 'error', message: t.reason ?? 'the run could not be started' };
    else if (!runRow) state = { kind: 'queued', position: this.deps.store.queuePosition(t.id) };
    else if (runRow.status === 'finished') {
      const artifacts = this.deps.runs.getArtifacts(runRow.run_id);
      state = artifacts
        ? {
            kind: 'result',
            results: artifacts.results as Results,
            regression: this.deps.runs.regressionOf(runRow),
          }
        : { kind: 'error', message: 'results missing from the store' };
    } else if (runRow.status === 'error')
      state = { kind: 'error', message: runRow.error ?? 'the run ended without results' };
    else if (runRow.progress)
      state = {
        kind: 'progress',
        tiers: JSON.parse(runRow.progress) as Partial<Record<TierName, TierProgress>>,
      };
    else {
      const note = waitingNote(runRow.drone_status);
      state = note ? { kind: 'started', note } : { kind: 'started' };
    }
    return { run, state, sha: t.head_sha ?? '' };
  }

  private async sync(card: CardRow): Promise<void> {
    const { store, log } = this.deps;
    const t = store.trigger(card.trigger_id);
    if (!t || !t.head_sha) return;
    const { run, state, sha } = this.view(t);
    if (
      state.kind === 'progress' &&
      card.last_edit_at &&
      this.deps.now() - Date.parse(card.last_edit_at) < this.deps.progressMinIntervalMs
    )
      return; // rate-limited: picked up again on a later tick
    const body = renderCard(run, state);
    try {
      await this.putComment(t, card.comment_id, body);
      await this.deps.gitea.createStatus(t.repo, sha, {
        state: commitState(state),
        target_url: run.links?.runUrl ?? `${this.base}/recipes/${encodeURIComponent(run.recipe)}`,
        description: statusDescription(state),
        context: STATUS_CONTEXT,
      });
      store.cardSynced(t.repo, t.pr, card.rev);
      store.contact('gitea', true);
    } catch (err) {
      this.deps.noteFailure(err);
      const delay = this.deps.retryDelay(card.attempts);
      store.cardRetry(t.repo, t.pr, (err as Error).message, delay);
      log.warn(
        { repo: t.repo, pr: t.pr, err: (err as Error).message, retryInMs: delay },
        'PR comment/status update failed; retrying later',
      );
    }
  }

  /** Edit the card comment, or create it when there is none (or someone deleted it). */
  private async putComment(t: TriggerRow, known: number | null, body: string): Promise<void> {
    const { gitea, store } = this.deps;
    let commentId = known;
    if (commentId === null) {
      commentId = await this.deps.bot.findOwnComment(t.repo, t.pr, (b) =>
        b.startsWith(CARD_MARKER),
      );
      if (commentId !== null) store.setCardComment(t.repo, t.pr, commentId);
    }
    if (commentId !== null) {
      const edited = await gitea.editComment(t.repo, commentId, body);
      if (!edited) {
        store.setCardComment(t.repo, t.pr, null); // deleted by someone: post a new one
        commentId = null;
      }
    }
    if (commentId === null) {
      const created = await gitea.createComment(t.repo, t.pr, body);
      store.setCardComment(t.repo, t.pr, created.id);
    }
  }
}

/** Why a Drone build that waits is shown as started but not running. */
export function waitingNote(droneStatus: string | null): string | null {
  if (droneStatus === 'blocked')
    return 'The Drone build is blocked: it waits for a Drone admin to approve it.';
  if (droneStatus === 'waiting_on_dependencies')
    return 'The Drone build is waiting on dependencies (another pipeline of the build).';
  return null;
}

function commitState(state: CardState): CommitState {
  if (state.kind === 'result')
    return state.results.verdict === 'pass'
      ? 'success'
      : state.results.verdict === 'fail'
        ? 'failure'
        : 'error';
  if (state.kind === 'error') return 'error';
  return 'pending';
}
