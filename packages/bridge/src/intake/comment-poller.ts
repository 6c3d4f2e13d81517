/** The comment poll: each enrolled repository's comments since its cursor, read page by page. */
import type { GiteaClient } from '../adapters/gitea/gitea-client.js';
import { commentToEvent } from '../adapters/gitea/translate.js';
import type { CommentEvent, IntakeStore } from './intake-store.js';
import { cursorOf } from './cursors.js';

const PAGE = 50;
const MAX_PAGES_PER_POLL = 50;

export interface CommentPollerDeps {
  readonly gitea: Pick<GiteaClient, 'listRepoComments'>;
  readonly store: Pick<IntakeStore, 'cursor' | 'setCursor' | 'contact'>;
  readonly ingest: (ev: CommentEvent) => void;
  readonly now: () => number;
  readonly repos: readonly string[];
}

export class CommentPoller {
  private readonly lastPollOk = new Map<string, number>();
  private startedAt: number;

  constructor(private readonly deps: CommentPollerDeps) {
    this.startedAt = deps.now();
  }

  /** Poll lag counts from here for a repository not polled yet (the engine started). */
  started(): void {
    this.startedAt = this.deps.now();
  }

  /** Seconds since the last successful poll, per enrolled repository. */
  lagSeconds(): ReadonlyMap<string, number> {
    const now = this.deps.now();
    return new Map(
      this.deps.repos.map((r) => [
        r,
        Math.round((now - (this.lastPollOk.get(r) ?? this.startedAt)) / 1000),
      ]),
    );
  }

  async pollRepo(repo: string): Promise<void> {
    const { gitea, store, now } = this.deps;
    const cursor = cursorOf(store, now, repo);
    let maxUpdated = Date.parse(cursor);
    let complete = false;
    for (let page = 1; page <= MAX_PAGES_PER_POLL; page++) {
      const { comments, total } = await gitea.listRepoComments(repo, new Date(cursor), page, PAGE);
      for (const c of comments) {
        const ev = commentToEvent(repo, c);
        if (ev) this.deps.ingest(ev);
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
      store.setCursor(repo, new Date(maxUpdated).toISOString());
    this.lastPollOk.set(repo, now());
    store.contact('gitea', true);
  }
}
