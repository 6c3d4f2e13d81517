/**
 * The intake engine: comments (polled or delivered by webhook) → triggers → Drone builds, and the
 * PR side of every run (the single cc-ci comment, the commit status, replies), plus the Drone
 * build watcher. See docs/intake.md for the state machine.
 *
 * Crash safety: every step reads its work from SQLite and writes its outcome back in one
 * transaction. Network effects are idempotent (edits, statuses, reads) or guarded:
 * - a comment is created only after looking for one we may have created before (hidden marker);
 * - a Drone build is created only after looking for one carrying the same trigger key, whenever
 *   an earlier create attempt may have reached Drone (the attempt is counted before it is sent).
 * So a SIGKILL at any point leaves work that the next process finishes exactly once.
 */
import PQueue from 'p-queue';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs, isRecipeName, type Results, type TierName } from '@cc-ci/harness-core';
import {
  GiteaClient,
  prNumberOf,
  type CommitState,
  type GiteaComment,
} from '../adapters/gitea/gitea-client.js';
import {
  DroneClient,
  DroneConfigError,
  isDone,
  type DroneBuild,
} from '../adapters/drone/drone-client.js';
import { UpstreamError } from '../adapters/http/http-client.js';
import {
  CARD_MARKER,
  renderCard,
  renderGrammarHelp,
  renderRefusal,
  statusDescription,
  type CardRun,
  type CardState,
  type TierProgress,
} from '../domain/card.js';
import { ParamError, buildParams } from '../domain/drone-params.js';
import type { RunTokens } from '../domain/run-token.js';
import { parseTrigger } from '../domain/trigger.js';
import { decideTrust, sameLogin, type Permission } from '../domain/trust.js';
import type { BridgeMetrics } from '../metrics.js';
import type { RunsStore } from '../store/runs-store.js';
import type { CardRow, CommentEvent, IntakeStore, TriggerRow } from './intake-store.js';

export const STATUS_CONTEXT = 'cc-ci/testme';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EngineOptions {
  readonly store: IntakeStore;
  readonly runs: RunsStore;
  readonly gitea: GiteaClient;
  readonly drone: DroneClient;
  /**
   * Derives the CCCI_RUN_TOKEN each build gets (docs/security.md); null or absent: no upload
   * secret is configured and the param is sent empty.
   */
  readonly runTokens?: RunTokens | null;
  readonly metrics: BridgeMetrics;
  readonly log: Logger;
  /** Enrolled recipe repositories, owner/name. */
  readonly repos: readonly string[];
  readonly trustedOrgs: readonly string[];
  readonly trustedUsers: readonly string[];
  readonly maxConcurrentRuns: number;
  readonly publicUrl: string;
  /** 0 = polling off. */
  readonly pollIntervalMs: number;
  readonly tickMs?: number;
  /** Persistent retries of a trigger step: capped exponential backoff with jitter. */
  readonly retryBaseMs?: number;
  readonly retryCapMs?: number;
  readonly maxAttempts?: number;
  /** Build watcher: how often to check builds, and how long a finished build may wait for its results. */
  readonly watchIntervalMs?: number;
  readonly noResultsGraceMs?: number;
  /**
   * How long a build may stay `blocked` (awaiting approval; Drone has no timeout for it) or
   * `waiting_on_dependencies` before its trigger ends with an error and frees its slot.
   */
  readonly blockedTimeoutMs?: number;
  /** Least time between two progress edits of one PR comment. */
  readonly progressMinIntervalMs?: number;
  readonly now?: () => Date;
}

const PAGE = 50;
const DRONE_CURSOR = 'drone-builds';
const MAX_PAGES_PER_POLL = 50;

export class IntakeEngine {
  private readonly o: Required<Omit<EngineOptions, 'now'>> & { now: () => Date };
  private botLogin: string | null = null;
  private stopped = true;
  private wake: (() => void) | null = null;
  private loops: Promise<void>[] = [];
  private readonly lastPollOk = new Map<string, number>();
  private lastWatch = 0;
  private readonly queue = new PQueue({ concurrency: 4 });
  private readonly enrolled: ReadonlySet<string>;

  constructor(opts: EngineOptions) {
    this.o = {
      tickMs: 1_000,
      retryBaseMs: 2_000,
      retryCapMs: 300_000,
      maxAttempts: 60,
      watchIntervalMs: 5_000,
      noResultsGraceMs: 30_000,
      blockedTimeoutMs: 3_600_000,
      progressMinIntervalMs: 5_000,
      runTokens: null,
      now: () => new Date(),
      ...opts,
    };
    this.enrolled = new Set(opts.repos.map((r) => r.toLowerCase()));
    opts.metrics.intake = {
      queueDepth: () => this.o.store.countInState('queued'),
      pollLagSeconds: () => {
        const now = this.nowMs();
        return new Map(
          this.o.repos.map((r) => [
            r,
            Math.round((now - (this.lastPollOk.get(r) ?? this.startedAt)) / 1000),
          ]),
        );
      },
    };
    this.startedAt = this.nowMs();
  }

  private startedAt: number;

  /** The injected clock, in epoch milliseconds: the engine's only source of time. */
  private nowMs(): number {
    return this.o.now().getTime();
  }

  /**
   * The delay before retrying a step that failed `attempts` times before this failure: capped
   * exponential backoff with full jitter (retryBaseMs, retryCapMs), at least 250 ms.
   */
  private retryDelay(attempts: number): number {
    return backoffMs(attempts + 1, {
      baseMs: this.o.retryBaseMs,
      capMs: this.o.retryCapMs,
      minMs: 250,
    });
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /**
   * Record the enrolment time of repositories seen for the first time, synchronously, before any
   * request is served: a comment posted after the bridge first started is never missed, even if
   * the process dies before its first poll.
   */
  enrol(): void {
    for (const repo of this.o.repos) this.cursorOf(repo);
    this.cursorOf(DRONE_CURSOR);
  }

  /**
   * The persisted cursor, or — at first sight of the key — now (whole seconds), recorded. Comments
   * and builds from before the bridge knew a repository are not its work; anything after is, even
   * while the bridge is down.
   */
  private cursorOf(key: string): string {
    const existing = this.o.store.cursor(key);
    if (existing !== null) return existing;
    const since = new Date(Math.floor(this.nowMs() / 1000) * 1000).toISOString();
    this.o.store.setCursor(key, since);
    return since;
  }

  start(): void {
    if (!this.stopped) return;
    this.enrol();
    this.stopped = false;
    this.startedAt = this.nowMs();
    this.loops = [this.workLoop()];
    if (this.o.pollIntervalMs > 0) this.loops.push(this.pollLoop());
  }

  /** Stop taking new work, let the current step finish (its outcome is persisted), resolve. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    await Promise.allSettled(this.loops);
    await this.queue.onIdle();
  }

  /** Wake the worker now (a delivery or an upload arrived). */
  kick(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async pause(ms: number): Promise<void> {
    if (this.stopped) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async workLoop(): Promise<void> {
    while (!this.stopped) {
      await this.tick();
      await this.pause(this.o.tickMs);
    }
  }

  private async pollLoop(): Promise<void> {
    while (!this.stopped) {
      await this.pollAll();
      for (let waited = 0; waited < this.o.pollIntervalMs && !this.stopped; waited += 200)
        await sleep(Math.min(200, this.o.pollIntervalMs - waited));
    }
  }

  /** One pass over all pending work. Public for tests and benchmarks. */
  async tick(): Promise<void> {
    await this.step('bot-login', () => this.ensureBotLogin());
    if (this.botLogin === null) return;
    await this.step('deliveries', () => this.processDeliveries());
    await this.step('accepted', () => this.processAccepted());
    await this.step('queued', () => this.startQueued());
    await this.step('cards', () => this.syncCards());
    await this.step('superseded', () => this.postSupersededStatuses());
    await this.step('replies', () => this.postReplies());
    if (this.nowMs() - this.lastWatch >= this.o.watchIntervalMs) {
      this.lastWatch = this.nowMs();
      await this.step('watch', () => this.watchRuns());
    }
  }

  private async step(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.upstreamError(err);
      this.o.log.warn(
        { step: name, err: (err as Error).message },
        'intake step failed; will retry',
      );
    }
  }

  private upstreamError(err: unknown): void {
    if (!(err instanceof UpstreamError)) return;
    const kind = err.status === null ? 'network' : err.status >= 500 ? 'http_5xx' : 'http_4xx';
    this.o.metrics.upstreamErrors.inc({ upstream: err.upstream, kind });
    this.o.store.contact(err.upstream, false, err.message);
  }

  private loginInFlight: Promise<void> | null = null;

  private ensureBotLogin(): Promise<void> {
    if (this.botLogin !== null) return Promise.resolve();
    this.loginInFlight ??= (async () => {
      try {
        this.botLogin = await this.o.gitea.currentUser();
        this.o.store.contact('gitea', true);
        this.o.log.info({ bot: this.botLogin }, 'Gitea bot account');
      } finally {
        this.loginInFlight = null;
      }
    })();
    return this.loginInFlight;
  }

  // ---- intake: comments ---------------------------------------------------------------------

  isEnrolled(repo: string): boolean {
    return this.enrolled.has(repo.toLowerCase());
  }

  /** Handle one comment exactly once, whichever path saw it. Synchronous: one transaction. */
  ingest(ev: CommentEvent, source: 'poll' | 'webhook'): string {
    if (this.botLogin === null) throw new Error('bot login unknown');
    const parse = parseTrigger(ev.body);
    const enrolled = this.isEnrolled(ev.repo);
    const outcome = sameLogin(ev.login, this.botLogin)
      ? 'own'
      : parse.kind === 'none'
        ? 'ignored'
        : !enrolled
          ? parse.kind === 'run'
            ? 'unknown_repo'
            : 'ignored'
          : parse.kind === 'run'
            ? 'triggered'
            : 'malformed';
    const s = this.o.store;
    return s.db.transaction(() => {
      if (!s.markHandled(ev, outcome, source)) return 'duplicate';
      const trigger = {
        key: `gitea-comment:${ev.commentId}`,
        repo: ev.repo,
        pr: ev.pr,
        commentId: ev.commentId,
        commenter: ev.login,
        source,
      };
      const reply = { repo: ev.repo, pr: ev.pr, inReplyTo: ev.commentId };
      if (outcome === 'triggered' && parse.kind === 'run') {
        s.insertTrigger({ ...trigger, quick: parse.quick, state: 'accepted' });
      } else if (outcome === 'malformed') {
        s.insertReply({ ...reply, kind: 'malformed', body: renderGrammarHelp(ev.body) });
      } else if (outcome === 'unknown_repo') {
        const reason = 'this repository is not enrolled in cc-ci (CCCI_REPOS)';
        s.insertTrigger({ ...trigger, quick: false, state: 'unknown_repo', reason });
        s.insertReply({ ...reply, kind: 'unknown_repo', body: renderRefusal(ev.login, reason) });
      }
      if (outcome !== 'ignored' && outcome !== 'own')
        this.o.metrics.triggers.inc({ outcome: outcome === 'triggered' ? 'accepted' : outcome });
      return outcome;
    })();
  }

  async processDeliveries(): Promise<void> {
    for (const d of this.o.store.pendingDeliveries()) {
      const outcome = this.o.store.db.transaction(() => {
        const ev = deliveryToEvent(d.event_type, d.body);
        const result = typeof ev === 'string' ? ev : this.ingest(ev, 'webhook');
        this.o.store.markDelivery(d.delivery_id, result);
        return result;
      })();
      this.o.log.info({ delivery: d.delivery_id, outcome }, 'webhook delivery handled');
    }
  }

  /** Poll every enrolled repository once. */
  async pollAll(): Promise<void> {
    if (this.botLogin === null) {
      await this.step('bot-login', () => this.ensureBotLogin());
      if (this.botLogin === null) return;
    }
    for (const repo of this.o.repos) {
      if (this.stopped) return;
      await this.step(`poll ${repo}`, () => this.pollRepo(repo));
    }
    this.kick();
  }

  async pollRepo(repo: string): Promise<void> {
    const s = this.o.store;
    const cursor = this.cursorOf(repo);
    let maxUpdated = Date.parse(cursor);
    let complete = false;
    for (let page = 1; page <= MAX_PAGES_PER_POLL; page++) {
      const { comments, total } = await this.o.gitea.listRepoComments(
        repo,
        new Date(cursor),
        page,
        PAGE,
      );
      for (const c of comments) {
        const ev = commentToEvent(repo, c);
        if (ev) this.ingest(ev, 'poll');
        maxUpdated = Math.max(maxUpdated, Date.parse(c.updated_at));
      }
      if (comments.length < PAGE || (total !== null && page * PAGE >= total)) {
        complete = true;
        break;
      }
    }
    // The list is ordered by creation but filtered by update time, so the cursor may only move
    // once the whole window was read. It stays inclusive (whole seconds); ids dedupe the overlap.
    if (complete && maxUpdated > Date.parse(cursor))
      s.setCursor(repo, new Date(maxUpdated).toISOString());
    this.lastPollOk.set(repo, this.nowMs());
    s.contact('gitea', true);
  }

  // ---- triggers -----------------------------------------------------------------------------

  private retryTrigger(t: TriggerRow, err: unknown): void {
    this.upstreamError(err);
    const message = (err as Error).message;
    // A 4xx other than 408/429 (or a request refused before sending) will not change by
    // waiting: fail now instead of retrying for hours (issue 18).
    const permanent = err instanceof UpstreamError && !err.retryable;
    if (permanent || t.attempts + 1 >= this.o.maxAttempts) {
      this.o.store.setState(
        t.id,
        'failed',
        permanent ? message : `gave up after ${t.attempts + 1} attempts: ${message}`,
      );
      this.o.store.bumpCardFor(t.id);
      this.o.metrics.triggers.inc({ outcome: 'failed' });
      this.o.log.error({ trigger: t.id, err: message }, 'trigger failed for good');
      return;
    }
    const delay = this.retryDelay(t.attempts);
    this.o.store.retryLater(t.id, message, delay);
    this.o.log.warn(
      { trigger: t.id, attempt: t.attempts + 1, retryInMs: delay, err: message },
      'trigger step failed; retrying later',
    );
  }

  async processAccepted(): Promise<void> {
    const due = this.o.store.due('accepted');
    await Promise.all(due.map((t) => this.queue.add(() => this.checkTrigger(t))));
  }

  private async checkTrigger(t: TriggerRow): Promise<void> {
    try {
      const pull = await this.o.gitea.getPull(t.repo, t.pr);
      if (!pull) {
        this.o.store.setState(t.id, 'failed', 'the pull request does not exist');
        this.o.metrics.triggers.inc({ outcome: 'failed' });
        return;
      }
      const memberOf: string[] = [];
      let permission: Permission | null = null;
      const listed = this.o.trustedUsers.some((u) => sameLogin(u, t.commenter));
      if (!listed) {
        for (const org of this.o.trustedOrgs) {
          if (await this.o.gitea.isOrgMember(org, t.commenter)) {
            memberOf.push(org);
            break;
          }
        }
        if (memberOf.length === 0) permission = await this.o.gitea.permission(t.repo, t.commenter);
      }
      const decision = decideTrust({
        commenter: t.commenter,
        trustedUsers: this.o.trustedUsers,
        memberOf,
        permission,
        prState: pull.state,
        prMerged: pull.merged,
      });
      if (!decision.ok) {
        const s = this.o.store;
        s.db.transaction(() => {
          s.setState(t.id, 'refused', decision.reason);
          if (t.comment_id !== null)
            s.insertReply({
              repo: t.repo,
              pr: t.pr,
              inReplyTo: t.comment_id,
              kind: 'refused',
              body: renderRefusal(t.commenter, decision.reason),
            });
        })();
        this.o.metrics.triggers.inc({ outcome: 'refused' });
        this.o.log.info(
          {
            trigger: t.id,
            repo: t.repo,
            pr: t.pr,
            commenter: t.commenter,
            reason: decision.reason,
          },
          'trigger refused',
        );
        return;
      }
      // Pinned: the run tests exactly this head. Fork heads are fetched from the base repository
      // (refs/pull/N/head), never from the fork, which its author controls.
      this.o.store.queue(t, pull.head.sha, pull.base.repo.clone_url);
      this.o.log.info(
        { trigger: t.id, repo: t.repo, pr: t.pr, sha: pull.head.sha, via: decision.detail },
        'trigger accepted',
      );
    } catch (err) {
      this.retryTrigger(t, err);
    }
  }

  async startQueued(): Promise<void> {
    const free = this.o.maxConcurrentRuns - this.o.store.countInState('building');
    if (free <= 0) return;
    for (const t of this.o.store.due('queued', free)) {
      if (this.stopped) return;
      await this.queue.add(() => this.startBuild(t));
    }
  }

  private async startBuild(t: TriggerRow): Promise<void> {
    const recipe = t.repo.split('/')[1]!;
    try {
      const params = buildParams({
        recipe,
        pr: t.pr,
        sha: t.head_sha ?? '',
        src: t.src ?? '',
        quick: t.quick === 1,
        triggerKey: t.idempotency_key,
        runToken: this.o.runTokens?.forTrigger(t) ?? null,
      });
      let build: DroneBuild | null = null;
      if (t.create_attempts > 0) build = await this.findBuild(t.idempotency_key, t.created_at);
      if (!build) {
        this.o.store.noteCreateAttempt(t.id);
        build = await this.o.drone.createBuild(params);
      }
      this.o.store.building(t, {
        number: build.number,
        link: this.o.drone.buildLink(build.number),
        status: build.status,
        recipe,
      });
      this.o.store.contact('drone', true);
      this.o.metrics.triggers.inc({ outcome: 'started' });
      this.o.log.info({ trigger: t.id, build: build.number, recipe }, 'Drone build created');
    } catch (err) {
      if (err instanceof DroneConfigError || err instanceof ParamError) {
        this.o.store.setState(t.id, 'failed', err.message);
        this.o.store.bumpCardFor(t.id);
        this.o.metrics.triggers.inc({ outcome: 'failed' });
        this.o.log.error({ trigger: t.id, err: err.message }, 'cannot start a build');
        return;
      }
      this.retryTrigger(t, err);
    }
  }

  /** A build created by an earlier attempt (same trigger key), if Drone has one. */
  private async findBuild(key: string, since: string): Promise<DroneBuild | null> {
    const oldest = Date.parse(since) / 1000 - 300;
    for (let page = 1; page <= 5; page++) {
      const builds = await this.o.drone.listBuilds(page, 100);
      const hit = builds
        .filter((b) => b.params?.CCCI_TRIGGER === key)
        .sort((a, b) => a.number - b.number)[0];
      if (hit) return hit;
      if (builds.length < 100 || builds.some((b) => b.created < oldest)) return null;
    }
    return null;
  }

  // ---- the PR comment and the commit status --------------------------------------------------

  async syncCards(): Promise<void> {
    const cards = this.o.store.dirtyCards();
    await Promise.all(cards.map((c) => this.queue.add(() => this.syncCard(c))));
  }

  /** What the card and status should show for the card's trigger, from the store. */
  cardView(t: TriggerRow): { run: CardRun; state: CardState; sha: string } {
    const runRow = t.build_number !== null ? this.o.runs.getRun(String(t.build_number)) : null;
    const recipe = t.repo.split('/')[1]!;
    const base = this.o.publicUrl.replace(/\/+$/, '');
    const run: CardRun = {
      runId: runRow?.run_id ?? null,
      recipe,
      pr: t.pr,
      headSha: t.head_sha ?? '',
      quick: t.quick === 1,
      requestedBy: t.commenter,
      links: runRow
        ? {
            runUrl: `${base}/runs/${encodeURIComponent(runRow.run_id)}`,
            buildUrl: runRow.build_link,
            badgeUrl: `${base}/badge/${encodeURIComponent(recipe)}.svg`,
          }
        : null,
    };
    let state: CardState;
    if (t.state === 'failed')
      state = { kind: 'error', message: t.reason ?? 'the run could not be started' };
    else if (!runRow) {
      const ahead = this.o.store.db
        .prepare(`SELECT COUNT(*) AS n FROM triggers WHERE state = 'queued' AND id < ?`)
        .get(t.id) as { n: number };
      state = { kind: 'queued', position: ahead.n + 1 };
    } else if (runRow.status === 'finished') {
      const artifacts = this.o.runs.getArtifacts(runRow.run_id);
      state = artifacts
        ? { kind: 'result', results: artifacts.results as Results }
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

  private async syncCard(card: CardRow): Promise<void> {
    const t = this.o.store.trigger(card.trigger_id);
    if (!t || !t.head_sha) return;
    const { run, state, sha } = this.cardView(t);
    if (
      state.kind === 'progress' &&
      card.last_edit_at &&
      this.nowMs() - Date.parse(card.last_edit_at) < this.o.progressMinIntervalMs
    )
      return; // rate-limited: picked up again on a later tick
    const body = renderCard(run, state);
    try {
      let commentId = card.comment_id;
      if (commentId === null) {
        commentId = await this.findOwnComment(t.repo, t.pr, (b) => b.startsWith(CARD_MARKER));
        if (commentId !== null) this.o.store.setCardComment(t.repo, t.pr, commentId);
      }
      if (commentId !== null) {
        const edited = await this.o.gitea.editComment(t.repo, commentId, body);
        if (!edited) {
          this.o.store.setCardComment(t.repo, t.pr, null); // deleted by someone: post a new one
          commentId = null;
        }
      }
      if (commentId === null) {
        const created = await this.o.gitea.createComment(t.repo, t.pr, body);
        this.o.store.setCardComment(t.repo, t.pr, created.id);
      }
      await this.o.gitea.createStatus(t.repo, sha, {
        state: commitState(state),
        target_url:
          run.links?.runUrl ??
          `${this.o.publicUrl.replace(/\/+$/, '')}/recipes/${encodeURIComponent(run.recipe)}`,
        description: statusDescription(state),
        context: STATUS_CONTEXT,
      });
      this.o.store.cardSynced(t.repo, t.pr, card.rev);
      this.o.store.contact('gitea', true);
    } catch (err) {
      this.upstreamError(err);
      const delay = this.retryDelay(card.attempts);
      this.o.store.cardRetry(t.repo, t.pr, (err as Error).message, delay);
      this.o.log.warn(
        { repo: t.repo, pr: t.pr, err: (err as Error).message, retryInMs: delay },
        'PR comment/status update failed; retrying later',
      );
    }
  }

  /** Final statuses for shas a newer !testme on another head sha superseded (never left pending). */
  async postSupersededStatuses(): Promise<void> {
    const base = this.o.publicUrl.replace(/\/+$/, '');
    for (const row of this.o.store.dueShaStatuses()) {
      const t = this.o.store.trigger(row.trigger_id);
      const card = t ? this.o.store.card(t.repo, t.pr) : null;
      const shown = card ? this.o.store.trigger(card.trigger_id) : null;
      if (shown?.head_sha === row.sha) {
        this.o.store.shaStatusPosted(row.id); // the PR's current trigger owns this sha again
        continue;
      }
      const runRow = t?.build_number != null ? this.o.runs.getRun(String(t.build_number)) : null;
      const recipe = row.repo.split('/')[1]!;
      try {
        await this.o.gitea.createStatus(row.repo, row.sha, {
          state: 'error',
          target_url: runRow
            ? `${base}/runs/${encodeURIComponent(runRow.run_id)}`
            : `${base}/recipes/${encodeURIComponent(recipe)}`,
          description: row.description,
          context: STATUS_CONTEXT,
        });
        this.o.store.shaStatusPosted(row.id);
      } catch (err) {
        this.upstreamError(err);
        this.o.store.shaStatusRetry(row.id, (err as Error).message, this.retryDelay(row.attempts));
      }
    }
  }

  private async findOwnComment(
    repo: string,
    pr: number,
    match: (body: string) => boolean,
  ): Promise<number | null> {
    const comments = await this.o.gitea.listPullComments(repo, pr);
    const mine = comments.filter(
      (c) => this.botLogin !== null && sameLogin(c.user.login, this.botLogin) && match(c.body),
    );
    return mine.length ? Math.min(...mine.map((c) => c.id)) : null;
  }

  // ---- replies --------------------------------------------------------------------------------

  async postReplies(): Promise<void> {
    for (const r of this.o.store.dueReplies()) {
      const marker = `<!-- cc-ci:reply:${r.in_reply_to} -->`;
      try {
        if (r.attempts > 0) {
          const found = await this.findOwnComment(r.repo, r.pr, (b) => b.startsWith(marker));
          if (found !== null) {
            this.o.store.replyDone(r.id, 'posted', found, null);
            continue;
          }
        }
        this.o.store.noteReplyAttempt(r.id);
        const c = await this.o.gitea.createComment(r.repo, r.pr, `${marker}\n${r.body}`);
        this.o.store.replyDone(r.id, 'posted', c.id, null);
      } catch (err) {
        this.upstreamError(err);
        const message = (err as Error).message;
        if (err instanceof UpstreamError && !err.retryable) {
          // 403/404/423: we may not comment there (e.g. an unknown repository). Recorded, visible.
          this.o.store.replyDone(r.id, 'failed', null, message);
        } else {
          this.o.store.replyRetry(r.id, message, this.retryDelay(r.attempts));
        }
      }
    }
  }

  // ---- Drone build watcher ----------------------------------------------------------------------

  /** Results arrived for a run (upload route): finish its trigger, refresh its card. */
  resultsArrived(runId: string): void {
    this.o.store.db.transaction(() => this.o.store.runEnded(runId))();
    this.kick();
  }

  async watchRuns(): Promise<void> {
    await this.discoverBuilds();
    for (const r of this.o.store.unfinishedRuns()) {
      const build = await this.o.drone.getBuild(Number(r.run_id));
      if (!build) {
        this.o.store.failRun(r.run_id, 'missing', 'the Drone build no longer exists');
        continue;
      }
      if (build.status === 'declined' || build.status === 'skipped') {
        // Nothing ran and nothing will: no results can come, so no grace period.
        this.o.store.failRun(r.run_id, build.status, endedMessage(build));
        continue;
      }
      if (!isDone(build.status)) {
        const status = build.status === 'running' ? 'running' : 'queued';
        if (status !== r.status || build.status !== r.drone_status)
          this.o.store.updateRunDrone(r.run_id, build.status, status, null);
        if (isWaiting(build.status)) {
          const since = r.drone_waiting_since ?? this.o.now().toISOString();
          if (!r.drone_waiting_since) this.o.store.setDroneWaitingSince(r.run_id, since);
          const waitedMs = this.nowMs() - Date.parse(since);
          if (waitedMs >= this.o.blockedTimeoutMs) {
            this.o.store.failRun(r.run_id, build.status, waitedTooLong(build, waitedMs));
            this.o.log.warn(
              { run: r.run_id, drone: build.status, waitedMs },
              'build waited too long; its slot is freed',
            );
          } else if (!r.drone_waiting_since) this.o.store.bumpRunCard(r.run_id);
        } else if (r.drone_waiting_since) {
          this.o.store.setDroneWaitingSince(r.run_id, null);
          this.o.store.bumpRunCard(r.run_id);
        }
        continue;
      }
      const finishedAt = r.drone_finished_at ?? this.o.now().toISOString();
      if (!r.drone_finished_at)
        this.o.store.updateRunDrone(r.run_id, build.status, 'running', finishedAt);
      if (this.nowMs() - Date.parse(finishedAt) >= this.o.noResultsGraceMs) {
        this.o.store.failRun(r.run_id, build.status, endedMessage(build));
        this.o.log.warn({ run: r.run_id, drone: build.status }, 'build ended without results');
      }
    }
    this.o.store.contact('drone', true);
  }

  /** Builds of the CI repository the bridge did not start (UI re-runs, curl) become runs too. */
  private async discoverBuilds(): Promise<void> {
    const since = this.cursorOf(DRONE_CURSOR);
    // Drone times are whole seconds; a minute of slack keeps builds made just before the first start.
    const sinceS = Math.floor(Date.parse(since) / 1000) - 60;
    const builds = await this.o.drone.listBuilds(1, 25);
    for (const b of builds) {
      if (b.created < sinceS || b.event !== 'custom' || this.o.store.hasRun(String(b.number)))
        continue;
      const recipe = b.params?.RECIPE;
      if (!recipe || !isRecipeName(recipe)) continue;
      const repo = this.o.repos.find((r) => r.split('/')[1]!.toLowerCase() === recipe) ?? null;
      const pr = b.params?.PR && /^\d{1,9}$/.test(b.params.PR) ? Number(b.params.PR) : null;
      this.o.store.insertForeignRun({
        runId: String(b.number),
        recipe,
        repo,
        pr,
        ref: b.params?.REF ?? null,
        quick: b.params?.CCCI_QUICK === '1',
        status: isDone(b.status) || b.status === 'running' ? 'running' : 'queued',
        droneStatus: b.status,
        link: this.o.drone.buildLink(b.number),
        created: new Date(b.created * 1000).toISOString(),
      });
      this.o.log.info(
        { build: b.number, recipe, parent: b.parent },
        'tracking a build the bridge did not start',
      );
    }
  }
}

const isWaiting = (s: string) => s === 'blocked' || s === 'waiting_on_dependencies';

/** Why a Drone build that waits is shown as started but not running. */
export function waitingNote(droneStatus: string | null): string | null {
  if (droneStatus === 'blocked')
    return 'The Drone build is blocked: it waits for a Drone admin to approve it.';
  if (droneStatus === 'waiting_on_dependencies')
    return 'The Drone build is waiting on dependencies (another pipeline of the build).';
  return null;
}

function waitedTooLong(build: DroneBuild, waitedMs: number): string {
  const minutes = Math.round(waitedMs / 60_000);
  const what =
    build.status === 'blocked'
      ? 'was blocked (awaiting approval in Drone)'
      : 'was waiting on dependencies';
  return `the Drone build #${build.number} ${what} for ${minutes} min, longer than CCCI_BLOCKED_TIMEOUT_S; cc-ci stopped waiting and freed its slot. Approve or decline it in Drone, then comment !testme again`;
}

/** The final message of a build that ended without results. */
function endedMessage(build: DroneBuild): string {
  switch (build.status) {
    case 'declined':
      return `the Drone build #${build.number} was declined by a Drone admin; nothing ran`;
    case 'skipped':
      return `the Drone build #${build.number} was skipped by Drone; nothing ran`;
    case 'killed':
      return `the Drone build #${build.number} was cancelled (killed); no results uploaded`;
    default:
      return `no results uploaded (the Drone build ended: ${build.status}${build.error ? `: ${build.error}` : ''})`;
  }
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

export function commentToEvent(repo: string, c: GiteaComment): CommentEvent | null {
  const pr = prNumberOf(c);
  if (pr === null) return null;
  return {
    repo,
    pr,
    commentId: c.id,
    updatedAt: c.updated_at,
    body: c.body ?? '',
    login: c.user?.login ?? '',
  };
}

/** A stored delivery → a comment event, or the reason it is not one. */
export function deliveryToEvent(eventType: string, body: string): CommentEvent | string {
  if (eventType !== 'pull_request_comment') return 'ignored:event';
  let p: {
    action?: unknown;
    is_pull?: unknown;
    issue?: { number?: unknown };
    comment?: { id?: unknown; body?: unknown; updated_at?: unknown; user?: { login?: unknown } };
    repository?: { full_name?: unknown };
  };
  try {
    p = JSON.parse(body) as typeof p;
  } catch {
    return 'invalid';
  }
  // Edits and deletions never trigger: a comment is judged once, as first posted.
  if (p.action !== 'created') return 'ignored:action';
  const repo = p.repository?.full_name;
  const pr = p.issue?.number;
  const id = p.comment?.id;
  const login = p.comment?.user?.login;
  if (
    p.is_pull !== true ||
    typeof repo !== 'string' ||
    !/^[^/\s]+\/[^/\s]+$/.test(repo) ||
    typeof pr !== 'number' ||
    typeof id !== 'number' ||
    typeof login !== 'string'
  )
    return 'invalid';
  return {
    repo,
    pr,
    commentId: id,
    updatedAt: typeof p.comment?.updated_at === 'string' ? p.comment.updated_at : '',
    body: typeof p.comment?.body === 'string' ? p.comment.body : '',
    login,
  };
}
