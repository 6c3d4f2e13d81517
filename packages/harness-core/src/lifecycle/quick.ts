/**
 * Quick runs (`--quick`, `!testme --quick`; docs/tiers/upgrade.md, "Quick runs"): the PR head is
 * tested on this host's warm canonical instead of a fresh app.
 *
 *   plan (before the lock: is there a canonical the head can upgrade from, with every secret the
 *   head needs? else the run is cold and says why) → stop the canonical and snapshot its volumes
 *   → redeploy it as it was and seed it → chaos-deploy the head over it (the upgrade tier's
 *   proofs and rollback detection) → install floor and custom tests → always: stop, put every
 *   volume back from the snapshot, redeploy the canonical's release, remove what the head added,
 *   and compare the canonical with what it was before. `snapshot_restored` is that comparison.
 *
 * A quick run never writes the canonical registry and never promotes (the sweep does).
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError, errorMessage } from '../errors.js';
import { parseEnvFile, secretSpecs } from '../domain/env-file.js';
import { secretObjectName } from '../domain/naming.js';
import { compareVersions } from '../domain/versions.js';
import type { Git } from '../adapters/git/git.js';
import type { DockerPort, ServiceInfo, SwarmObjectKind } from '../ports/docker.js';
import type { RecipeCheckout } from '../ports/deployer.js';
import type { LoadedRecipeConfig } from '../config/recipe-config.js';
import { canonicalStore, warmSecretStore, type WarmSecret } from '../sweep/canonicals.js';
import type { Canonical } from '../sweep/decisions.js';
import type { RunLogger } from '../tiers/types.js';
import { waitUntil } from '../deployers/docker-deployer.js';
import { LABEL_WARM } from './labels.js';
import type { RunLocks } from './locks.js';

/** The canonical a quick run uses, as it was when the run planned it. */
export interface QuickTarget {
  readonly canonical: Canonical;
  /** The canonical's cc-ci labels (its sweep run's, cc-ci.warm=true): every deploy onto it keeps them. */
  readonly labels: Readonly<Record<string, string>>;
  /** The canonical's last deploy was a chaos redeploy (the sweep's upgrade): redeploys keep that. */
  readonly chaos: boolean;
  readonly before: CanonicalState;
  /** The values of the canonical's secrets (redacted from every output of the run). */
  readonly secrets: readonly WarmSecret[];
}

export type QuickPlan =
  | { readonly kind: 'quick'; readonly target: QuickTarget }
  | { readonly kind: 'cold'; readonly reason: string };

/** What "the canonical as it was" means: its services' specs and the objects of its stack. */
export interface CanonicalState {
  /** One line per service: name, image, version and chaos-version labels, warm mark. */
  readonly services: readonly string[];
  /** `<kind> <name>` of each volume, secret and config of the stack. */
  readonly objects: readonly string[];
}

/** Task states after which the task's container no longer runs. */
const TASK_ENDED = new Set(['shutdown', 'complete', 'failed', 'rejected', 'orphaned', 'remove']);

const STACK_OBJECTS: readonly SwarmObjectKind[] = ['volume', 'secret', 'config'];

export async function canonicalState(docker: DockerPort, stack: string): Promise<CanonicalState> {
  const services = (await docker.listServices(stack)).map((s) =>
    [
      s.name,
      s.image,
      `version=${s.labels[`coop-cloud.${stack}.version`] ?? ''}`,
      `chaos-version=${s.labels[`coop-cloud.${stack}.chaos-version`] ?? ''}`,
      `warm=${s.labels[LABEL_WARM] ?? ''}`,
    ].join(' '),
  );
  const objects = new Set<string>();
  for (const kind of STACK_OBJECTS) {
    const found = [
      ...(await docker.listObjects(kind, { 'com.docker.stack.namespace': stack })),
      ...(await docker.listObjectsByPrefix(kind, `${stack}_`)),
    ];
    for (const o of found) objects.add(`${kind} ${o.name}`);
  }
  return { services: services.sort(), objects: [...objects].sort() };
}

/** How `after` differs from `before`, in words; empty when identical. */
export function stateDifferences(before: CanonicalState, after: CanonicalState): string[] {
  const diff = (what: string, a: readonly string[], b: readonly string[]) => {
    const gone = a.filter((x) => !b.includes(x));
    const added = b.filter((x) => !a.includes(x));
    return [
      ...(gone.length ? [`${what} missing: ${gone.join('; ')}`] : []),
      ...(added.length ? [`${what} not there before: ${added.join('; ')}`] : []),
    ];
  };
  return [
    ...diff('services', before.services, after.services),
    ...diff('objects', before.objects, after.objects),
  ];
}

const cold = (reason: string): QuickPlan => ({ kind: 'cold', reason });

/**
 * Can this head run quick on this host? Every "no" is a cold run with the reason on the card;
 * nothing is touched while planning.
 */
export async function planQuick(input: {
  readonly docker: DockerPort;
  readonly git: Git;
  readonly stateDir: string;
  readonly recipe: string;
  readonly head: RecipeCheckout;
  readonly config: LoadedRecipeConfig;
  /** The run locks: a canonical another run holds is not waited for. */
  readonly locks: Pick<RunLocks, 'isHeld'>;
  readonly deployer: 'docker' | 'abra';
}): Promise<QuickPlan> {
  const { docker, head, recipe } = input;
  if (input.deployer !== 'docker')
    return cold('quick runs put the canonical back with the docker deployer only');
  if (input.config.skip.upgrade)
    return cold(
      `cc-ci.yml skips the upgrade (${input.config.skip.upgrade}), and a quick run is an upgrade from the canonical`,
    );
  let canonical: Canonical | null;
  try {
    canonical = await canonicalStore(input.stateDir).get(recipe);
  } catch (err) {
    return cold(`the canonical record of ${recipe} is unreadable (${errorMessage(err)})`);
  }
  if (!canonical)
    return cold(
      `there is no warm canonical of ${recipe} on this host (the weekly sweep keeps one when cc-ci.yml sets warm_canonical: true)`,
    );
  const { version, stack } = canonical;
  if (!head.version || compareVersions(head.version, version) <= 0)
    return cold(
      `the head's version ${head.version ?? '(none)'} is not newer than the canonical's ${version}: a quick run upgrades from the canonical`,
    );
  const tagCommit = await input.git.resolveCommit(head.dir, `refs/tags/${version}`);
  if (tagCommit !== canonical.commit)
    return cold(
      `the head's repository ${tagCommit ? `has ${version} at ${tagCommit.slice(0, 12)}, not at the canonical's ${canonical.commit.slice(0, 12)}` : `has no release tag ${version}`}`,
    );
  if (await input.locks.isHeld(canonical.domain))
    return cold(`the warm canonical ${stack} is in use by another run`);
  const services = await docker.listServices(stack);
  if (!runsAsRecorded(services, stack, version))
    return cold(`the canonical's stack ${stack} is not running ${version}, warm, as recorded`);
  const unfinished = await unfinishedSnapshot(input.stateDir, stack);
  if (unfinished)
    return cold(
      `a quick run on the canonical did not finish putting it back (its snapshot is in ${unfinished}); the next sweep replaces the canonical`,
    );
  const missing = await missingSecrets(docker, head, stack);
  if (missing.length)
    return cold(
      `the head needs secret(s) the canonical does not have (${missing.join(', ')}); a cold run generates them`,
    );
  const secrets = await warmSecretStore(input.stateDir)
    .get(stack)
    .catch(() => null);
  if (!secrets)
    return cold(
      `the values of the canonical's secrets are not on record on this host, so a quick run could not keep them out of its logs`,
    );
  const labels = Object.fromEntries(
    Object.entries(services[0]!.labels).filter(([k]) => k.startsWith('cc-ci.')),
  );
  return {
    kind: 'quick',
    target: {
      canonical,
      labels: { ...labels, [LABEL_WARM]: 'true' },
      chaos: services.every((s) => s.labels[`coop-cloud.${stack}.chaos`] === 'true'),
      before: await canonicalState(docker, stack),
      secrets,
    },
  };
}

/**
 * Does the stack run the recorded release, warm, with no service scaled to 0 (a run killed while
 * it had the canonical stopped leaves the labels as they were)?
 */
export function runsAsRecorded(
  services: readonly ServiceInfo[],
  stack: string,
  version: string,
): boolean {
  return (
    services.length > 0 &&
    services.every((s) => s.labels[LABEL_WARM] === 'true' && s.replicas !== 0) &&
    services.some((s) => s.labels[`coop-cloud.${stack}.version`] === version)
  );
}

/** The file in a quick run's snapshot directory naming the stack it snapshotted. */
const SNAPSHOT_STACK_FILE = 'stack';

/**
 * The snapshot directory a quick run left for this stack — it is removed only once the
 * canonical was put back as it was — or null.
 */
export async function unfinishedSnapshot(stateDir: string, stack: string): Promise<string | null> {
  const dir = join(stateDir, 'snapshots');
  const runs = await readdir(dir).catch(() => [] as string[]);
  for (const run of runs) {
    const named = await readFile(join(dir, run, SNAPSHOT_STACK_FILE), 'utf8').catch(() => '');
    if (named.trim() === stack) return join(dir, run);
  }
  return null;
}

/** Secrets the head's .env.sample declares that do not exist on the canonical's stack. */
async function missingSecrets(
  docker: DockerPort,
  head: RecipeCheckout,
  stack: string,
): Promise<string[]> {
  const envText = await readFile(join(head.dir, '.env.sample'), 'utf8').catch(() => '');
  const existing = new Set(
    (await docker.listObjectsByPrefix('secret', `${stack}_`)).map((o) => o.name),
  );
  return secretSpecs(parseEnvFile(envText))
    .map((spec) => secretObjectName(stack, spec.name, spec.version))
    .filter((name) => !existing.has(name));
}

export interface SnapshotVolume {
  readonly volume: string;
  readonly file: string;
  /** `md5sum` of every file, sorted by path: the volume's content when it was taken. */
  readonly sum: string;
}

export interface QuickRestore {
  readonly restored: boolean;
  readonly detail: string;
}

/** `find`+`md5sum` of the volume's files: equal sums, equal content. */
const SUM_SCRIPT = 'cd /volume && find . -type f -exec md5sum {} + | sort -k 2';
const CLEAR_SCRIPT = 'find /volume -mindepth 1 -maxdepth 1 -exec rm -rf {} +';

/**
 * The canonical's stack during a quick run: stop it, snapshot and restore its volumes. Stops are
 * graceful (the canonical's data matters), bounded; the restore's last resort is a kill, since
 * what is then running is the head over data that is about to be replaced.
 */
export class QuickCanonical {
  private snapshot: SnapshotVolume[] | null = null;
  /** Set once the run first stopped the canonical: from then on it must be put back. */
  touched = false;

  constructor(
    readonly target: QuickTarget,
    private readonly io: {
      readonly docker: DockerPort;
      readonly helperImage: string;
      /** The run's own labels: a killed run's helper containers are reaped by the janitor. */
      readonly runLabels: Readonly<Record<string, string>>;
      readonly dir: string;
      readonly log: RunLogger;
    },
  ) {}

  get stack(): string {
    return this.target.canonical.stack;
  }

  private helper(volume: string) {
    return { image: this.io.helperImage, volume, labels: this.io.runLabels };
  }

  /** Why the canonical is not what the plan saw (record, services, objects), or null. */
  async changedSincePlan(stateDir: string): Promise<string | null> {
    const { canonical, before } = this.target;
    const record = await canonicalStore(stateDir)
      .get(canonical.recipe)
      .catch(() => null);
    if (record?.run_id !== canonical.run_id || record.commit !== canonical.commit)
      return `the record is now ${record ? `${record.version} from ${record.run_id}` : 'gone'}`;
    const now = await canonicalState(this.io.docker, this.stack);
    const differences = stateDifferences(before, now);
    return differences.length ? differences.join('; ') : null;
  }

  /** Scale every service to 0 and wait until none of its containers runs. */
  async stop(opts: { killAfterMs?: number } = {}): Promise<void> {
    const { docker } = this.io;
    this.touched = true;
    for (const s of await docker.listServices(this.stack)) await docker.scaleService(s.name, 0);
    const stopped = async () => {
      for (const s of await docker.listServices(this.stack))
        if ((await docker.listTasks(s.name)).some((t) => !TASK_ENDED.has(t.state))) return false;
      return true;
    };
    try {
      await waitUntil(stopped, { timeoutMs: opts.killAfterMs ?? 120_000, intervalMs: 500 });
    } catch {
      if (opts.killAfterMs === undefined)
        throw new InfraError('DOCKER_FAILED', `the stack ${this.stack} did not stop within 120 s`);
      await docker.killStackContainers(this.stack);
      await waitUntil(stopped, { timeoutMs: 30_000, intervalMs: 500 });
    }
  }

  private async sumOf(volume: string): Promise<string> {
    const res = await this.io.docker.volumeScript(this.helper(volume), SUM_SCRIPT, []);
    if (res.exitCode !== 0)
      throw new InfraError(
        'DOCKER_FAILED',
        `could not read ${volume}: ${res.stderr.trim().slice(0, 300)}`,
      );
    return res.stdout;
  }

  /** Stop the canonical and copy every volume of its stack to a file of the run. */
  async take(): Promise<readonly SnapshotVolume[]> {
    await mkdir(this.io.dir, { recursive: true, mode: 0o700 });
    // Written before anything is touched: a kill from here on leaves a mark planQuick and the
    // sweep see (unfinishedSnapshot), until the restore removes the directory.
    await writeFile(join(this.io.dir, SNAPSHOT_STACK_FILE), this.stack + '\n');
    await this.stop();
    const volumes = this.target.before.objects
      .filter((o) => o.startsWith('volume '))
      .map((o) => o.slice('volume '.length));
    const taken: SnapshotVolume[] = [];
    for (const [i, volume] of volumes.entries()) {
      const file = join(this.io.dir, `${i}.tar`);
      const sum = await this.sumOf(volume);
      const res = await this.io.docker.archiveVolume(this.helper(volume), [], file);
      if (res.exitCode !== 0)
        throw new InfraError(
          'DOCKER_FAILED',
          `could not snapshot ${volume}: ${res.stderr.trim().slice(0, 300)}`,
        );
      taken.push({ volume, file, sum });
    }
    this.snapshot = taken;
    this.io.log.info(
      `snapshot of the canonical ${this.target.canonical.version} (${this.stack}): ${taken.length} volume(s), taken with its services stopped`,
    );
    return taken;
  }

  /**
   * Put the canonical back: stop what runs, every volume back to its snapshot (content checked),
   * the canonical's release redeployed and ready, what the head added removed, and the result
   * compared with the canonical as it was. Never throws: a failure is in the answer.
   */
  async restore(redeploy: () => Promise<void>): Promise<QuickRestore> {
    const problems: string[] = [];
    const step = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        problems.push(`${what}: ${errorMessage(err)}`);
      }
    };
    const { docker, log } = this.io;
    log.info(`putting the canonical ${this.target.canonical.version} back (${this.stack})`);
    await step('stop the head', () => this.stop({ killAfterMs: 60_000 }));
    // Never empty a volume something may still write to.
    const stopped = problems.length === 0;
    for (const snap of stopped ? (this.snapshot ?? []) : []) {
      await step(`restore ${snap.volume}`, async () => {
        const clear = await docker.volumeScript(this.helper(snap.volume), CLEAR_SCRIPT, []);
        if (clear.exitCode !== 0) throw new Error(clear.stderr.trim().slice(0, 300));
        const res = await docker.restoreVolume(this.helper(snap.volume), snap.file);
        if (res.exitCode !== 0) throw new Error(res.stderr.trim().slice(0, 300));
        if ((await this.sumOf(snap.volume)) !== snap.sum)
          throw new Error('its content differs from the snapshot after the restore');
      });
    }
    await step(`redeploy ${this.target.canonical.version}`, redeploy);
    await step('remove what the head added', () => this.removeAdded());
    const after = await canonicalState(docker, this.stack).catch((err: unknown): CanonicalState => {
      problems.push(`read the canonical: ${errorMessage(err)}`);
      return { services: [], objects: [] };
    });
    problems.push(...stateDifferences(this.target.before, after));
    // The snapshot is the only copy of the canonical's data until the canonical is as it was.
    if (problems.length === 0)
      await rm(this.io.dir, { recursive: true, force: true }).catch(() => undefined);
    const detail = problems.length
      ? `the canonical is not as it was: ${problems.join('; ')}; its snapshot is kept in ${this.io.dir}`
      : `the canonical runs ${this.target.canonical.version} again${this.snapshot ? `, its ${this.snapshot.length} volume(s) as snapshotted` : ' (no snapshot was needed: nothing had been changed)'}`;
    if (problems.length) log.error(detail);
    else log.info(detail);
    return { restored: problems.length === 0, detail };
  }

  /** Volumes, secrets and configs of the stack the canonical did not have (the head's). */
  private async removeAdded(): Promise<void> {
    const { docker } = this.io;
    const now = await canonicalState(docker, this.stack);
    for (const entry of now.objects.filter((o) => !this.target.before.objects.includes(o))) {
      const [kind, name] = entry.split(' ') as [SwarmObjectKind, string];
      // A volume or config stays "in use" until the pruned service's tasks are gone.
      await waitUntil(
        () =>
          docker
            .removeObject(kind, name)
            .then(() => true)
            .catch(() => false),
        { timeoutMs: 30_000, intervalMs: 500 },
      );
    }
  }
}
