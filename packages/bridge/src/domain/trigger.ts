/**
 * The `!testme` trigger grammar (docs/security.md, DESIGN "PR conversation"). Pure.
 *
 * A comment triggers when its whole trimmed body is `!testme` or `!testme --quick`. A body that
 * starts with the word `!testme` followed by anything else is malformed: it gets one reply that
 * explains the valid forms, never a run. Everything else — including look-alikes such as
 * `!testmexyz`, quotes (`> !testme`) and mentions inside prose — is not a trigger at all.
 */
export type TriggerParse =
  | { readonly kind: 'run'; readonly quick: boolean }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'none' };

const VALID = /^!testme(?:[ \t]+(--quick))?$/;
const WORD = /^!testme(?:\s|$)/;

export function parseTrigger(body: string): TriggerParse {
  const text = body.trim();
  const m = VALID.exec(text);
  if (m) return { kind: 'run', quick: m[1] === '--quick' };
  if (WORD.test(text)) return { kind: 'malformed' };
  return { kind: 'none' };
}

/** The valid forms, for replies and docs. */
export const TRIGGER_FORMS = ['!testme', '!testme --quick'] as const;
