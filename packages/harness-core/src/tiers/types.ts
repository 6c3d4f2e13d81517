/**
 * The contract between the lifecycle orchestrator (lifecycle/) and the tiers (tiers/).
 *
 * The orchestrator owns checkout, naming, locks, secrets, the single fresh deploy, readiness,
 * diagnostics, teardown and results. A tier receives a TierContext for the deployed app and
 * returns a TierOutcome; it never tears anything down and never decides the level or verdict.
 *
 * Run order (docs/domain.md, "How a run flows"): install → upgrade → backup → restore → custom →
 * lint. When the upgrade tier is selected and has a base, the one fresh deploy is the *base*; the
 * upgrade tier then seeds data and moves the app to the head (see UpgradeTier), and install is
 * verified on the head afterwards. Otherwise the one fresh deploy is the head.
 */
import type { ErrorCode } from '../errors.js';
import type { ProxyProbe } from '../adapters/docker/proxy-probe.js';
import type { RungStatus, TestRow, TierName } from '../domain/results.js';
import type { DeployedApp, Deployer, DeployRequest, RecipeCheckout } from '../ports/deployer.js';
import type { DockerPort } from '../ports/docker.js';
import type { BackupState } from './backup.js';
import type { RecipeTests } from './custom.js';
import type { UpgradeSeed } from './upgrade.js';

/** Minimal logger the harness writes progress to (the plugin renders it for people). */
export interface RunLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): RunLogger;
}

/** cc-ci.yml `data_probe`: argv run in a service's container; the token is the last argument of `write`. */
export interface DataProbe {
  readonly service: string;
  readonly write: readonly string[];
  readonly read: readonly string[];
}

/** Per-recipe CI configuration after validation (see config/recipe-config.ts). */
export interface RecipeCiConfigView {
  readonly healthPath: string;
  readonly acceptedCodes: readonly number[];
  readonly deployTimeoutS: number;
  readonly httpTimeoutS: number;
  readonly extraEnv: Readonly<Record<string, string>>;
  /** Extra env applied to the upgrade base deploy only. */
  readonly upgradeExtraEnv: Readonly<Record<string, string>>;
  /** How many upgrade paths to test (the N newest releases older than the head). */
  readonly upgradePaths: number;
  /** Intentional skips: tier → reason. */
  readonly skip: Readonly<Partial<Record<TierName, string>>>;
  /** Backup capability override: true/false forces, undefined = from backupbot labels. */
  readonly backup?: boolean | undefined;
  /** A probe (argv) run in the backed-up service's container after each backup; non-zero = retry. */
  readonly backupVerify?: readonly string[] | undefined;
  /** Commands that write and read rows in the app's own store (cc-ci.yml data_probe). */
  readonly dataProbe?: DataProbe | undefined;
  /** Directory of the recipe's CI config (recipes/<recipe>/), or null when none exists. */
  readonly dir: string | null;
}

export interface TierContext {
  readonly runId: string;
  readonly runDir: string;
  readonly tier: TierName;
  /** The head checkout (what the PR wants merged). */
  readonly head: RecipeCheckout;
  readonly config: RecipeCiConfigView;
  readonly app: DeployedApp;
  /** The request that deployed the head (reuse it for redeploys: same names, env, labels). */
  readonly headRequest: DeployRequest;
  readonly deployer: Deployer;
  readonly docker: DockerPort;
  readonly log: RunLogger;
  readonly signal: AbortSignal;
  /** Redact every generated secret value from a string before it is logged or stored. */
  redact(text: string): string;
  /** Image of the helper containers that read and write the app's volumes (sh, tar, find, md5sum). */
  readonly volumeHelperImage: string;
  /**
   * The release this host keeps warm as the recipe's canonical (the release people run here), or
   * null: the upgrade starts from it when it is an older release than the head.
   */
  readonly canonicalVersion: string | null;
  /** The run's probe container on the proxy network: how the app is reached (proxy-probe.ts). */
  reach(): Promise<ProxyProbe>;
  /** Wait until every service of the app is converged and the HTTP probe passes. */
  waitReady(opts?: { timeoutS?: number }): Promise<void>;
  /** What tiers of this run hand to later ones (typed; owned by the lifecycle's RunState). */
  readonly shared: RunShared;
}

/** What one tier of a run hands to a later one. */
export interface RunShared {
  /** The head as the upgrade's chaos redeploy left it (later tiers reach this deployment). */
  upgradedApp?: DeployedApp;
  /** The upgrade's marker in a volume of the base. */
  upgradeSeed?: UpgradeSeed;
  /** The upgrade's data-probe token, written on the base. */
  upgradeRow?: string;
  /** The backup the restore restores. */
  backup?: BackupState;
  /**
   * Set by an upgrade that found the head ready while swarm still monitored its update (asked
   * with overlapMonitor): the run settles it before the upgrade's verdict.
   */
  updateMonitor?: UpdateMonitor;
  /** The recipe's Jest, started by the custom tier's prestart and waiting for its run. */
  recipeTests?: RecipeTests;
}

/** Swarm's monitor of the head's update, still running when the upgrade returned. */
export interface UpdateMonitor {
  /**
   * Waits for the update to end: the upgrade's rows that it ended well, or why it did not (what
   * ran over the monitor is then void). Settles once; later calls give the same answer.
   */
  settle(): Promise<{ readonly rows: readonly TestRow[] } | { readonly void: string }>;
}

export interface TierOutcome {
  readonly status: RungStatus;
  readonly reason?: string;
  /**
   * Why it failed or is unverified. Left out, a failed outcome gets its tier's check code
   * (CHECK_FAILED in lifecycle/rungs.ts); an unverified one must name its code.
   */
  readonly code?: ErrorCode;
  readonly tests: readonly TestRow[];
  /** Said instead of the status while the verdict still waits for something (the upgrade's monitor). */
  readonly pending?: string;
}

/** A tier's context before the app is deployed (no app, nothing to wait for). */
export type PreDeployContext = Omit<TierContext, 'app' | 'waitReady'>;

export interface Tier {
  readonly name: TierName;
  /**
   * Start, before the app exists, what the tier will need and what needs nothing of the app
   * (the custom tier's Jest), handing it to `run` through ctx.shared. Called only when the
   * tier is to run; the run's finish stops whatever `run` never took.
   */
  prestart?(ctx: PreDeployContext): Promise<void>;
  run(ctx: TierContext): Promise<TierOutcome>;
}

/**
 * The upgrade tier drives the deploy order, so it has a richer interface:
 * 1. `resolveBases` (before any deploy): a base checkout per upgrade path, or a structural skip;
 * 2. the orchestrator deploys the base (the run's one fresh deploy) and waits until ready;
 * 3. `seed` writes data into the base;
 * 4. `upgrade` redeploys the head in chaos mode and proves it (labels moved, no rollback,
 *    converged, seeded data survived), returning the upgrade tier's outcome. On return the app
 *    runs the head (or, on failure, whatever swarm left: later tiers still run and report).
 */
export interface UpgradeBase {
  readonly base: RecipeCheckout;
  readonly env: Readonly<Record<string, string>>;
}

export interface UpgradeTier {
  readonly name: 'upgrade';
  /** The bases of the upgrade paths, oldest first (one unless cc-ci.yml sets upgrade_paths). */
  resolveBases(
    ctx: PreDeployContext,
  ): Promise<{ kind: 'bases'; value: readonly UpgradeBase[] } | { kind: 'skip'; reason: string }>;
  seed(ctx: TierContext, base: UpgradeBase): Promise<void>;
  upgrade(ctx: TierContext, base: UpgradeBase, opts?: UpgradeOptions): Promise<TierOutcome>;
}

export interface UpgradeOptions {
  /**
   * Return once every task is the head's and the head is ready, while swarm may still monitor
   * the update (update_config.monitor), leaving ctx.shared.updateMonitor for the run to settle.
   */
  readonly overlapMonitor?: boolean;
}
