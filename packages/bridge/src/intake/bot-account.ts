/** The Gitea account the bridge comments as: learnt once, and used to find our own comments. */
import type { GiteaClient } from '../adapters/gitea/gitea-client.js';
import { sameLogin } from '../domain/trust.js';
import type { IntakeStore } from './intake-store.js';
import type { Logger } from './logger.js';

export interface BotAccountDeps {
  readonly gitea: Pick<GiteaClient, 'currentUser' | 'listPullComments'>;
  readonly store: Pick<IntakeStore, 'contact'>;
  readonly log: Pick<Logger, 'info'>;
}

export class BotAccount {
  private known: string | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(private readonly deps: BotAccountDeps) {}

  /** The bot's login; null until `ensure()` succeeded once. */
  get login(): string | null {
    return this.known;
  }

  /** Ask Gitea who we are, unless known; concurrent callers share one request. */
  ensure(): Promise<void> {
    if (this.known !== null) return Promise.resolve();
    this.inFlight ??= (async () => {
      try {
        this.known = await this.deps.gitea.currentUser();
        this.deps.store.contact('gitea', true);
        this.deps.log.info({ bot: this.known }, 'Gitea bot account');
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }

  /** The oldest comment of ours on the PR whose body matches, if any. */
  async findOwnComment(
    repo: string,
    pr: number,
    match: (body: string) => boolean,
  ): Promise<number | null> {
    const comments = await this.deps.gitea.listPullComments(repo, pr);
    const bot = this.known;
    const mine = comments.filter(
      (c) => bot !== null && sameLogin(c.user.login, bot) && match(c.body),
    );
    return mine.length ? Math.min(...mine.map((c) => c.id)) : null;
  }
}
