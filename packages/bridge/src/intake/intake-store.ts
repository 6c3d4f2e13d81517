/**
 * SQL for intake: deliveries, handled comments, triggers, PR cards, replies, upstream contacts.
 * Every state change that must survive a crash is one transaction here; network calls happen
 * between transactions, in the engine, and are either idempotent or guarded by a look-up.
 * The `runs` table is RunsStore's: intake's run changes are RunsStore calls inside these
 * transactions.
 */
import type { Db } from '../adapters/sqlite/database.js';
import type { TriggerView } from '../domain/trigger-view.js';
import { RunsStore, type ForeignRun, type UnfinishedRun } from '../store/runs-store.js';

export type TriggerState =
  | 'accepted'
  | 'queued'
  | 'building'
  | 'finished'
  | 'failed'
  | 'refused'
  | 'unknown_repo'
  | 'superseded';

export interface TriggerRow {
  readonly id: number;
  readonly idempotency_key: string;
  readonly repo: string;
  readonly pr: number;
  readonly comment_id: number | null;
  readonly commenter: string;
  readonly quick: number;
  readonly state: TriggerState;
  readonly reason: string | null;
  readonly head_sha: string | null;
  readonly src: string | null;
  readonly source: string | null;
  readonly build_number: number | null;
  readonly attempts: number;
  readonly create_attempts: number;
  readonly next_attempt_at: string | null;
  readonly last_error: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface CardRow {
  readonly repo: string;
  readonly pr: number;
  readonly trigger_id: number;
  readonly comment_id: number | null;
  readonly rev: number;
  readonly synced_rev: number;
  readonly last_edit_at: string | null;
  readonly attempts: number;
  readonly next_attempt_at: string | null;
  readonly last_error: string | null;
}

export interface ShaStatusRow {
  readonly id: number;
  readonly repo: string;
  readonly sha: string;
  readonly trigger_id: number;
  readonly description: string;
  readonly attempts: number;
}

export interface ReplyRow {
  readonly id: number;
  readonly repo: string;
  readonly pr: number;
  readonly in_reply_to: number;
  readonly kind: string;
  readonly body: string;
  readonly state: 'pending' | 'posted' | 'failed';
  readonly attempts: number;
  readonly next_attempt_at: string | null;
}

export interface CommentEvent {
  readonly repo: string;
  readonly pr: number;
  readonly commentId: number;
  readonly updatedAt: string;
  readonly body: string;
  readonly login: string;
}

/** How long handled webhook deliveries are kept (CCCI_DELIVERY_RETENTION_*). */
export interface DeliveryRetention {
  readonly maxAgeDays: number;
  readonly maxRows: number;
}

export type CommentOutcome =
  'triggered' | 'ignored' | 'malformed' | 'own' | 'unknown_repo' | 'duplicate';

/** A trigger to insert (comment intake). */
export interface NewTrigger {
  readonly key: string;
  readonly repo: string;
  readonly pr: number;
  readonly commentId: number | null;
  readonly commenter: string;
  readonly quick: boolean;
  readonly state: TriggerState;
  readonly reason?: string;
  readonly source: string;
}

/** A reply to post on a PR (outbox). */
export interface NewReply {
  readonly repo: string;
  readonly pr: number;
  readonly inReplyTo: number;
  readonly kind: string;
  readonly body: string;
}

/** What handling a comment writes besides marking it handled. */
export interface CommentEffects {
  readonly trigger: NewTrigger | null;
  readonly reply: NewReply | null;
}

/** A delivery for the webhook route to store: a candidate with its body, or a drop with its outcome. */
export type IncomingDelivery =
  | { readonly id: string; readonly eventType: string; readonly body: string }
  | { readonly id: string; readonly eventType: string; readonly outcome: string };

interface QueuedDelivery {
  readonly delivery: IncomingDelivery;
  resolve(stored: boolean): void;
  reject(err: unknown): void;
}

export class IntakeStore {
  private readonly runs: RunsStore;
  private queued: QueuedDelivery[] = [];

  /** `runs`: the owner of the runs table (default: one on the same database and clock). */
  constructor(
    readonly db: Db,
    private readonly now: () => Date,
    runs?: RunsStore,
  ) {
    this.runs = runs ?? new RunsStore(db, now);
  }

  ts(): string {
    return this.now().toISOString();
  }

  // ---- webhook deliveries -------------------------------------------------------------------

  /**
   * Store a delivery that may be a trigger, with its body, before answering 202. false when the
   * delivery id was seen before (replay).
   */
  saveDelivery(id: string, eventType: string, body: string): boolean {
    const res = this.db
      .prepare(
        `INSERT OR IGNORE INTO webhook_deliveries (delivery_id, event_type, body, received_at) VALUES (?, ?, ?, ?)`,
      )
      .run(id, eventType, body, this.ts());
    return res.changes === 1;
  }

  /**
   * Record a delivery that cannot be a trigger: id, outcome and time only, already handled, so a
   * replay is still recognised but the body is never kept (issue 18). false on a replay.
   */
  recordDelivery(id: string, eventType: string, outcome: string): boolean {
    const ts = this.ts();
    const res = this.db
      .prepare(
        `INSERT OR IGNORE INTO webhook_deliveries (delivery_id, event_type, body, received_at, processed_at, outcome) VALUES (?, ?, NULL, ?, ?, ?)`,
      )
      .run(id, eventType, ts, ts, outcome);
    return res.changes === 1;
  }

  /**
   * Store a delivery before the webhook's answer, committed together with the others that
   * arrived in the same turn of the event loop: one transaction, so one WAL commit for them all
   * (under a burst of deliveries the commit is most of a delivery's cost). Settles only after the
   * commit: true when stored, false on a replay (a delivery id seen before, also earlier in the
   * same batch). A failed commit rejects every delivery of the batch: none was stored.
   */
  storeDelivery(delivery: IncomingDelivery): Promise<boolean> {
    return new Promise((resolve, reject) => {
      if (this.queued.length === 0) setImmediate(() => this.commitQueued());
      this.queued.push({ delivery, resolve, reject });
    });
  }

  private commitQueued(): void {
    const batch = this.queued;
    this.queued = [];
    let stored: boolean[];
    try {
      stored = this.db.transaction(() =>
        batch.map(({ delivery: d }) =>
          'body' in d
            ? this.saveDelivery(d.id, d.eventType, d.body)
            : this.recordDelivery(d.id, d.eventType, d.outcome),
        ),
      )();
    } catch (err) {
      for (const q of batch) q.reject(err);
      return;
    }
    batch.forEach((q, i) => q.resolve(stored[i]!));
  }

  /** Deliveries waiting to be handled, oldest first; served by the partial index webhook_deliveries_pending. */
  pendingDeliveries(limit = 100): Array<{ delivery_id: string; event_type: string; body: string }> {
    return this.db
      .prepare(
        `SELECT delivery_id, event_type, COALESCE(body, '') AS body FROM webhook_deliveries WHERE processed_at IS NULL ORDER BY received_at, delivery_id LIMIT ?`,
      )
      .all(limit) as Array<{ delivery_id: string; event_type: string; body: string }>;
  }

  /** A delivery was handled: keep its id, outcome and time; drop the body. */
  markDelivery(id: string, outcome: string): void {
    this.db
      .prepare(
        `UPDATE webhook_deliveries SET processed_at = ?, outcome = ?, body = NULL WHERE delivery_id = ?`,
      )
      .run(this.ts(), outcome, id);
  }

  /**
   * Retention: delete handled deliveries received more than `maxAgeDays` ago, then the oldest
   * handled ones beyond `maxRows`. Pending deliveries are never deleted (they are still owed a
   * handling). A pruned delivery id replayed later is handled again, which is harmless: comment
   * ids are deduplicated in handled_comments, which is not pruned. Returns the rows deleted.
   */
  pruneDeliveries(policy: DeliveryRetention): number {
    const cutoff = new Date(this.now().getTime() - policy.maxAgeDays * 86_400_000).toISOString();
    return this.db.transaction(() => {
      let deleted = this.db
        .prepare(
          `DELETE FROM webhook_deliveries WHERE received_at < ? AND processed_at IS NOT NULL`,
        )
        .run(cutoff).changes;
      const { n } = this.db
        .prepare('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE processed_at IS NOT NULL')
        .get() as { n: number };
      if (n > policy.maxRows)
        deleted += this.db
          .prepare(
            `DELETE FROM webhook_deliveries WHERE rowid IN (
               SELECT rowid FROM webhook_deliveries WHERE processed_at IS NOT NULL ORDER BY received_at LIMIT ?)`,
          )
          .run(n - policy.maxRows).changes;
      return deleted;
    })();
  }

  // ---- poll cursors -------------------------------------------------------------------------

  cursor(repo: string): string | null {
    const row = this.db.prepare('SELECT since FROM poll_cursors WHERE repo = ?').get(repo) as
      { since: string } | undefined;
    return row?.since ?? null;
  }

  setCursor(repo: string, since: string): void {
    this.db
      .prepare(
        `INSERT INTO poll_cursors (repo, since, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (repo) DO UPDATE SET since = excluded.since, updated_at = excluded.updated_at`,
      )
      .run(repo, since, this.ts());
  }

  // ---- comments → triggers ------------------------------------------------------------------

  /** Record a comment as handled; false when it was handled before (by either path). */
  markHandled(ev: CommentEvent, outcome: CommentOutcome, source: string): boolean {
    const res = this.db
      .prepare(
        `INSERT OR IGNORE INTO handled_comments (comment_id, comment_updated_at, repo, pr, outcome, source, handled_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(ev.commentId, ev.updatedAt, ev.repo, ev.pr, outcome, source, this.ts());
    return res.changes === 1;
  }

  /**
   * Handle a comment once, whichever path saw it: mark it handled and write its effects, in one
   * transaction. false when it was handled before (nothing is written).
   */
  recordComment(
    ev: CommentEvent,
    outcome: CommentOutcome,
    source: string,
    effects: CommentEffects,
  ): boolean {
    return this.db.transaction(() => {
      if (!this.markHandled(ev, outcome, source)) return false;
      if (effects.trigger) this.insertTrigger(effects.trigger);
      if (effects.reply) this.insertReply(effects.reply);
      return true;
    })();
  }

  /**
   * A webhook delivery carrying a comment: the comment handled as in `recordComment` and the
   * delivery marked with the outcome ('duplicate' when the comment was handled before), in one
   * transaction. Returns the outcome recorded.
   */
  recordDeliveryComment(
    deliveryId: string,
    ev: CommentEvent,
    outcome: CommentOutcome,
    effects: CommentEffects,
  ): CommentOutcome {
    return this.db.transaction(() => {
      const result = this.recordComment(ev, outcome, 'webhook', effects) ? outcome : 'duplicate';
      this.markDelivery(deliveryId, result);
      return result;
    })();
  }

  insertTrigger(t: NewTrigger): number {
    const ts = this.ts();
    const res = this.db
      .prepare(
        `INSERT INTO triggers (idempotency_key, repo, pr, comment_id, commenter, quick, state, reason, source, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        t.key,
        t.repo,
        t.pr,
        t.commentId,
        t.commenter,
        t.quick ? 1 : 0,
        t.state,
        t.reason ?? null,
        t.source,
        ts,
        ts,
      );
    return Number(res.lastInsertRowid);
  }

  insertReply(r: NewReply): void {
    const ts = this.ts();
    this.db
      .prepare(
        `INSERT OR IGNORE INTO replies (repo, pr, in_reply_to, kind, body, state, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`,
      )
      .run(r.repo, r.pr, r.inReplyTo, r.kind, r.body, ts, ts);
  }

  trigger(id: number): TriggerRow | null {
    return (
      (this.db.prepare('SELECT * FROM triggers WHERE id = ?').get(id) as TriggerRow | undefined) ??
      null
    );
  }

  triggerByBuild(build: number): TriggerRow | null {
    return (
      (this.db.prepare('SELECT * FROM triggers WHERE build_number = ?').get(build) as
        TriggerRow | undefined) ?? null
    );
  }

  /** Triggers in a state whose retry time has come, oldest first. */
  due(state: TriggerState, limit = 50): TriggerRow[] {
    return this.db
      .prepare(
        `SELECT * FROM triggers WHERE state = ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?`,
      )
      .all(state, this.ts(), limit) as TriggerRow[];
  }

  countInState(state: TriggerState): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM triggers WHERE state = ?').get(state) as {
        n: number;
      }
    ).n;
  }

  recentTriggers(limit: number): TriggerRow[] {
    return this.db
      .prepare('SELECT * FROM triggers ORDER BY id DESC LIMIT ?')
      .all(limit) as TriggerRow[];
  }

  /** Recent triggers as the status page lists them, newest first. */
  recentTriggerViews(limit: number): TriggerView[] {
    return this.recentTriggers(limit).map((t) => ({
      id: t.id,
      repo: t.repo,
      pr: t.pr,
      commenter: t.commenter,
      state: t.state,
      reason: t.reason,
      buildNumber: t.build_number,
      createdAt: t.created_at,
    }));
  }

  /** Persist a failed attempt and when to try again. */
  retryLater(id: number, error: string, delayMs: number): void {
    this.db
      .prepare(
        `UPDATE triggers SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?`,
      )
      .run(error, new Date(this.now().getTime() + delayMs).toISOString(), this.ts(), id);
  }

  setState(id: number, state: TriggerState, reason: string | null = null): void {
    this.db
      .prepare(
        `UPDATE triggers SET state = ?, reason = COALESCE(?, reason), next_attempt_at = NULL, updated_at = ? WHERE id = ?`,
      )
      .run(state, reason, this.ts(), id);
  }

  /** Not trusted: the trigger ends refused and, when it came from a comment, a reply is owed. One transaction. */
  refuse(id: number, reason: string, reply: NewReply | null): void {
    this.db.transaction(() => {
      this.setState(id, 'refused', reason);
      if (reply) this.insertReply(reply);
    })();
  }

  /** Where a queued trigger stands in the queue: 1 = next to start. */
  queuePosition(id: number): number {
    const ahead = this.db
      .prepare(`SELECT COUNT(*) AS n FROM triggers WHERE state = 'queued' AND id < ?`)
      .get(id) as { n: number };
    return ahead.n + 1;
  }

  /** Trusted: pin the head sha and source, queue it, supersede older waiting triggers of the PR, and point the card at it. */
  queue(t: TriggerRow, headSha: string, src: string): void {
    this.db.transaction(() => {
      const ts = this.ts();
      this.db
        .prepare(
          `UPDATE triggers SET state = 'queued', head_sha = ?, src = ?, next_attempt_at = NULL, last_error = NULL, attempts = 0, updated_at = ? WHERE id = ?`,
        )
        .run(headSha, src, ts, t.id);
      this.db
        .prepare(
          `UPDATE triggers SET state = 'superseded', reason = ?, updated_at = ? WHERE repo = ? AND pr = ? AND id < ? AND state IN ('accepted', 'queued')`,
        )
        .run(`superseded by a newer !testme (trigger ${t.id})`, ts, t.repo, t.pr, t.id);
      this.supersedeShas(t, headSha, ts);
      this.pointCard(t.repo, t.pr, t.id);
    })();
  }

  /**
   * The card moves to trigger `t` on `headSha`: every other sha it showed, or that a trigger
   * superseded just now had pinned, would keep its `pending` status forever, so it gets a final
   * one (outbox, posted by the engine). A final status already waiting for `headSha` is dropped:
   * the new trigger's own status takes that sha over.
   */
  private supersedeShas(t: TriggerRow, headSha: string, ts: string): void {
    const shas = this.db
      .prepare(
        `SELECT id, head_sha FROM triggers WHERE repo = ? AND pr = ? AND id != ? AND head_sha IS NOT NULL AND head_sha != ?
           AND (id = (SELECT trigger_id FROM pr_cards WHERE repo = ? AND pr = ?) OR (state = 'superseded' AND updated_at = ?))
         ORDER BY id DESC`,
      )
      .all(t.repo, t.pr, t.id, headSha, t.repo, t.pr, ts) as Array<{
      id: number;
      head_sha: string;
    }>;
    this.db
      .prepare(`DELETE FROM sha_statuses WHERE repo = ? AND sha = ? AND posted_at IS NULL`)
      .run(t.repo, headSha);
    const seen = new Set<string>();
    const insert = this.db.prepare(
      `INSERT INTO sha_statuses (repo, sha, trigger_id, description, created_at) VALUES (?, ?, ?, ?, ?)`,
    );
    for (const row of shas) {
      if (seen.has(row.head_sha)) continue;
      seen.add(row.head_sha);
      insert.run(
        t.repo,
        row.head_sha,
        row.id,
        `superseded by the !testme on ${headSha.slice(0, 10)}`,
        ts,
      );
    }
  }

  /** Final statuses for superseded shas that are due, oldest first. */
  dueShaStatuses(limit = 50): ShaStatusRow[] {
    return this.db
      .prepare(
        `SELECT * FROM sha_statuses WHERE posted_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?`,
      )
      .all(this.ts(), limit) as ShaStatusRow[];
  }

  shaStatusPosted(id: number): void {
    this.db
      .prepare(`UPDATE sha_statuses SET posted_at = ?, last_error = NULL WHERE id = ?`)
      .run(this.ts(), id);
  }

  shaStatusRetry(id: number, error: string, delayMs: number): void {
    this.db
      .prepare(
        `UPDATE sha_statuses SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?`,
      )
      .run(error, new Date(this.now().getTime() + delayMs).toISOString(), id);
  }

  /** Write-ahead: count a create attempt before the request leaves, so a crash is known to need a look-up. */
  noteCreateAttempt(id: number): void {
    this.db
      .prepare(
        `UPDATE triggers SET create_attempts = create_attempts + 1, updated_at = ? WHERE id = ?`,
      )
      .run(this.ts(), id);
  }

  /** The Drone build exists: record it, create the run row, refresh the card. One transaction. */
  building(
    t: TriggerRow,
    build: { number: number; link: string | null; status: string; recipe: string },
  ): void {
    this.db.transaction(() => {
      const ts = this.ts();
      this.db
        .prepare(
          `UPDATE triggers SET state = 'building', build_number = ?, next_attempt_at = NULL, last_error = NULL, updated_at = ? WHERE id = ?`,
        )
        .run(build.number, ts, t.id);
      // The run may already have ended (recorded once before, e.g. a repeated write): then the
      // trigger is done.
      const status = this.runs.recordStarted(
        {
          runId: String(build.number),
          triggerId: t.id,
          recipe: build.recipe,
          repo: t.repo,
          pr: t.pr,
          headSha: t.head_sha,
          quick: t.quick,
          droneStatus: build.status,
          buildLink: build.link,
        },
        ts,
      );
      if (status === 'finished' || status === 'error') this.runEnded(String(build.number));
      this.bumpCardFor(t.id);
    })();
  }

  // ---- runs (the watcher's view) --------------------------------------------------------------

  unfinishedRuns(): UnfinishedRun[] {
    return this.runs.unfinished();
  }

  /** The run's card shows something new (e.g. the build now waits for approval). */
  bumpRunCard(runId: string): void {
    const triggerId = this.runs.triggerOf(runId);
    if (triggerId) this.bumpCardFor(triggerId);
  }

  /** When the build was first seen blocked/waiting (null: it no longer waits). */
  setDroneWaitingSince(runId: string, since: string | null): void {
    this.runs.setDroneWaitingSince(runId, since);
  }

  hasRun(runId: string): boolean {
    return this.runs.hasRun(runId);
  }

  /** A build the bridge did not start (Drone UI re-run, curl): tracked from its params. */
  insertForeignRun(r: ForeignRun): void {
    this.runs.insertForeign(r);
  }

  updateRunDrone(
    runId: string,
    droneStatus: string,
    status: 'queued' | 'running',
    finishedAt: string | null,
  ): void {
    this.runs.updateDrone(runId, droneStatus, status, finishedAt);
  }

  /** The build ended and no results came: a truthful final state. */
  failRun(runId: string, droneStatus: string, message: string): void {
    this.db.transaction(() => {
      this.runs.fail(runId, droneStatus, message);
      this.runEnded(runId);
    })();
  }

  /** Results arrived (or the run failed): finish its trigger and refresh the card. One transaction. */
  runEnded(runId: string): void {
    this.db.transaction(() => {
      const triggerId = this.runs.triggerOf(runId);
      if (!triggerId) return;
      this.db
        .prepare(
          `UPDATE triggers SET state = 'finished', updated_at = ? WHERE id = ? AND state = 'building'`,
        )
        .run(this.ts(), triggerId);
      this.bumpCardFor(triggerId);
    })();
  }

  /** `buildLink`: the DRONE_BUILD_LINK the plugin reported (Drone's public build page); it wins. */
  setProgress(runId: string, progress: Record<string, string>, buildLink?: string): boolean {
    // The progress and the card bump together, or neither (one transaction, as failRun).
    return this.db.transaction(() => {
      if (!this.runs.setProgress(runId, progress, buildLink)) return false;
      const triggerId = this.runs.triggerOf(runId);
      if (triggerId) this.bumpCardFor(triggerId);
      return true;
    })();
  }

  // ---- PR cards -------------------------------------------------------------------------------

  pointCard(repo: string, pr: number, triggerId: number): void {
    this.db
      .prepare(
        `INSERT INTO pr_cards (repo, pr, trigger_id) VALUES (?, ?, ?)
         ON CONFLICT (repo, pr) DO UPDATE SET trigger_id = excluded.trigger_id, rev = pr_cards.rev + 1, attempts = 0, next_attempt_at = NULL`,
      )
      .run(repo, pr, triggerId);
  }

  /** The card shows this trigger: mark it out of date. (A superseded trigger's card is not touched.) */
  bumpCardFor(triggerId: number): void {
    this.db.prepare(`UPDATE pr_cards SET rev = rev + 1 WHERE trigger_id = ?`).run(triggerId);
  }

  dirtyCards(): CardRow[] {
    return this.db
      .prepare(
        `SELECT * FROM pr_cards WHERE synced_rev < rev AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY repo, pr`,
      )
      .all(this.ts()) as CardRow[];
  }

  card(repo: string, pr: number): CardRow | null {
    return (
      (this.db.prepare('SELECT * FROM pr_cards WHERE repo = ? AND pr = ?').get(repo, pr) as
        CardRow | undefined) ?? null
    );
  }

  setCardComment(repo: string, pr: number, commentId: number | null): void {
    this.db
      .prepare(`UPDATE pr_cards SET comment_id = ? WHERE repo = ? AND pr = ?`)
      .run(commentId, repo, pr);
  }

  cardSynced(repo: string, pr: number, rev: number): void {
    this.db
      .prepare(
        `UPDATE pr_cards SET synced_rev = MAX(synced_rev, ?), last_edit_at = ?, attempts = 0, next_attempt_at = NULL, last_error = NULL WHERE repo = ? AND pr = ?`,
      )
      .run(rev, this.ts(), repo, pr);
  }

  cardRetry(repo: string, pr: number, error: string, delayMs: number): void {
    this.db
      .prepare(
        `UPDATE pr_cards SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE repo = ? AND pr = ?`,
      )
      .run(error, new Date(this.now().getTime() + delayMs).toISOString(), repo, pr);
  }

  // ---- replies --------------------------------------------------------------------------------

  dueReplies(): ReplyRow[] {
    return this.db
      .prepare(
        `SELECT * FROM replies WHERE state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id`,
      )
      .all(this.ts()) as ReplyRow[];
  }

  noteReplyAttempt(id: number): void {
    this.db
      .prepare(`UPDATE replies SET attempts = attempts + 1, updated_at = ? WHERE id = ?`)
      .run(this.ts(), id);
  }

  replyDone(
    id: number,
    state: 'posted' | 'failed',
    commentId: number | null,
    error: string | null,
  ): void {
    this.db
      .prepare(
        `UPDATE replies SET state = ?, posted_comment_id = ?, last_error = ?, updated_at = ? WHERE id = ?`,
      )
      .run(state, commentId, error, this.ts(), id);
  }

  replyRetry(id: number, error: string, delayMs: number): void {
    this.db
      .prepare(
        `UPDATE replies SET last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?`,
      )
      .run(error, new Date(this.now().getTime() + delayMs).toISOString(), this.ts(), id);
  }

  // ---- upstream health ------------------------------------------------------------------------

  contact(upstream: string, ok: boolean, error?: string): void {
    const ts = this.ts();
    if (ok)
      this.db
        .prepare(
          `INSERT INTO upstream_contacts (upstream, last_ok_at) VALUES (?, ?) ON CONFLICT (upstream) DO UPDATE SET last_ok_at = excluded.last_ok_at`,
        )
        .run(upstream, ts);
    else
      this.db
        .prepare(
          `INSERT INTO upstream_contacts (upstream, last_error_at, last_error) VALUES (?, ?, ?) ON CONFLICT (upstream) DO UPDATE SET last_error_at = excluded.last_error_at, last_error = excluded.last_error`,
        )
        .run(upstream, ts, error ?? null);
  }

  contacts(): Array<{
    upstream: string;
    last_ok_at: string | null;
    last_error_at: string | null;
    last_error: string | null;
  }> {
    return this.db.prepare('SELECT * FROM upstream_contacts ORDER BY upstream').all() as Array<{
      upstream: string;
      last_ok_at: string | null;
      last_error_at: string | null;
      last_error: string | null;
    }>;
  }
}
