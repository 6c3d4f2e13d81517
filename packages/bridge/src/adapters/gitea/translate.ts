/** Gitea's wire shapes → the intake's own types, at the edge. */
import { z } from 'zod';
import { isGiteaLogin, isRepoFullName } from '../../domain/gitea-names.js';
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

/** Longest comment body kept for a trigger candidate; Gitea's own comments are far shorter. */
export const MAX_COMMENT_BODY = 65_536;
/** Longest `comment.updated_at` kept; a longer one is kept as ''. */
const MAX_UPDATED_AT = 64;

/** Why a field refuses the delivery (400 from the webhook route). */
const REFUSAL = {
  'comment.body': `comment.body is longer than ${MAX_COMMENT_BODY} characters`,
  'repository.full_name':
    'repository.full_name is not owner/name in Gitea’s name charset [A-Za-z0-9_.-]',
  'comment.user.login': 'comment.user.login is not a Gitea user name',
  'issue.number': 'issue.number is not a pull request number',
  'comment.id': 'comment.id is not a comment id',
} as const;
/** Refusals are reported in this order: the first field that fails is named. */
const REFUSAL_ORDER: readonly string[] = Object.keys(REFUSAL);
/** What a delivery that cannot be a trigger is recorded as; checked before any refusal, in this order. */
const DROPS = ['ignored:action', 'ignored:issue', 'ignored:body'] as const;
type Drop = (typeof DROPS)[number];

/** A field that must hold for the delivery to be a trigger candidate; else it is dropped as `drop`. */
const unless = <T>(ok: (v: unknown) => boolean, drop: Drop) =>
  z.custom<T>(ok, { params: { drop }, abort: true });
/** A field that must hold once the delivery is a candidate; else the delivery is refused. */
const refuse = <T>(ok: (v: unknown) => boolean, field: keyof typeof REFUSAL) =>
  z.custom<T>(ok, { error: REFUSAL[field] });
/** Read a part of the payload as an object (`{}` when it is missing or not an object). */
const part = <S extends z.ZodRawShape>(shape: S) =>
  z.preprocess(
    (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}),
    z.object(shape),
  );

const isTestme = (v: unknown) => typeof v === 'string' && v.trimStart().startsWith('!testme');
const isPrNumber = (v: unknown) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 2 ** 31;
const isCommentId = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;

/**
 * The fields intake reads from Gitea's `pull_request_comment` delivery (api.IssueCommentPayload):
 * a newly created comment on a pull request whose body starts with `!testme`, every name and
 * number bounded and path-safe (issue 18). Everything else in the payload is ignored.
 */
export const CommentDeliverySchema = part({
  // Edits and deletions never trigger: a comment is judged once, as first posted.
  action: unless<'created'>((v) => v === 'created', 'ignored:action'),
  is_pull: unless<true>((v) => v === true, 'ignored:issue'),
  issue: part({ number: refuse<number>(isPrNumber, 'issue.number') }),
  comment: part({
    id: refuse<number>(isCommentId, 'comment.id'),
    body: unless<string>(isTestme, 'ignored:body').refine((s) => s.length <= MAX_COMMENT_BODY, {
      error: REFUSAL['comment.body'],
    }),
    updated_at: z.string().max(MAX_UPDATED_AT).catch(''),
    user: part({ login: refuse<string>(isGiteaLogin, 'comment.user.login') }),
  }),
  repository: part({ full_name: refuse<string>(isRepoFullName, 'repository.full_name') }),
});

/** A delivery read: a comment that may be a trigger, one to record without its body, or one to refuse. */
export type CommentDelivery =
  | { readonly kind: 'comment'; readonly event: CommentEvent }
  | { readonly kind: 'drop'; readonly outcome: Drop }
  | { readonly kind: 'invalid'; readonly reason: string };

/** A parsed `pull_request_comment` payload → a comment event, or why it is not one. */
export function readCommentDelivery(payload: unknown): CommentDelivery {
  const res = CommentDeliverySchema.safeParse(payload);
  if (res.success) {
    const { issue, comment, repository } = res.data;
    return {
      kind: 'comment',
      event: {
        repo: repository.full_name,
        pr: issue.number,
        commentId: comment.id,
        updatedAt: comment.updated_at,
        body: comment.body,
        login: comment.user.login,
      },
    };
  }
  const drops = res.error.issues.map((i) => (i.code === 'custom' ? i.params?.['drop'] : undefined));
  const drop = DROPS.find((d) => drops.includes(d));
  if (drop) return { kind: 'drop', outcome: drop };
  const rank = (path: readonly PropertyKey[]) => {
    const at = REFUSAL_ORDER.indexOf(path.join('.'));
    return at < 0 ? REFUSAL_ORDER.length : at;
  };
  const first = [...res.error.issues].sort((a, b) => rank(a.path) - rank(b.path))[0]!;
  return { kind: 'invalid', reason: first.message };
}

/** The slim projection of a candidate stored until it is handled: only the fields intake reads. */
export function slimDelivery(ev: CommentEvent): string {
  return JSON.stringify({
    action: 'created',
    is_pull: true,
    issue: { number: ev.pr },
    comment: {
      id: ev.commentId,
      body: ev.body,
      updated_at: ev.updatedAt,
      user: { login: ev.login },
    },
    repository: { full_name: ev.repo },
  });
}

/**
 * A stored delivery → a comment event, or the outcome it is recorded with. Stored bodies are the
 * slim projections of candidates, read through the same schema.
 */
export function deliveryToEvent(eventType: string, body: string): CommentEvent | string {
  if (eventType !== 'pull_request_comment') return 'ignored:event';
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return 'invalid';
  }
  const read = readCommentDelivery(payload);
  if (read.kind === 'comment') return read.event;
  return read.kind === 'drop' ? read.outcome : 'invalid';
}
