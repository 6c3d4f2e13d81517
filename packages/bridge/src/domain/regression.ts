/**
 * Regressions (issue 16): a run whose level is below the level the recipe's previous release
 * reached. Pure; the store (store/runs-store.ts) finds the runs, this decides. See docs/card.md
 * and docs/api.md#get-apiregressions.
 *
 * - A run's **release** is the recipe semver of its `results.version`, the part before `+`
 *   (`1.1.0` of `1.1.0+2.4.0`). The upstream part after `+` does not count: two versions that
 *   differ only there are the same release. A version that is not a release tag
 *   (`<x.y.z>+<upstream>`, e.g. a chaos version or null) has no release and is never compared.
 * - A release's **baseline** is its last green run: the newest run (by created_at, then run id)
 *   with verdict `pass` and mode `cold`.
 * - The **previous release** of a run is the newest release older than the run's own (by
 *   harness-core's `compareVersions`) that has a green run.
 * - A run (PR or not) with verdict `pass` or `fail` is a **regression** when its level is below
 *   the previous release's baseline level. None when the level is equal or higher, when no older
 *   release has a green run, or when the run has no release (a run of the same release is never
 *   a baseline). A run with verdict `error` (infrastructure, cancelled) is never one.
 * - The **rung** named is the first rung of the ladder that passed in the baseline and does not
 *   now; null when none can be named (e.g. the baseline's results are missing).
 */
import {
  RUNG_NAMES,
  compareVersions,
  isReleaseTag,
  type RungName,
  type RungStatus,
} from '@cc-ci/harness-core';

/** The release of a version: its semver before `+`; null when it is not a release tag. */
export function releaseOf(version: string | null | undefined): string | null {
  if (!version || !isReleaseTag(version)) return null;
  return version.slice(0, version.indexOf('+'));
}

/** Compare two releases (semver strings as releaseOf returns them). */
export function compareReleases(a: string, b: string): number {
  return compareVersions(`${a}+0`, `${b}+0`);
}

/** A run as the rule sees it. */
export interface JudgedRun {
  readonly runId: string;
  readonly version: string | null;
  readonly verdict: string | null;
  readonly level: number | null;
  /** Its rungs' statuses, when its results are stored. */
  readonly rungs?: Partial<Record<RungName, { readonly status: RungStatus }>> | undefined;
}

/** A release's last green cold run (the candidates the store hands in, one or more per release). */
export interface GreenRun {
  readonly runId: string;
  readonly version: string;
  readonly level: number;
  /** created_at|run_id: the newest key wins within a release. */
  readonly key: string;
}

export interface Regression {
  readonly runId: string;
  readonly level: number;
  readonly version: string;
  readonly previousVersion: string;
  readonly previousLevel: number;
  readonly previousRunId: string;
  /** The first rung that passed in the previous release's green run and does not now. */
  readonly rung: RungName | null;
  /** That rung's status now (fail, unver or skip). */
  readonly rungStatus: RungStatus | null;
}

/** A recipe's current regression: its newest run that counts (verdict pass or fail) is one. */
export interface RecipeRegression extends Regression {
  readonly recipe: string;
}

/** The previous release's last green run for a run of `release`, or null when there is none. */
export function previousGreen(release: string, greens: readonly GreenRun[]): GreenRun | null {
  let best: { release: string; run: GreenRun } | null = null;
  for (const g of greens) {
    const r = releaseOf(g.version);
    if (r === null || compareReleases(r, release) >= 0) continue;
    const c = best ? compareReleases(r, best.release) : 1;
    if (c > 0 || (c === 0 && best && g.key > best.run.key)) best = { release: r, run: g };
  }
  return best?.run ?? null;
}

/** The first rung that passed then and does not now. */
export function firstLostRung(
  then: JudgedRun['rungs'],
  now: JudgedRun['rungs'],
): { rung: RungName; status: RungStatus } | null {
  if (!then || !now) return null;
  for (const rung of RUNG_NAMES) {
    const status = now[rung]?.status;
    if (then[rung]?.status === 'pass' && status !== undefined && status !== 'pass')
      return { rung, status };
  }
  return null;
}

/**
 * Whether `run` is a regression against `greens` (the recipe's green cold runs, any release);
 * `previousRungs` reads a green run's rungs (from its stored results) to name the lost rung.
 */
export function judgeRegression(
  run: JudgedRun,
  greens: readonly GreenRun[],
  previousRungs: (runId: string) => JudgedRun['rungs'],
): Regression | null {
  if (run.verdict !== 'pass' && run.verdict !== 'fail') return null;
  const release = releaseOf(run.version);
  if (release === null || run.level === null || run.version === null) return null;
  const prev = previousGreen(release, greens);
  if (!prev || run.level >= prev.level) return null;
  const lost = firstLostRung(previousRungs(prev.runId), run.rungs);
  return {
    runId: run.runId,
    level: run.level,
    version: run.version,
    previousVersion: prev.version,
    previousLevel: prev.level,
    previousRunId: prev.runId,
    rung: lost?.rung ?? null,
    rungStatus: lost?.status ?? null,
  };
}

/** A rung as the card and the status page name it. */
export const RUNG_LABEL: Record<RungName, string> = {
  install: 'install',
  upgrade: 'upgrade',
  backup_restore: 'backup/restore',
  functional: 'functional',
  lint: 'lint',
};
const NOW: Record<RungStatus, string> = {
  pass: 'passes',
  fail: 'now fails',
  unver: 'is now unverified',
  skip: 'is now skipped',
};

/** "level 3 — the last release reached 5: backup/restore now fails" (plain text). */
export function regressionSentence(r: Regression): string {
  const head = `level ${r.level} — the last release reached ${r.previousLevel}`;
  return r.rung && r.rungStatus ? `${head}: ${RUNG_LABEL[r.rung]} ${NOW[r.rungStatus]}` : head;
}
