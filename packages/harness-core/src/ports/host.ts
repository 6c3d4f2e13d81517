/**
 * The host port: what the host-care jobs (gated prune, VIP guard) need to know about and do to
 * the Docker host, beyond the per-run Docker port. Implemented over the docker CLI in
 * adapters/docker/docker-host.ts.
 */
export interface DiskUsage {
  /** Docker's root directory (where images and containers live). */
  readonly path: string;
  readonly freeBytes: number;
  readonly totalBytes: number;
}

export interface ServiceState {
  readonly name: string;
  /** Desired replicas (null: global service). */
  readonly desired: number | null;
  readonly running: number;
  /** An update or rollback is in progress. */
  readonly updating: boolean;
}

export interface TaskProblem {
  readonly service: string;
  readonly state: string;
  readonly error: string;
}

export interface NetworkInfo {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly scope: string;
  readonly attachable: boolean;
  readonly ingress: boolean;
  readonly subnets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface PruneCount {
  readonly items: number;
  /** Bytes reclaimed (0 in a dry run). */
  readonly reclaimedBytes: number;
}

export interface HostPort {
  disk(): Promise<DiskUsage>;
  services(): Promise<ServiceState[]>;
  /** Tasks that should run but do not, with their error (allocation failures show up here). */
  taskProblems(): Promise<TaskProblem[]>;
  networks(): Promise<NetworkInfo[]>;
  /** Remove a network; 'in_use' when something is still attached (nothing is forced). */
  removeNetwork(id: string): Promise<'removed' | 'in_use' | 'gone'>;
  /** Dangling images created at least `minAgeHours` ago (never `--all`). */
  pruneDanglingImages(dryRun: boolean, minAgeHours: number): Promise<PruneCount>;
  /** Stopped containers created at least `minAgeHours` ago. */
  pruneStoppedContainers(dryRun: boolean, minAgeHours: number): Promise<PruneCount>;
}
