/**
 * The intake engine: comments (polled or delivered by webhook) → triggers → Drone builds, and the
 * PR side of every run (the single cc-ci comment, the commit status, replies), plus the Drone
 * build watcher. See docs/intake.md for the state machine and docs/bridge-internals.md for the
 * workers this composes.
 *
 * Crash safety: every step reads its work from SQLite and writes its outcome back in one
 * transaction. Network effects are idempotent (edits, statuses, reads) or guarded:
 * - a comment is created only after looking for one we may have created before (hidden marker);
 * - a Drone build is created only after looking for one carrying the same trigger key, whenever
 *   an earlier create attempt may have reached Drone (the attempt is counted before it is sent).
 * So a SIGKILL at any point leaves work that the next process finishes exactly once.
 */
import PQueue from 'p-queue';
import type { IntakeGauges } from '../metrics.js';
import type { CardView } from './card-sync.js';
import type { CommentSource } from './comment-intake.js';
import { DRONE_CURSOR, cursorOf } from './cursors.js';
import type { EngineOptions } from './engine-options.js';
import type { CommentEvent, IntakeStore, TriggerRow } from './intake-store.js';
import { postReplies } from './replies.js';
import { postSupersededStatuses } from './superseded-statuses.js';
import { composeWorkers, type Workers } from './workers.js';

export { STATUS_CONTEXT } from './card-sync.js';
export type { EngineOptions } from './engine-options.js';
export type { Logger } from './logger.js';

export class IntakeEngine {
  /** What the intake gauges read at scrape time (registered by the composition root, app.ts). */
  readonly gauges: IntakeGauges;
  private readonly queue = new PQueue({ concurrency: 4 });
  private readonly store: IntakeStore;
  private readonly repos: readonly string[];
  private readonly w: Workers;

  constructor(opts: EngineOptions) {
    this.store = opts.store;
    this.repos = opts.repos;
    this.w = composeWorkers(opts, this.queue, {
      steps: [
        { name: 'deliveries', run: () => this.processDeliveries() },
        { name: 'accepted', run: () => this.processAccepted() },
        { name: 'queued', run: () => this.startQueued() },
        { name: 'cards', run: () => this.syncCards() },
        { name: 'superseded', run: () => this.postSupersededStatuses() },
        { name: 'replies', run: () => this.postReplies() },
      ],
      watch: { name: 'watch', run: () => this.watchRuns() },
    });
    this.gauges = {
      queueDepth: () => opts.store.countInState('queued'),
      pollLagSeconds: () => this.w.poller.lagSeconds(),
    };
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /**
   * Record the enrolment time of repositories seen for the first time, synchronously, before any
   * request is served: a comment posted after the bridge first started is never missed, even if
   * the process dies before its first poll.
   */
  enrol(): void {
    for (const repo of this.repos) cursorOf(this.store, this.w.now, repo);
    cursorOf(this.store, this.w.now, DRONE_CURSOR);
  }

  start(): void {
    if (!this.w.scheduler.isStopped) return;
    this.enrol();
    this.w.poller.started();
    this.w.scheduler.start(() => this.pollAll());
  }

  /** Stop taking new work, let the current step finish (its outcome is persisted), resolve. */
  async stop(): Promise<void> {
    await this.w.scheduler.stop();
    await this.queue.onIdle();
  }

  /** Wake the worker now (a delivery or an upload arrived). */
  kick(): void {
    this.w.scheduler.kick();
  }

  /** One pass over all pending work. Public for tests and benchmarks. */
  tick(): Promise<void> {
    return this.w.scheduler.tick();
  }

  // ---- the workers, one step each (public for tests and benchmarks) --------------------------

  isEnrolled(repo: string): boolean {
    return this.w.comments.isEnrolled(repo);
  }

  /** Handle one comment exactly once, whichever path saw it. Synchronous: one transaction. */
  ingest(ev: CommentEvent, source: CommentSource): string {
    return this.w.comments.ingest(ev, source);
  }

  async processDeliveries(): Promise<void> {
    this.w.comments.processDeliveries();
  }

  /** Poll every enrolled repository once. */
  async pollAll(): Promise<void> {
    if (!(await this.w.scheduler.openGate())) return;
    for (const repo of this.repos) {
      if (this.w.scheduler.isStopped) return;
      await this.w.scheduler.step(`poll ${repo}`, () => this.pollRepo(repo));
    }
    this.kick();
  }

  pollRepo(repo: string): Promise<void> {
    return this.w.poller.pollRepo(repo);
  }

  processAccepted(): Promise<void> {
    return this.w.trust.processAccepted();
  }

  startQueued(): Promise<void> {
    return this.w.builds.startQueued();
  }

  syncCards(): Promise<void> {
    return this.w.cards.syncCards();
  }

  /** What the card and status should show for the card's trigger, from the store. */
  cardView(t: TriggerRow): CardView {
    return this.w.cards.view(t);
  }

  /** Final statuses for shas a newer !testme on another head sha superseded (never left pending). */
  postSupersededStatuses(): Promise<void> {
    return postSupersededStatuses(this.w.outbox);
  }

  postReplies(): Promise<void> {
    return postReplies(this.w.outbox);
  }

  /** Results arrived for a run (upload route): finish its trigger, refresh its card. */
  resultsArrived(runId: string): void {
    this.store.runEnded(runId);
    this.kick();
  }

  watchRuns(): Promise<void> {
    return this.w.watcher.watchRuns();
  }
}
