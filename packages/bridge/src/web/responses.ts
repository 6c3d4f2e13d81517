/** What the web route groups share: the page headers, the id and file patterns, the page cursor. */
import type { FastifyReply } from 'fastify';
import { TIER_NAMES, isRecipeName } from '@cc-ci/harness-core';

export const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** JUnit uploads are one `<tier>.xml` per tier that ran (docs/results-schema.md). */
export const JUNIT_FILE = new RegExp(`^(?:${TIER_NAMES.join('|')})\\.xml$`);

/** A page cursor as listRuns hands it out: `<created_at>|<run id>`. */
const CURSOR = /^[0-9][0-9T:.+Z-]{9,39}\|[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The `cursor` query parameter: absent, or exactly one well-formed cursor (issue 18: a repeated
 * one gave a 500 and a malformed one silently meant page 1).
 */
export function cursorParam(
  q: unknown,
): { ok: true; cursor: string | undefined } | { ok: false; error: string } {
  if (q === undefined) return { ok: true, cursor: undefined };
  if (typeof q !== 'string') return { ok: false, error: 'give cursor at most once' };
  if (!CURSOR.test(q))
    return {
      ok: false,
      error:
        'cursor is not valid: pass back the next_cursor (or "older runs" link) of an earlier page',
    };
  return { ok: true, cursor: q };
}

/** An HTML page with the status page's content security policy. */
export function html(reply: FastifyReply, body: string, status = 200) {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .send(body);
}

/** The recipe names of the enrolled repositories (the repository name is the recipe name). */
export function enrolledRecipes(repos: readonly string[]): string[] {
  return repos.map((r) => r.split('/')[1]!).filter(isRecipeName);
}
