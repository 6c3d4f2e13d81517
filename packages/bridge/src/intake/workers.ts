/**
 * The intake's composition: each worker built from the engine's options with only what it
 * needs, sharing one clock, one retry policy, one concurrency limit and one bot account.
 */
import type PQueue from 'p-queue';
import { droneBuilds } from '../adapters/drone/translate.js';
import { BotAccount } from './bot-account.js';
import { BuildStarter } from './build-starter.js';
import { BuildWatcher } from './build-watcher.js';
import { CardSync } from './card-sync.js';
import { CommentIntake } from './comment-intake.js';
import { CommentPoller } from './comment-poller.js';
import type { EngineOptions } from './engine-options.js';
import type { RepliesDeps } from './replies.js';
import { retryDelay } from './retry-policy.js';
import { Scheduler, type TickPlan } from './scheduler.js';
import type { SupersededStatusesDeps } from './superseded-statuses.js';
import { TriggerFailures } from './trigger-failures.js';
import { TrustCheck } from './trust-check.js';
import { upstreamFailures } from './upstream-failures.js';

export interface Workers {
  /** The engine's clock, epoch milliseconds. */
  readonly now: () => number;
  readonly bot: BotAccount;
  readonly comments: CommentIntake;
  readonly poller: CommentPoller;
  readonly trust: TrustCheck;
  readonly builds: BuildStarter;
  readonly cards: CardSync;
  /** What the replies and the superseded statuses need. */
  readonly outbox: RepliesDeps & SupersededStatusesDeps;
  readonly watcher: BuildWatcher;
  readonly scheduler: Scheduler;
}

/** `plan`: what the scheduler runs each tick, in order, after the bot-login gate. */
export function composeWorkers(
  opts: EngineOptions,
  queue: PQueue,
  plan: Omit<TickPlan, 'gate'>,
): Workers {
  const clock = opts.now ?? (() => new Date());
  const now = (): number => clock().getTime();
  const { store, runs, gitea, log, repos } = opts;
  const drone = droneBuilds(opts.drone);
  const { triggers } = opts.metrics;
  const noteFailure = upstreamFailures({ upstreamErrors: opts.metrics.upstreamErrors, store });
  const delay = retryDelay({
    baseMs: opts.retryBaseMs ?? 2_000,
    capMs: opts.retryCapMs ?? 300_000,
  });
  const limit = (task: () => Promise<void>) => queue.add(task);
  let scheduler: Scheduler | null = null;
  const bot = new BotAccount({ gitea, store, log });
  const comments = new CommentIntake({ store, triggers, log, repos, botLogin: () => bot.login });
  const poller = new CommentPoller({
    gitea,
    store,
    now,
    repos,
    ingest: (ev) => comments.ingest(ev, 'poll'),
  });
  const failures = new TriggerFailures({
    store,
    triggers,
    log,
    noteFailure,
    retryDelay: delay,
    maxAttempts: opts.maxAttempts ?? 60,
  });
  const trust = new TrustCheck({
    gitea,
    store,
    triggers,
    log,
    failures,
    limit,
    trustedOrgs: opts.trustedOrgs,
    trustedUsers: opts.trustedUsers,
  });
  const builds = new BuildStarter({
    drone,
    store,
    triggers,
    log,
    failures,
    limit,
    runTokens: opts.runTokens ?? null,
    maxConcurrentRuns: opts.maxConcurrentRuns,
    stopping: () => scheduler?.isStopped ?? true,
  });
  const cards = new CardSync({
    gitea,
    store,
    runs,
    bot,
    log,
    noteFailure,
    retryDelay: delay,
    limit,
    now,
    publicUrl: opts.publicUrl,
    progressMinIntervalMs: opts.progressMinIntervalMs ?? 5_000,
  });
  const outbox = {
    gitea,
    store,
    runs,
    bot,
    noteFailure,
    retryDelay: delay,
    publicUrl: opts.publicUrl,
  };
  const watcher = new BuildWatcher({
    drone,
    store,
    log,
    now,
    repos,
    noResultsGraceMs: opts.noResultsGraceMs ?? 30_000,
    blockedTimeoutMs: opts.blockedTimeoutMs ?? 3_600_000,
  });
  const w = { now, bot, comments, poller, trust, builds, cards, outbox, watcher };
  const gate = { name: 'bot-login', run: () => bot.ensure(), open: () => bot.login !== null };
  scheduler = new Scheduler(
    {
      now,
      log,
      noteFailure,
      tickMs: opts.tickMs ?? 1_000,
      pollIntervalMs: opts.pollIntervalMs,
      watchIntervalMs: opts.watchIntervalMs ?? 5_000,
    },
    { gate, ...plan },
  );
  return { ...w, scheduler };
}
