/**
 * The results.json contract (see docs/results-schema.md, generated from this schema).
 *
 * Pure: no I/O. The schema is the single source of truth for the plugin (writer), the bridge
 * (reader, validator of uploads) and the JSON Schema published in docs/.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.js';

/** Current version of the results.json format. Bump on any incompatible change. */
export const RESULTS_SCHEMA_VERSION = 1;

/** The tiers a run can execute, in execution order. */
export const TIER_NAMES = ['install', 'upgrade', 'backup', 'restore', 'custom', 'lint'] as const;
export type TierName = (typeof TIER_NAMES)[number];
export const TierNameSchema = z.enum(TIER_NAMES);

/** The rungs of the level ladder, lowest first: install = L1 … lint = L5. */
export const RUNG_NAMES = ['install', 'upgrade', 'backup_restore', 'functional', 'lint'] as const;
export type RungName = (typeof RUNG_NAMES)[number];

/**
 * pass / fail; skip = intentionally not run (declared, structural, or not requested);
 * unver = should have run but could not be verified (infrastructure error, timeout, missing tool).
 */
export const RUNG_STATUSES = ['pass', 'fail', 'skip', 'unver'] as const;
export type RungStatus = (typeof RUNG_STATUSES)[number];
export const RungStatusSchema = z.enum(RUNG_STATUSES);

/**
 * Live tier progress (cosmetic): 'running' when a tier starts, then its rung status. What the
 * lifecycle's onTier reports, the plugin posts and the bridge accepts (the card adds 'waiting').
 */
export const TIER_PROGRESS_STATES = ['running', ...RUNG_STATUSES] as const;
export type TierProgress = (typeof TIER_PROGRESS_STATES)[number];

/** A row of ERROR_CODES (docs/errors.md): why a rung, stage or test row failed or is unverified. */
export const ErrorCodeSchema = z
  .enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]])
  .describe('an error code of docs/errors.md');

export const RungSchema = z
  .object({
    status: RungStatusSchema,
    reason: z.string().optional(),
    code: ErrorCodeSchema.optional(),
    duration_ms: z.number().int().nonnegative().optional(),
  })
  .strict();
export type Rung = z.infer<typeof RungSchema>;

/** One test case inside a tier (also one JUnit <testcase>). */
export const TestRowSchema = z
  .object({
    name: z.string().min(1),
    status: RungStatusSchema,
    ms: z.number().int().nonnegative(),
    message: z.string().optional(),
    code: ErrorCodeSchema.optional(),
  })
  .strict();
export type TestRow = z.infer<typeof TestRowSchema>;

export const StageSchema = z
  .object({
    status: RungStatusSchema,
    reason: z.string().optional(),
    code: ErrorCodeSchema.optional(),
    duration_ms: z.number().int().nonnegative(),
    /** true when the tier was retried once after an infrastructure problem. */
    retried: z.boolean().optional(),
    tests: z.array(TestRowSchema),
  })
  .strict();
export type Stage = z.infer<typeof StageSchema>;

export const VERDICTS = ['pass', 'fail', 'error'] as const;
export type Verdict = (typeof VERDICTS)[number];

const isoDateTime = z.iso.datetime({ offset: true });

/** What a run was, told briefly, for the isolation block: its verdict and where it broke. */
export const RunSummarySchema = z
  .object({
    verdict: z.enum(VERDICTS),
    level: z.number().int().min(0).max(5),
    /** The lowest rung that failed or could not be verified; absent when the run passed. */
    failed_rung: z.enum(RUNG_NAMES).optional(),
    code: ErrorCodeSchema.optional(),
    reason: z.string().optional(),
    duration_ms: z.number().int().nonnegative(),
    /** How long the tier behind failed_rung took in this run. */
    failed_tier_ms: z.number().int().nonnegative().optional(),
    /** The most other cc-ci runs seen deploying on the swarm while this one ran. */
    concurrent_runs: z.number().int().nonnegative(),
  })
  .strict();
export type RunSummary = z.infer<typeof RunSummarySchema>;

/**
 * genuine: failed again alone, at the same rung with the same code; flaky: passed alone (failed
 * only with company on the host); changed: failed alone, differently.
 */
export const ISOLATION_LABELS = ['genuine', 'flaky', 'changed'] as const;
export type IsolationLabel = (typeof ISOLATION_LABELS)[number];

export const IsolationSchema = z
  .object({
    label: z.enum(ISOLATION_LABELS),
    /** The failed run, whose artifacts are in `first_dir` of the run directory. */
    first: RunSummarySchema,
    first_dir: z.string().min(1),
    /** The re-run alone on the swarm; its verdict is the run's verdict. */
    rerun: RunSummarySchema,
    /** What differed between the two runs (load, the failing step's timing, the failure). */
    differences: z.array(z.string()),
  })
  .strict()
  .describe('the isolation re-run after a failure: its label, both runs and what differed');
export type Isolation = z.infer<typeof IsolationSchema>;

export const ResultsSchema = z
  .object({
    schema: z.literal(RESULTS_SCHEMA_VERSION),
    recipe: z.string().min(1),
    /** The tested recipe version (a release tag or the head's version label), or null. */
    version: z.string().nullable(),
    /** The version the upgrade tier started from, when it ran. */
    base_version: z.string().nullable().optional(),
    /** One row per upgrade path that ran, oldest base first (cc-ci.yml `upgrade_paths`). */
    upgrade_paths: z
      .array(
        z
          .object({
            base_version: z.string(),
            status: RungStatusSchema,
            duration_ms: z.number().int().nonnegative(),
            reason: z.string().optional(),
            code: ErrorCodeSchema.optional(),
          })
          .strict(),
      )
      .optional()
      .describe('each upgrade path that ran: its base, status, duration, reason and code'),
    pr: z.number().int().positive().nullable(),
    ref: z.string().min(1),
    /** The full commit sha the ref resolved to. */
    commit: z
      .string()
      .regex(/^[0-9a-f]{40}$/)
      .optional(),
    run_id: z.string().min(1),
    started: isoDateTime,
    finished: isoDateTime,
    mode: z.enum(['cold', 'quick']),
    /** Set when a quick run was asked for: the warm canonical it ran on, or why it ran cold. */
    quick: z
      .object({
        canonical: z
          .object({
            version: z.string().min(1),
            commit: z.string().regex(/^[0-9a-f]{40}$/),
            stack: z.string().min(1),
            domain: z.string().min(1),
          })
          .strict()
          .nullable(),
        cold_reason: z.string().optional(),
        /** The head was deployed over the canonical (false: the run ended before that). */
        head_deployed: z.boolean().optional(),
        snapshot_restored: z.boolean().nullable(),
        restore_detail: z.string().optional(),
      })
      .strict()
      .optional()
      .describe(
        'a quick run: the warm canonical it used (null: it ran cold, cold_reason says why) and whether the canonical was put back as it was (snapshot_restored)',
      ),
    verdict: z.enum(VERDICTS),
    level: z.number().int().min(0).max(5),
    rungs: z
      .object({
        install: RungSchema,
        upgrade: RungSchema,
        backup_restore: RungSchema,
        functional: RungSchema,
        lint: RungSchema,
      })
      .strict(),
    stages: z.partialRecord(TierNameSchema, StageSchema),
    flags: z
      .object({
        clean_teardown: z.boolean(),
        no_secret_leak: z.boolean(),
      })
      .strict(),
    domain: z.string().min(1),
    deploy_count: z.number().int().nonnegative(),
    /** The most other cc-ci runs seen deploying on the swarm while this run ran. */
    concurrent_runs: z.number().int().nonnegative().optional(),
    /** Set when the run failed and was re-run alone (docs/isolation.md). */
    isolation: IsolationSchema.optional(),
    /** Human-readable reason when verdict is error (infrastructure) or the run was aborted. */
    error: z.string().optional(),
    /** The code of that error (docs/errors.md). */
    error_code: ErrorCodeSchema.optional(),
    /** Paths (relative to the run directory) of diagnostics collected before teardown. */
    diagnostics: z.array(z.string()).optional(),
    /** Where the run happened: Drone build link, deployer used, cc-ci version. */
    meta: z
      .object({
        deployer: z.enum(['docker', 'abra']).optional(),
        build_link: z.string().optional(),
        /** The sweep kept this run's final deploy as a warm candidate instead of tearing it down. */
        kept_warm: z
          .object({ stack: z.string().min(1), domain: z.string().min(1) })
          .strict()
          .optional(),
        ccci_version: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type Results = z.infer<typeof ResultsSchema>;

/** Parse unknown JSON into Results, throwing a readable error listing every problem. */
export function parseResults(value: unknown): Results {
  const parsed = ResultsSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw new Error(`results.json is invalid: ${problems}`);
  }
  return parsed.data;
}
