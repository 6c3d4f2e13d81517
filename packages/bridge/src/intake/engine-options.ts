/** The intake engine's options: its adapters, the enrolled repositories, trust and tuning. */
import type { DroneClient } from '../adapters/drone/drone-client.js';
import type { GiteaClient } from '../adapters/gitea/gitea-client.js';
import type { RunTokens } from '../domain/run-token.js';
import type { BridgeMetrics } from '../metrics.js';
import type { RunsStore } from '../store/runs-store.js';
import type { IntakeStore } from './intake-store.js';
import type { Logger } from './logger.js';

export interface EngineOptions {
  readonly store: IntakeStore;
  readonly runs: RunsStore;
  readonly gitea: GiteaClient;
  readonly drone: DroneClient;
  /**
   * Derives the CCCI_RUN_TOKEN each build gets (docs/security.md); null or absent: no upload
   * secret is configured and the param is sent empty.
   */
  readonly runTokens?: RunTokens | null;
  readonly metrics: BridgeMetrics;
  readonly log: Logger;
  /** Enrolled recipe repositories, owner/name. */
  readonly repos: readonly string[];
  readonly trustedOrgs: readonly string[];
  readonly trustedUsers: readonly string[];
  readonly maxConcurrentRuns: number;
  readonly publicUrl: string;
  /** 0 = polling off. */
  readonly pollIntervalMs: number;
  readonly tickMs?: number;
  /** Persistent retries of a trigger step: capped exponential backoff with jitter. */
  readonly retryBaseMs?: number;
  readonly retryCapMs?: number;
  readonly maxAttempts?: number;
  /** Build watcher: how often to check builds, and how long a finished build may wait for its results. */
  readonly watchIntervalMs?: number;
  readonly noResultsGraceMs?: number;
  /**
   * How long a build may stay `blocked` (awaiting approval; Drone has no timeout for it) or
   * `waiting_on_dependencies` before its trigger ends with an error and frees its slot.
   */
  readonly blockedTimeoutMs?: number;
  /** Least time between two progress edits of one PR comment. */
  readonly progressMinIntervalMs?: number;
  /** The engine's clock; read through one `now()` in epoch milliseconds by every worker. */
  readonly now?: () => Date;
}
