/**
 * Replies to comments (grammar help, refusals), from the store's outbox. After a failed attempt
 * a reply is posted only after looking for one we may have posted (its hidden marker).
 */
import type { GiteaClient } from '../adapters/gitea/gitea-client.js';
import { UpstreamError } from '../adapters/http/http-client.js';
import type { BotAccount } from './bot-account.js';
import type { IntakeStore } from './intake-store.js';
import type { RetryDelay } from './retry-policy.js';
import type { NoteFailure } from './upstream-failures.js';

export interface RepliesDeps {
  readonly gitea: Pick<GiteaClient, 'createComment'>;
  readonly store: Pick<IntakeStore, 'dueReplies' | 'noteReplyAttempt' | 'replyDone' | 'replyRetry'>;
  readonly bot: Pick<BotAccount, 'findOwnComment'>;
  readonly noteFailure: NoteFailure;
  readonly retryDelay: RetryDelay;
}

export async function postReplies(deps: RepliesDeps): Promise<void> {
  const { store } = deps;
  for (const r of store.dueReplies()) {
    const marker = `<!-- cc-ci:reply:${r.in_reply_to} -->`;
    try {
      if (r.attempts > 0) {
        const found = await deps.bot.findOwnComment(r.repo, r.pr, (b) => b.startsWith(marker));
        if (found !== null) {
          store.replyDone(r.id, 'posted', found, null);
          continue;
        }
      }
      store.noteReplyAttempt(r.id);
      const c = await deps.gitea.createComment(r.repo, r.pr, `${marker}\n${r.body}`);
      store.replyDone(r.id, 'posted', c.id, null);
    } catch (err) {
      deps.noteFailure(err);
      const message = (err as Error).message;
      if (err instanceof UpstreamError && !err.retryable) {
        // 403/404/423: we may not comment there (e.g. an unknown repository). Recorded, visible.
        store.replyDone(r.id, 'failed', null, message);
      } else {
        store.replyRetry(r.id, message, deps.retryDelay(r.attempts));
      }
    }
  }
}
