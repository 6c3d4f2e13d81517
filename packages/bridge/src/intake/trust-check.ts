/**
 * The trust check of an accepted trigger: the pull request exists and is open, and the commenter
 * is trusted (listed, a member of a trusted org, or a collaborator with write). Trusted triggers
 * are queued pinned to the PR's head; the others are refused with a reply.
 */
import type { GiteaClient } from '../adapters/gitea/gitea-client.js';
import { renderRefusal } from '../domain/card.js';
import { decideTrust, sameLogin, type Permission } from '../domain/trust.js';
import type { BridgeMetrics } from '../metrics.js';
import type { IntakeStore, TriggerRow } from './intake-store.js';
import type { Limit, Logger } from './logger.js';
import type { TriggerFailures } from './trigger-failures.js';

export interface TrustCheckDeps {
  readonly gitea: Pick<GiteaClient, 'getPull' | 'isOrgMember' | 'permission'>;
  readonly store: Pick<IntakeStore, 'due' | 'setState' | 'refuse' | 'queue'>;
  readonly triggers: BridgeMetrics['triggers'];
  readonly log: Pick<Logger, 'info'>;
  readonly failures: Pick<TriggerFailures, 'retry'>;
  readonly limit: Limit;
  readonly trustedOrgs: readonly string[];
  readonly trustedUsers: readonly string[];
}

export class TrustCheck {
  constructor(private readonly deps: TrustCheckDeps) {}

  /** Check every accepted trigger that is due. */
  async processAccepted(): Promise<void> {
    const due = this.deps.store.due('accepted');
    await Promise.all(due.map((t) => this.deps.limit(() => this.check(t))));
  }

  private async check(t: TriggerRow): Promise<void> {
    const { gitea, store, triggers, log } = this.deps;
    try {
      const pull = await gitea.getPull(t.repo, t.pr);
      if (!pull) {
        store.setState(t.id, 'failed', 'the pull request does not exist');
        triggers.inc({ outcome: 'failed' });
        return;
      }
      const { memberOf, permission } = await this.standing(t);
      const decision = decideTrust({
        commenter: t.commenter,
        trustedUsers: this.deps.trustedUsers,
        memberOf,
        permission,
        prState: pull.state,
        prMerged: pull.merged,
      });
      if (!decision.ok) {
        this.refuse(t, decision.reason);
        return;
      }
      // Pinned: the run tests exactly this head. Fork heads are fetched from the base repository
      // (refs/pull/N/head), never from the fork, which its author controls.
      store.queue(t, pull.head.sha, pull.base.repo.clone_url);
      log.info(
        { trigger: t.id, repo: t.repo, pr: t.pr, sha: pull.head.sha, via: decision.detail },
        'trigger accepted',
      );
    } catch (err) {
      this.deps.failures.retry(t, err);
    }
  }

  /** The commenter's standing: asked of Gitea only as far as needed (listed users need nothing). */
  private async standing(
    t: TriggerRow,
  ): Promise<{ memberOf: string[]; permission: Permission | null }> {
    const memberOf: string[] = [];
    let permission: Permission | null = null;
    if (this.deps.trustedUsers.some((u) => sameLogin(u, t.commenter)))
      return { memberOf, permission };
    for (const org of this.deps.trustedOrgs) {
      if (await this.deps.gitea.isOrgMember(org, t.commenter)) {
        memberOf.push(org);
        break;
      }
    }
    if (memberOf.length === 0) permission = await this.deps.gitea.permission(t.repo, t.commenter);
    return { memberOf, permission };
  }

  private refuse(t: TriggerRow, reason: string): void {
    const reply =
      t.comment_id === null
        ? null
        : {
            repo: t.repo,
            pr: t.pr,
            inReplyTo: t.comment_id,
            kind: 'refused',
            body: renderRefusal(t.commenter, reason),
          };
    this.deps.store.refuse(t.id, reason, reply);
    this.deps.triggers.inc({ outcome: 'refused' });
    this.deps.log.info(
      { trigger: t.id, repo: t.repo, pr: t.pr, commenter: t.commenter, reason },
      'trigger refused',
    );
  }
}
