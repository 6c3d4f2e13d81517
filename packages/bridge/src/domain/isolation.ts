/**
 * The isolation re-run in words: when a run failed, cc-ci re-ran it alone on the swarm and
 * results.json says how that went (`isolation`: its label, both runs told briefly, what
 * differed). Pure; see docs/card.md#an-isolation-re-run and docs/status-page.md.
 *
 * The sentences are our words, rung names, error codes and counts, taken from the two runs'
 * summaries only: "alone" is said of a run only when it saw no other cc-ci run on the swarm
 * (`concurrent_runs` 0), and "the same rung with the same code" only when both summaries agree.
 * The `differences` are the harness's sentences, untrusted: callers escape them.
 */
import type { Isolation, IsolationLabel, RunSummary } from '@cc-ci/harness-core';
import { RUNG_LABEL } from './regression.js';

/** How many of a recipe's newest runs "Flaky recently" looks at. */
export const FLAKY_WINDOW = 10;

/** A recipe with a `flaky` label among its last FLAKY_WINDOW runs (the store counts them). */
export interface FlakyRecipe {
  readonly recipe: string;
  /** Runs labelled flaky among them. */
  readonly flaky: number;
  /** How many runs were looked at: FLAKY_WINDOW, or fewer when the recipe has fewer. */
  readonly runs: number;
}

/** What each label means, for a tooltip (the definitions of results.ts). */
export const ISOLATION_MEANING: Record<IsolationLabel, string> = {
  genuine:
    'The run failed, and failed again when re-run alone on the swarm, at the same rung with the same code.',
  flaky:
    'The run failed, then passed when re-run alone on the swarm; its verdict is the re-run’s. What differed is what to stabilise.',
  changed: 'The run failed, and failed differently when re-run alone on the swarm.',
};

const VERB: Record<RunSummary['verdict'], string> = {
  pass: 'passed',
  fail: 'failed',
  error: 'ended in an error',
};

/** "alone", or "with 2 other runs on the swarm". */
export function company(concurrentRuns: number): string {
  if (concurrentRuns === 0) return 'alone';
  return `with ${concurrentRuns} other run${concurrentRuns === 1 ? '' : 's'} on the swarm`;
}

/** "failed at functional (TESTS_FAILED)", "passed", "ended in an error (DOCKER_FAILED)". */
export function outcome(s: RunSummary): string {
  if (s.verdict === 'pass') return VERB.pass;
  const at = s.failed_rung ? ` at ${RUNG_LABEL[s.failed_rung]}` : '';
  return `${VERB[s.verdict]}${at}${s.code ? ` (${s.code})` : ''}`;
}

const told = (s: RunSummary) => `${outcome(s)} ${company(s.concurrent_runs)}`;

/**
 * "flaky — failed at functional (TESTS_FAILED) with 1 other run on the swarm, passed alone"
 * (plain text). A label its summaries do not bear out (a flaky re-run that did not pass, a
 * genuine one elsewhere) is told as "first …, then …", which always holds.
 */
export function isolationSentence(i: Isolation): string {
  const { first, rerun } = i;
  const sameFailure =
    first.verdict !== 'pass' &&
    rerun.verdict !== 'pass' &&
    first.failed_rung !== undefined &&
    first.failed_rung === rerun.failed_rung &&
    first.code === rerun.code;
  if (i.label === 'flaky' && first.verdict !== 'pass' && rerun.verdict === 'pass')
    return `flaky — ${told(first)}, ${told(rerun)}`;
  if (i.label === 'genuine' && sameFailure)
    return `genuine — ${told(first)}, and ${VERB[rerun.verdict]} again ${company(rerun.concurrent_runs)} at the same rung with the same code`;
  return `${i.label} — first ${told(first)}, then ${told(rerun)}`;
}
