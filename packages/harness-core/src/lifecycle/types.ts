/**
 * Input and output of one lifecycle run (`runLifecycle`), the API the `cc-ci` command calls.
 */
import type { Results, TierName } from '../domain/results.js';
import type { RunLogger } from '../tiers/types.js';

export interface RunOptions {
  /** Recipe name; validated [a-z0-9][a-z0-9-]{0,62}. Defaults to the basename of a local src. */
  readonly recipe: string;
  /** Git URL or local path of the recipe repository. */
  readonly src: string;
  /** Commit sha or tag to test; for a local path, undefined = the working tree as it is. */
  readonly ref?: string;
  readonly pr: number | null;
  readonly stages: readonly TierName[];
  readonly quick: boolean;
  /** The run directory (results.json, junit/, logs, diagnostics). Created if missing. */
  readonly outDir: string;
  /** Run id (Drone build number, or generated). */
  readonly runId: string;
  /** Per-recipe CI config directory (the repo's recipes/ by default). */
  readonly configDir: string;
  readonly deployer: 'docker' | 'abra';
  readonly domainSuffix: string;
  readonly buildLink?: string;
  /**
   * The weekly sweep only: when every tier that ran passed (or was skipped), keep the final
   * deploy — services, volumes, secrets — instead of tearing it down, marked `cc-ci.warm=true`
   * so the janitor never reaps it. Recorded as `meta.kept_warm`.
   */
  readonly keepWarm?: boolean;
  /**
   * This run is an isolation re-run and holds the host slot (host-slot.ts): it takes its lock
   * directly instead of waiting for the slot it holds itself.
   */
  readonly isolated?: boolean;
}

export interface RunDeps {
  readonly log: RunLogger;
  /** Aborted on SIGINT/SIGTERM: the run stops, tears down and records the abort. */
  readonly signal: AbortSignal;
  readonly now?: () => Date;
  /** Tier-by-tier progress: 'running' when a tier starts, then its status. Cosmetic only. */
  readonly onTier?: (
    tier: TierName,
    status: 'running' | 'pass' | 'fail' | 'skip' | 'unver',
  ) => void;
}

export interface RunOutcome {
  readonly results: Results;
  readonly resultsPath: string;
  /** 0 pass, 1 fail, 3 infrastructure error (2 = bad input is thrown as InputError before). */
  readonly exitCode: 0 | 1 | 3;
}
