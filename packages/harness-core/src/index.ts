/**
 * @cc-ci/harness-core: the lifecycle library behind `cc-ci run`.
 * Public API only; internals are imported by path inside the package.
 */
export * from './domain/results.js';
export * from './domain/level.js';
export * from './domain/build-params.js';
export * from './errors.js';
export {
  validateRecipeName,
  isRecipeName,
  RECIPE_NAME_SOURCE,
  RECIPE_NAME_PATTERN,
  validateRef,
  validateRunId,
  generateRunId,
  appDomain,
  stackName,
} from './domain/naming.js';
export { backoffMs, backoffCeilingMs, type Backoff } from './domain/backoff.js';
export { Redactor } from './domain/redactor.js';
export { stripAnsi } from './domain/ansi.js';
export { findOnPath, PROXY_ENV_NAMES } from './adapters/process/host-env.js';
export { renderJunit } from './domain/junit.js';
export { chaosVersion, compareVersions, isReleaseTag, sortReleases } from './domain/versions.js';
export type * from './ports/deployer.js';
export type * from './ports/docker.js';
export type * from './tiers/types.js';
export type * from './lifecycle/types.js';
export {
  runLifecycle,
  DEFAULT_PROBE_IMAGE,
  type LifecycleAdapters,
} from './lifecycle/run-lifecycle.js';
export { runWithIsolation, FIRST_RUN_DIR } from './lifecycle/isolation.js';
export {
  ISOLATION_SLOT,
  acquireSlot,
  acquireOutsideSlot,
  otherLiveRuns,
} from './lifecycle/host-slot.js';
export {
  ISOLATION_POLICIES,
  rerunDecision,
  isolationOf,
  type IsolationPolicy,
} from './domain/isolation.js';
export { runJanitor, teardown, leftovers, type JanitorReport } from './lifecycle/teardown.js';
export { fileLocks, type RunLocks, type LockInfo } from './lifecycle/locks.js';
export {
  swarmLocks,
  runLocksFor,
  ownContainerId,
  lockServiceName,
} from './adapters/docker/swarm-locks.js';
export { silentLogger } from './lifecycle/run-logger.js';
export * from './lifecycle/labels.js';
export { DockerCli } from './adapters/docker/docker-cli.js';
export { EngineApiDocker, createDocker } from './adapters/docker/engine-api.js';
export { createGit, createMirrorGit, type Git, type MirrorGit } from './adapters/git/git.js';
export {
  runProcess,
  type ProcessRunner,
  type ProcessResult,
} from './adapters/process/run-process.js';
export { DockerDeployer } from './deployers/docker-deployer.js';
export { AbraDeployer, fatalLine, parseSecretsTable } from './deployers/abra-deployer.js';
export { parseEnvFile, parseAbraShExports } from './domain/env-file.js';
export { backupPlan, type BackupPlan } from './domain/backupbot.js';
export {
  loadRecipeConfig,
  parseRecipeConfig,
  RecipeConfigSchema,
  type RecipeConfig,
  type LoadedRecipeConfig,
} from './config/recipe-config.js';
export type { HostPort, DiskUsage, NetworkInfo, ServiceState, TaskProblem } from './ports/host.js';
export { DockerHost, parseReclaimed } from './adapters/docker/docker-host.js';
export {
  decidePrune,
  runPrune,
  DEFAULT_THRESHOLDS,
  type PruneReport,
  type PruneThresholds,
} from './host/prune.js';
export {
  isAllocationError,
  proxyProblems,
  runVipGuard,
  type VipGuardReport,
} from './host/vip-guard.js';
export { runSweep, type SweepOutcome, type SweepRecipe, type SweepLabel } from './sweep/sweep.js';
export { sweepDecision, promotionDecision, type Canonical } from './sweep/decisions.js';
export { canonicalStore, type CanonicalStore } from './sweep/canonicals.js';
export {
  syncMirror,
  planSync,
  MIRROR_BRANCH,
  type MirrorGiteaConfig,
  type MirrorSyncOutcome,
  type MirrorPrDecision,
  type SyncMirrorInput,
} from './sweep/mirror-sync.js';
export {
  WARM_DISK_FILE,
  formatBytes,
  parseWarmDiskReport,
  warmDiskUsage,
  writeWarmDiskReport,
  type WarmDisk,
  type WarmDiskReport,
} from './sweep/disk.js';
