/**
 * The gated prune (`cc-ci prune`). The original system's aggressive pruning evicted cached images
 * and caused registry rate limits, so this one prunes only when the disk is really short, never
 * while a run is live or a service is converging, never `--all` (only dangling images and stopped
 * containers), and never volumes or networks.
 */
import type { RunLocks } from '../lifecycle/locks.js';
import type { DiskUsage, HostPort, ServiceState } from '../ports/host.js';

export interface PruneThresholds {
  /** Disk is short when free space is below this many bytes … */
  readonly minFreeBytes: number;
  /** … or below this percentage of the disk. */
  readonly minFreePercent: number;
}

const CONTAINER_MIN_AGE_HOURS = 1;

export const DEFAULT_THRESHOLDS: PruneThresholds = {
  minFreeBytes: 10 * 2 ** 30,
  minFreePercent: 10,
};

export type PruneDecision =
  | { readonly prune: true; readonly reason: string }
  | { readonly prune: false; readonly reason: string; readonly blocked: boolean };

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

/** Pure: should we prune now? `blocked` = the disk is short but it is not safe to prune. */
export function decidePrune(f: {
  disk: DiskUsage;
  thresholds: PruneThresholds;
  liveRuns: readonly string[];
  services: readonly ServiceState[];
}): PruneDecision {
  const pct = f.disk.totalBytes > 0 ? (100 * f.disk.freeBytes) / f.disk.totalBytes : 100;
  const free = `${gib(f.disk.freeBytes)} free (${pct.toFixed(1)}%) on ${f.disk.path}`;
  const short = f.disk.freeBytes < f.thresholds.minFreeBytes || pct < f.thresholds.minFreePercent;
  if (!short)
    return {
      prune: false,
      blocked: false,
      reason: `disk not short: ${free}; thresholds ${gib(f.thresholds.minFreeBytes)} and ${f.thresholds.minFreePercent}%`,
    };
  if (f.liveRuns.length > 0)
    return {
      prune: false,
      blocked: true,
      reason: `disk short (${free}) but ${f.liveRuns.length} run(s) are live: ${f.liveRuns.join(', ')}`,
    };
  const converging = f.services.filter(
    (s) => s.updating || (s.desired !== null && s.running !== s.desired),
  );
  if (converging.length > 0)
    return {
      prune: false,
      blocked: true,
      reason: `disk short (${free}) but ${converging.length} service(s) are converging: ${converging.map((s) => s.name).join(', ')}`,
    };
  return { prune: true, reason: `disk short: ${free}` };
}

export interface PruneReport {
  readonly decision: PruneDecision;
  readonly dryRun: boolean;
  readonly images: number;
  readonly containers: number;
  readonly reclaimedBytes: number;
  readonly freeAfterBytes: number | null;
}

export async function runPrune(input: {
  host: HostPort;
  locks: RunLocks;
  dryRun: boolean;
  thresholds?: PruneThresholds;
  /** Only images at least this old (default 1 h: nothing a build or deploy just made). */
  imageMinAgeHours?: number;
  log?: (line: string) => void;
}): Promise<PruneReport> {
  const { host, dryRun } = input;
  const disk = await host.disk();
  const liveRuns: string[] = [];
  for (const l of await input.locks.list())
    if (await input.locks.isHeld(l.domain)) liveRuns.push(l.runId);
  const services = await host.services();
  const decision = decidePrune({
    disk,
    thresholds: input.thresholds ?? DEFAULT_THRESHOLDS,
    liveRuns,
    services,
  });
  input.log?.(decision.reason);
  if (!decision.prune)
    return { decision, dryRun, images: 0, containers: 0, reclaimedBytes: 0, freeAfterBytes: null };
  // Stopped containers younger than an hour may belong to something in progress: never touched.
  const containers = await host.pruneStoppedContainers(dryRun, CONTAINER_MIN_AGE_HOURS);
  const images = await host.pruneDanglingImages(dryRun, input.imageMinAgeHours ?? 1);
  const after = dryRun ? null : (await host.disk()).freeBytes;
  return {
    decision,
    dryRun,
    images: images.items,
    containers: containers.items,
    reclaimedBytes: images.reclaimedBytes + containers.reclaimedBytes,
    freeAfterBytes: after,
  };
}
