/** Gitea's wire shapes → the intake's own types, at the edge. */
import type { CommentEvent } from '../../intake/intake-store.js';
import { prNumberOf, type GiteaComment } from './gitea-client.js';

/** A polled comment → a comment event; null when it is not on a pull request. */
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
