/**
 * The one rule for a link cc-ci shows or stores (card, pages, run rows, progress uploads):
 * absolute http(s), at most 1024 characters, and none of the characters that could break out of
 * an HTML attribute or a Markdown link (issue 18: never a `javascript:` href). Pure.
 */
export const MAX_LINK_LENGTH = 1024;

export function httpLink(u: unknown): string | null {
  return typeof u === 'string' &&
    u.length <= MAX_LINK_LENGTH &&
    /^https?:\/\/[^\s<>()"'`]+$/i.test(u)
    ? u
    : null;
}
