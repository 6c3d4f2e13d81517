/**
 * Comments → triggers and replies, exactly once whichever path (poll or webhook) saw a comment.
 * Each comment is judged in one store transaction.
 */
import { deliveryToEvent } from '../adapters/gitea/translate.js';
import { renderGrammarHelp, renderRefusal } from '../domain/card.js';
import { parseTrigger } from '../domain/trigger.js';
import { sameLogin } from '../domain/trust.js';
import type { BridgeMetrics } from '../metrics.js';
import type { CommentEffects, CommentEvent, CommentOutcome, IntakeStore } from './intake-store.js';
import type { Logger } from './logger.js';

export type CommentSource = 'poll' | 'webhook';

export interface CommentIntakeDeps {
  readonly store: Pick<
    IntakeStore,
    'recordComment' | 'recordDeliveryComment' | 'pendingDeliveries' | 'markDelivery'
  >;
  readonly triggers: BridgeMetrics['triggers'];
  readonly log: Pick<Logger, 'info'>;
  /** Enrolled recipe repositories, owner/name. */
  readonly repos: readonly string[];
  /** The bot's login; null while unknown (then no comment can be judged). */
  readonly botLogin: () => string | null;
}

export interface CommentPlan {
  readonly outcome: Exclude<CommentOutcome, 'duplicate'>;
  readonly effects: CommentEffects;
}

const UNKNOWN_REPO = 'this repository is not enrolled in cc-ci (CCCI_REPOS)';

export class CommentIntake {
  private readonly enrolled: ReadonlySet<string>;

  constructor(private readonly deps: CommentIntakeDeps) {
    this.enrolled = new Set(deps.repos.map((r) => r.toLowerCase()));
  }

  isEnrolled(repo: string): boolean {
    return this.enrolled.has(repo.toLowerCase());
  }

  /** What a comment means and what handling it writes. Throws while the bot login is unknown. */
  plan(ev: CommentEvent, source: CommentSource): CommentPlan {
    const bot = this.deps.botLogin();
    if (bot === null) throw new Error('bot login unknown');
    const parse = parseTrigger(ev.body);
    const enrolled = this.isEnrolled(ev.repo);
    const outcome = sameLogin(ev.login, bot)
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
    const trigger = {
      key: `gitea-comment:${ev.commentId}`,
      repo: ev.repo,
      pr: ev.pr,
      commentId: ev.commentId,
      commenter: ev.login,
      source,
    };
    const reply = { repo: ev.repo, pr: ev.pr, inReplyTo: ev.commentId };
    if (outcome === 'triggered' && parse.kind === 'run')
      return {
        outcome,
        effects: { trigger: { ...trigger, quick: parse.quick, state: 'accepted' }, reply: null },
      };
    if (outcome === 'malformed')
      return {
        outcome,
        effects: {
          trigger: null,
          reply: { ...reply, kind: 'malformed', body: renderGrammarHelp(ev.body) },
        },
      };
    if (outcome === 'unknown_repo')
      return {
        outcome,
        effects: {
          trigger: { ...trigger, quick: false, state: 'unknown_repo', reason: UNKNOWN_REPO },
          reply: { ...reply, kind: 'unknown_repo', body: renderRefusal(ev.login, UNKNOWN_REPO) },
        },
      };
    return { outcome, effects: { trigger: null, reply: null } };
  }

  /** Handle one comment exactly once, whichever path saw it. Synchronous: one transaction. */
  ingest(ev: CommentEvent, source: CommentSource): CommentOutcome {
    const plan = this.plan(ev, source);
    if (!this.deps.store.recordComment(ev, plan.outcome, source, plan.effects)) return 'duplicate';
    this.count(plan.outcome);
    return plan.outcome;
  }

  /** Handle every stored webhook delivery, each in one transaction with its comment. */
  processDeliveries(): void {
    const { store, log } = this.deps;
    for (const d of store.pendingDeliveries()) {
      const ev = deliveryToEvent(d.event_type, d.body);
      let outcome: string;
      if (typeof ev === 'string') {
        store.markDelivery(d.delivery_id, ev);
        outcome = ev;
      } else {
        const plan = this.plan(ev, 'webhook');
        outcome = store.recordDeliveryComment(d.delivery_id, ev, plan.outcome, plan.effects);
        if (outcome !== 'duplicate') this.count(plan.outcome);
      }
      log.info({ delivery: d.delivery_id, outcome }, 'webhook delivery handled');
    }
  }

  private count(outcome: CommentPlan['outcome']): void {
    if (outcome !== 'ignored' && outcome !== 'own')
      this.deps.triggers.inc({ outcome: outcome === 'triggered' ? 'accepted' : outcome });
  }
}
