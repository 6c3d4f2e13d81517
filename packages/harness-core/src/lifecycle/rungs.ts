/**
 * The lifecycle's rules as pure functions: how an error becomes a stage, which tier may run
 * after which, and how stages become the level ladder's rungs (docs/domain.md, "The level
 * ladder"). Table-tested in rungs.test.ts; the lifecycle only applies them.
 */
import {
  CcciError,
  InputError,
  RecipeError,
  codeOf,
  errorMessage,
  type ErrorCode,
} from '../errors.js';
import type { Rungs } from '../domain/level.js';
import type { Rung, Stage, TestRow, TierName } from '../domain/results.js';

export type Stages = Partial<Record<TierName, Stage>>;

export interface StageExtra {
  readonly reason?: string | undefined;
  /** Why a stage failed or is unverified (a row of ERROR_CODES); never set on pass or skip. */
  readonly code?: ErrorCode | undefined;
  readonly retried?: boolean | undefined;
}

export function stageOf(
  status: Stage['status'],
  durationMs: number,
  tests: readonly TestRow[],
  extra: StageExtra = {},
): Stage {
  const { reason, code, retried } = extra;
  return {
    status,
    ...(reason ? { reason } : {}),
    ...(code && (status === 'fail' || status === 'unver') ? { code } : {}),
    duration_ms: Math.max(0, Math.round(durationMs)),
    ...(retried ? { retried: true } : {}),
    tests: [...tests],
  };
}

export interface Classified {
  readonly status: 'fail' | 'unver';
  readonly reason: string;
  readonly code: ErrorCode;
}

/** The recipe's fault (or bad input) fails the tier; anything else leaves it unverified. */
export function classify(err: unknown): Classified {
  const code = codeOf(err);
  if (err instanceof RecipeError || err instanceof InputError)
    return { status: 'fail', reason: err.message, code };
  if (err instanceof CcciError) return { status: 'unver', reason: err.message, code };
  return { status: 'unver', reason: `internal error: ${errorMessage(err)}`, code };
}

/**
 * The code of a tier outcome that failed its checks without throwing (a failing row, not an
 * exception): what the tier proves, named per tier.
 */
export const CHECK_FAILED: Readonly<Record<TierName, ErrorCode>> = {
  install: 'HTTP_FAILED',
  upgrade: 'UPGRADE_FAILED',
  backup: 'BACKUP_FAILED',
  restore: 'RESTORE_FAILED',
  custom: 'TESTS_FAILED',
  lint: 'LINT_FAILED',
};

/** Why a tier does not run at all: not requested, or skipped on purpose by the recipe's config. */
export function skipReason(
  tier: TierName,
  requested: ReadonlySet<TierName>,
  configSkip: Readonly<Partial<Record<TierName, string>>>,
  recipe: string,
): string | null {
  if (!requested.has(tier)) return 'not requested';
  const declared = configSkip[tier];
  return declared ? `skipped by recipes/${recipe}/cc-ci.yml: ${declared}` : null;
}

/**
 * The stage a tier after install gets without running, or null when it may run: skipped ones
 * stay skipped, nothing but lint runs without a passing install, and a restore needs this run's
 * backup to have passed.
 */
export function gateTier(
  tier: 'backup' | 'restore' | 'custom' | 'lint',
  input: { readonly skip: string | null; readonly implemented: boolean; readonly stages: Stages },
): Stage | null {
  const { stages } = input;
  if (input.skip) return stageOf('skip', 0, [], { reason: input.skip });
  if (!input.implemented)
    return stageOf('unver', 0, [], { reason: 'tier not implemented', code: 'INTERNAL' });
  if (tier !== 'lint' && stages.install?.status !== 'pass')
    return stageOf('unver', 0, [], {
      reason: 'the app is not running (install did not pass)',
      code: 'NOT_RUN',
    });
  if (tier === 'restore' && stages.backup?.status !== 'pass')
    return stages.backup?.status === 'skip'
      ? stageOf('skip', 0, [], { reason: stages.backup.reason ?? 'backup skipped' })
      : stageOf('unver', 0, [], {
          reason: 'no backup to restore (backup did not pass)',
          code: 'NOT_RUN',
        });
  return null;
}

/** One upgrade path's outcome: its base and the stage the upgrade tier gave it. */
export interface UpgradePath {
  readonly base_version: string;
  readonly stage: Stage;
}

/**
 * The upgrade stage of all paths: one path is its own stage; with several, every row is named
 * by its path ("from 0.1.0+1.0: …"), the stage passes only when every path passed, fails when
 * any failed (else is unverified), and its reason and code are the first such path's.
 */
export function combinePaths(paths: readonly UpgradePath[], durationMs: number): Stage {
  if (paths.length === 1) return { ...paths[0]!.stage, duration_ms: Math.round(durationMs) };
  const tests = paths.flatMap((p) =>
    p.stage.tests.map((t) => ({ ...t, name: `from ${p.base_version}: ${t.name}` })),
  );
  const worst =
    paths.find((p) => p.stage.status === 'fail') ??
    paths.find((p) => p.stage.status === 'unver') ??
    null;
  const notPassed = paths.filter((p) => p.stage.status !== 'pass');
  const reason = notPassed
    .map((p) => `from ${p.base_version}: ${p.stage.reason ?? p.stage.status}`)
    .join('; ');
  return stageOf(worst?.stage.status ?? 'pass', durationMs, tests, {
    reason: worst ? reason : undefined,
    code: worst?.stage.code,
    retried: paths.some((p) => p.stage.retried),
  });
}

/** Combine backup and restore into the backup_restore rung. */
export function combine(a: Stage | undefined, b: Stage | undefined): Rung {
  const stages = [a, b].filter((s): s is Stage => Boolean(s));
  if (stages.length === 0) return { status: 'skip', reason: 'not requested' };
  const duration_ms = stages.reduce((n, s) => n + s.duration_ms, 0);
  for (const status of ['fail', 'unver'] as const) {
    const hit = stages.find((s) => s.status === status);
    if (hit)
      return {
        status,
        ...(hit.reason ? { reason: hit.reason } : {}),
        ...(hit.code ? { code: hit.code } : {}),
        duration_ms,
      };
  }
  if (stages.every((s) => s.status === 'skip'))
    return { status: 'skip', reason: stages[0]!.reason ?? 'skipped', duration_ms };
  if (stages.every((s) => s.status === 'pass') && stages.length === 2)
    return { status: 'pass', duration_ms };
  // One passed and the other was skipped: a restore without its backup (or vice versa) proves nothing.
  return {
    status: 'unver',
    reason: 'backup and restore must both run to prove data survives',
    code: 'NOT_RUN',
    duration_ms,
  };
}

export function rungFromStage(stage: Stage | undefined): Rung {
  if (!stage) return { status: 'skip', reason: 'not requested' };
  return {
    status: stage.status,
    ...(stage.reason ? { reason: stage.reason } : {}),
    ...(stage.code ? { code: stage.code } : {}),
    duration_ms: stage.duration_ms,
  };
}

export function rungsOf(stages: Stages): Rungs {
  return {
    install: rungFromStage(stages.install),
    upgrade: rungFromStage(stages.upgrade),
    backup_restore: combine(stages.backup, stages.restore),
    functional: rungFromStage(stages.custom),
    lint: rungFromStage(stages.lint),
  };
}
