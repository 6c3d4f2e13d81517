/**
 * The isolation re-run's decisions, pure (docs/isolation.md): whether a finished run is re-run
 * alone, the label the two runs earn, and what differed between them.
 */
import { errorInfo } from '../errors.js';
import {
  RUNG_NAMES,
  type Isolation,
  type IsolationLabel,
  type Results,
  type RungName,
  type RunSummary,
  type TierName,
} from './results.js';

/**
 * off: never. on-failure: every failed run (the sweep, `cc-ci run --isolate-on-failure`).
 * when-shared: a failed run that shared the swarm with another run (the Drone default).
 */
export const ISOLATION_POLICIES = ['off', 'on-failure', 'when-shared'] as const;
export type IsolationPolicy = (typeof ISOLATION_POLICIES)[number];

export type RerunDecision = { readonly rerun: boolean; readonly why: string };

/** The tiers behind each rung (the functional rung is the custom tier). */
const RUNG_TIERS: Record<RungName, readonly TierName[]> = {
  install: ['install'],
  upgrade: ['upgrade'],
  backup_restore: ['backup', 'restore'],
  functional: ['custom'],
  lint: ['lint'],
};

export function rerunDecision(
  results: Results,
  policy: IsolationPolicy,
  recipeAllows: boolean,
): RerunDecision {
  const no = (why: string) => ({ rerun: false, why });
  if (results.verdict === 'pass') return no('the run passed');
  if (policy === 'off') return no('the isolation re-run is off for this run');
  if (!recipeAllows) return no('turned off in cc-ci.yml (isolation_rerun: false)');
  if (results.verdict === 'error') {
    const code = results.error_code;
    if (!code || errorInfo(code).kind !== 'infra')
      return no(`the run ended with ${code ?? 'an error'}, which a re-run alone cannot tell apart`);
  }
  const company = results.concurrent_runs ?? 0;
  if (policy === 'when-shared' && company === 0)
    return no('the run had the swarm to itself, so a re-run alone would repeat it');
  return {
    rerun: true,
    why:
      company > 0
        ? `it failed while ${company} other run(s) deployed on the swarm`
        : 'a re-run after a failure was asked for',
  };
}

/** The lowest rung that failed or could not be verified. */
function failedRung(results: Results): RungName | undefined {
  return RUNG_NAMES.find((r) => ['fail', 'unver'].includes(results.rungs[r].status));
}

export function summarize(results: Results): RunSummary {
  const rung = failedRung(results);
  const tierMs = rung ? rungMs(results, rung) : undefined;
  const code = (rung && results.rungs[rung].code) ?? results.error_code;
  const reason = (rung && results.rungs[rung].reason) ?? results.error;
  return {
    verdict: results.verdict,
    level: results.level,
    ...(rung ? { failed_rung: rung } : {}),
    ...(code ? { code } : {}),
    ...(reason ? { reason } : {}),
    duration_ms: Math.max(0, Date.parse(results.finished) - Date.parse(results.started)),
    ...(tierMs !== undefined ? { failed_tier_ms: tierMs } : {}),
    concurrent_runs: results.concurrent_runs ?? 0,
  };
}

export function labelOf(first: RunSummary, rerun: RunSummary): IsolationLabel {
  if (rerun.verdict === 'pass') return 'flaky';
  return first.failed_rung === rerun.failed_rung && first.code === rerun.code
    ? 'genuine'
    : 'changed';
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Where a run broke, in words: "functional (CUSTOM_FAILED): reason". */
function failure(s: RunSummary): string {
  if (!s.failed_rung) return `passed at level ${s.level}`;
  return `failed at ${s.failed_rung}${s.code ? ` (${s.code})` : ''}${s.reason ? `: ${s.reason}` : ''}`;
}

/** How long the tiers behind a rung took in a run (absent when none of them ran). */
function rungMs(results: Results, rung: RungName): number | undefined {
  const stages = RUNG_TIERS[rung].map((t) => results.stages[t]).filter((st) => st !== undefined);
  return stages.length ? stages.reduce((ms, st) => ms + st.duration_ms, 0) : undefined;
}

/** The load sentence, true to both counts (a re-run should see none; it says so when not). */
function loadOf(first: number, rerun: number): string {
  if (rerun === 0)
    return first > 0
      ? `load: the first run shared the swarm with ${first} other run(s); the re-run had it alone`
      : 'load: neither run shared the swarm, so load does not explain a difference';
  return `load: the first run shared the swarm with ${first} other run(s), the re-run with ${rerun}`;
}

/** What differed between the failed run and its re-run alone: load, timing, the failure. */
export function differences(firstRun: Results, rerunRun: Results): string[] {
  const first = summarize(firstRun);
  const rerun = summarize(rerunRun);
  const out: string[] = [loadOf(first.concurrent_runs, rerun.concurrent_runs)];
  if (first.failed_rung) {
    const before = rungMs(firstRun, first.failed_rung);
    const alone = rungMs(rerunRun, first.failed_rung);
    if (before !== undefined)
      out.push(
        `timing: ${RUNG_TIERS[first.failed_rung].join('+')} took ${secs(before)} in the first run` +
          (alone !== undefined ? ` and ${secs(alone)} alone` : ', and did not run alone'),
      );
  }
  out.push(`the whole run took ${secs(first.duration_ms)}, alone ${secs(rerun.duration_ms)}`);
  out.push(`first run: ${failure(first)}`);
  out.push(`re-run alone: ${failure(rerun)}`);
  return out;
}

/** The isolation block of the final results.json. */
export function isolationOf(firstRun: Results, rerunRun: Results, firstDir: string): Isolation {
  const first = summarize(firstRun);
  const rerun = summarize(rerunRun);
  return {
    label: labelOf(first, rerun),
    first,
    first_dir: firstDir,
    rerun,
    differences: differences(firstRun, rerunRun),
  };
}
