/**
 * Property-based tests (fast-check) of the `!testme` grammar and the replies it leads to
 * (issue 13). Pure: thousands of generated comments in well under a second each.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { renderGrammarHelp, renderRefusal } from './card.js';
import { parseTrigger } from './trigger.js';

const RUNS = { numRuns: 3_000, interruptAfterTimeLimit: 1_500, markInterruptAsFailure: false };
/** What String.prototype.trim removes (JS whitespace and line terminators). */
const space = fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\ufeff');
const spaces = fc.array(space, { maxLength: 4 }).map((a) => a.join(''));
const text = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('--quick', '--QUICK', '-q', '<script>alert(1)</script>', '@admin', '`x`'),
);
const HOSTILE_OUT = /<[a-z!/]|@(?!\u200d)/i;

describe('parseTrigger (fuzz)', () => {
  it('never throws and answers one of run/malformed/none for any text', () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ unit: 'grapheme', maxLength: 200 })), (s) => {
        expect(['run', 'malformed', 'none']).toContain(parseTrigger(s).kind);
      }),
      RUNS,
    );
  });

  it('surrounding whitespace never changes the answer', () => {
    fc.assert(
      fc.property(spaces, text, spaces, (a, s, z) => {
        expect(parseTrigger(a + s + z)).toEqual(parseTrigger(s));
      }),
      RUNS,
    );
  });

  it('runs only for exactly `!testme` or `!testme --quick` (spaces or tabs between)', () => {
    fc.assert(
      fc.property(
        spaces,
        fc.boolean(),
        fc.stringMatching(/^[ \t]{1,4}$/),
        spaces,
        (a, q, gap, z) => {
          const body = `${a}!testme${q ? `${gap}--quick` : ''}${z}`;
          expect(parseTrigger(body)).toEqual({ kind: 'run', quick: q });
        },
      ),
      RUNS,
    );
  });

  it('`!testme` followed by anything else is malformed, never a run', () => {
    fc.assert(
      fc.property(space, text, (sep, rest) => {
        const body = `!testme${sep}${rest}`;
        fc.pre(!/^!testme(?:[ \t]+--quick)?$/.test(body.trim())); // the two valid forms
        expect(parseTrigger(body).kind).toBe('malformed');
      }),
      RUNS,
    );
  });

  it('look-alikes, quotes and mentions in prose are not triggers', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.stringMatching(/^[^\s]$/), text).map(([c, r]) => `!testme${c}${r}`),
          text.map((t) => `> !testme ${t}`),
          fc.tuple(fc.stringMatching(/^\S{1,10}$/), text).map(([w, r]) => `${w} !testme${r}`),
          text.filter((t) => !t.includes('!testme')),
        ),
        (body) => {
          expect(parseTrigger(body).kind).toBe('none');
        },
      ),
      RUNS,
    );
  });

  it('the grammar reply and the refusal escape the comment: no markup, no mention, bounded', () => {
    fc.assert(
      fc.property(text, text, (rest, login) => {
        const help = renderGrammarHelp(`!testme ${rest}`);
        expect(help).not.toMatch(HOSTILE_OUT);
        expect(help).toContain('`!testme --quick`');
        expect(help.length).toBeLessThan(1_000);
        const refusal = renderRefusal(login, `the reason ${rest}`);
        expect(refusal).not.toMatch(HOSTILE_OUT);
      }),
      RUNS,
    );
  });
});
