/**
 * Teardown and its verification, and the janitor that reaps what killed runs left behind.
 */
import type { Deployer } from '../ports/deployer.js';
import type { DockerPort, SwarmObject, SwarmObjectKind } from '../ports/docker.js';
import { LABEL_DOMAIN, LABEL_LOCK_SCOPE, LABEL_RUN_ID, LABEL_STACK, LABEL_WARM } from './labels.js';
import type { RunLocks } from './locks.js';

const KINDS: readonly SwarmObjectKind[] = [
  'service',
  'container',
  'network',
  'volume',
  'secret',
  'config',
];

/** Everything of a run still present: labelled with its run id, or named with its stack prefix. */
export async function leftovers(
  docker: DockerPort,
  runId: string,
  stack: string,
): Promise<SwarmObject[]> {
  const found = new Map<string, SwarmObject>();
  for (const kind of KINDS) {
    const byLabel = await docker.listObjects(kind, { [LABEL_RUN_ID]: runId });
    const byNamespace = await docker.listObjects(kind, { 'com.docker.stack.namespace': stack });
    const byPrefix =
      kind === 'container' ? [] : await docker.listObjectsByPrefix(kind, `${stack}_`);
    for (const o of [...byLabel, ...byNamespace, ...byPrefix]) found.set(`${o.kind}:${o.id}`, o);
  }
  return [...found.values()];
}

export interface TeardownResult {
  readonly clean: boolean;
  readonly leftovers: readonly SwarmObject[];
  readonly errors: readonly string[];
}

/**
 * Undeploy, remove data, then verify nothing of the run remains. Never throws. Each step is
 * logged before it starts (`teardown: <step>`), so a kill can be placed in any of them; whatever
 * step a kill lands in, every object left carries the run's labels and the janitor reaps it.
 * `ownClosed`: the run's own containers (probe, volume helpers) being removed meanwhile; awaited
 * before the data goes (a mounted volume cannot be removed) and so before the verification.
 */
export async function teardown(
  deployer: Deployer,
  docker: DockerPort,
  runId: string,
  stack: string,
  log: (line: string) => void = () => undefined,
  ownClosed: Promise<unknown> = Promise.resolve(),
): Promise<TeardownResult> {
  const errors: string[] = [];
  log(`teardown: undeploy (remove stack ${stack})`);
  try {
    await deployer.undeploy(stack);
  } catch (err) {
    errors.push(`undeploy: ${err instanceof Error ? err.message : String(err)}`);
  }
  log('teardown: remove data (volumes, secrets, configs)');
  try {
    // No kept volume helper may hold a volume (any deployer's removal).
    await ownClosed.catch(() => undefined);
    await docker.releaseVolumeHelpers();
    await deployer.removeData(stack);
  } catch (err) {
    errors.push(`remove data: ${err instanceof Error ? err.message : String(err)}`);
  }
  let left: SwarmObject[] = [];
  log('teardown: verify nothing of the run remains');
  try {
    left = await leftovers(docker, runId, stack);
    // Second chance: remove stragglers directly (e.g. a volume released late).
    for (const o of left)
      await docker.removeObject(o.kind, o.kind === 'volume' ? o.name : o.id).catch(() => false);
    if (left.length) left = await leftovers(docker, runId, stack);
  } catch (err) {
    errors.push(`verify: ${err instanceof Error ? err.message : String(err)}`);
    return { clean: false, leftovers: left, errors };
  }
  return { clean: left.length === 0, leftovers: left, errors };
}

/**
 * A run that deployed nothing of its own (a quick run lives on the canonical's stack): remove
 * and verify only the objects labelled with its run id (its probe, helpers). Never throws.
 */
export async function runObjectsTeardown(
  docker: DockerPort,
  runId: string,
  log: (line: string) => void = () => undefined,
): Promise<TeardownResult> {
  const errors: string[] = [];
  const labelled = async () =>
    (
      await Promise.all(KINDS.map((kind) => docker.listObjects(kind, { [LABEL_RUN_ID]: runId })))
    ).flat();
  log("teardown: verify nothing of the run remains (the canonical's stack is not the run's)");
  try {
    let left = await labelled();
    for (const o of left)
      await docker.removeObject(o.kind, o.kind === 'volume' ? o.name : o.id).catch(() => false);
    if (left.length) left = await labelled();
    return { clean: left.length === 0, leftovers: left, errors };
  } catch (err) {
    errors.push(`verify: ${err instanceof Error ? err.message : String(err)}`);
    return { clean: false, leftovers: [], errors };
  }
}

export interface JanitorReport {
  readonly reaped: Array<{ runId: string; stack: string; objects: number }>;
  readonly skippedLive: string[];
  readonly skippedWarm: string[];
  /** Lock files of dead runs removed (would be removed, in a dry run). */
  readonly staleLocks: string[];
  readonly dryRun: boolean;
}

/**
 * Reap objects of runs whose lock is not held by a live process. Never a live run; never a warm
 * canonical (label cc-ci.warm=true). Age alone is never a reason.
 */
export async function runJanitor(input: {
  docker: DockerPort;
  deployer: Deployer;
  locks: RunLocks;
  dryRun: boolean;
  log?: (line: string) => void;
}): Promise<JanitorReport> {
  const { docker, deployer, locks, dryRun } = input;
  const runs = new Map<string, { runId: string; domain: string; stack: string; warm: boolean }>();
  for (const kind of KINDS) {
    // Only runs whose lock lives in this janitor's namespace can be judged alive or dead.
    for (const o of await docker.listObjects(kind, {
      [LABEL_RUN_ID]: '',
      [LABEL_LOCK_SCOPE]: locks.scope,
    })) {
      const runId = o.labels[LABEL_RUN_ID]!;
      const prev = runs.get(runId);
      runs.set(runId, {
        runId,
        domain: o.labels[LABEL_DOMAIN] ?? prev?.domain ?? '',
        stack: o.labels[LABEL_STACK] ?? o.labels['com.docker.stack.namespace'] ?? prev?.stack ?? '',
        warm: (prev?.warm ?? false) || o.labels[LABEL_WARM] === 'true',
      });
    }
  }
  const report: JanitorReport = {
    reaped: [],
    skippedLive: [],
    skippedWarm: [],
    staleLocks: [],
    dryRun,
  };
  for (const run of runs.values()) {
    if (run.warm) {
      report.skippedWarm.push(run.runId);
      continue;
    }
    if (!run.domain || (await locks.isHeld(run.domain))) {
      report.skippedLive.push(run.runId);
      continue;
    }
    const objects = await leftovers(docker, run.runId, run.stack);
    input.log?.(
      `${dryRun ? 'would reap' : 'reaping'} run ${run.runId} (stack ${run.stack}, ${objects.length} objects)`,
    );
    if (!dryRun) await teardown(deployer, docker, run.runId, run.stack);
    report.reaped.push({ runId: run.runId, stack: run.stack, objects: objects.length });
  }
  // After the reaping: a dead run's lock file goes only once its objects are gone.
  report.staleLocks.push(...(await locks.removeStale(dryRun)));
  return report;
}
