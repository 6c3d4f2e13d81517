/**
 * The typed state of one run: the stages as they are decided, what the run deployed, and what
 * its tiers hand each other. The lifecycle's phases write it; `buildResults` reads it.
 */
import type { ErrorCode } from '../errors.js';
import type { DeployedApp } from '../ports/deployer.js';
import type { Stage, TierName } from '../domain/results.js';
import type { RunShared } from '../tiers/types.js';
import type { Stages, UpgradePath } from './rungs.js';
import type { TeardownResult } from './teardown.js';
import type { Canonical } from '../sweep/decisions.js';
import type { QuickRestore } from './quick.js';

/** A quick run asked for: the canonical it used, or why it ran cold; and how it was put back. */
export interface QuickRecord {
  readonly canonical: Canonical | null;
  readonly coldReason?: string;
  /** The head was chaos-deployed over the canonical (the upgrade's redeploy happened). */
  headDeployed?: boolean;
  restore?: QuickRestore;
}

export type TierProgress = Stage['status'] | 'running';

export class RunState {
  private readonly decided: Stages = {};
  /** Fresh deploys (the base or the head; a retry and a redeploy after a failed upgrade count). */
  deployCount = 0;
  /** The error that ended the run early (redacted), if any. */
  error: string | undefined;
  /** Its code (ERROR_CODES). */
  errorCode: ErrorCode | undefined;
  aborted = false;
  baseVersion: string | null = null;
  /** The upgrade paths that ran, oldest base first (results.json `upgrade_paths`). */
  upgradePaths: UpgradePath[] = [];
  /** What runs now: the base, then the head. */
  app: DeployedApp | null = null;
  diagnostics: string[] = [];
  teardown: TeardownResult = { clean: false, leftovers: [], errors: [] };
  keptWarm = false;
  /** Set when a quick run was asked for (quick.ts). */
  quick: QuickRecord | null = null;
  /** The most other runs seen deploying on the swarm while this one held its lock. */
  concurrentRuns = 0;
  readonly shared: RunShared = {};

  constructor(
    readonly requested: ReadonlySet<TierName>,
    /** Live progress for the caller (the plugin posts it to the bridge); never throws. */
    private readonly onProgress: (tier: TierName, status: TierProgress) => void = () => undefined,
  ) {}

  get stages(): Readonly<Stages> {
    return this.decided;
  }

  setStage(tier: TierName, stage: Stage): void {
    this.decided[tier] = stage;
    this.progress(tier, stage.status);
  }

  /** Forget a decided stage (what decided it turned out void); it is decided again later. */
  clearStage(tier: TierName): void {
    delete this.decided[tier];
  }

  progress(tier: TierName, status: TierProgress): void {
    try {
      this.onProgress(tier, status);
    } catch {
      /* cosmetic */
    }
  }

  /** The head's current deployment: the upgrade's redeploy when there was one. */
  currentApp(fallback: DeployedApp): DeployedApp {
    return this.shared.upgradedApp ?? fallback;
  }

  /** Did anything not pass (diagnostics are collected before teardown then)? */
  get troubled(): boolean {
    return (
      this.error !== undefined ||
      Object.values(this.decided).some((s) => s.status === 'fail' || s.status === 'unver')
    );
  }
}
