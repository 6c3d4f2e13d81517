/**
 * The upgrade tier (L2): deploy the previous release, seed data, redeploy the PR head in chaos
 * mode, and prove it — the head's chaos-version label is what runs, the version label moved, the
 * update completed without a rollback, the app converged and answers, and the seeded data
 * survived. See docs/tiers/upgrade.md.
 */
import { chaosVersion } from '../domain/versions.js';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import { createGit } from '../adapters/git/git.js';
import { chooseUpgradeBases } from '../domain/upgrade-base.js';
import { judgeUpdate, proveUpgrade, type UpgradeJudgement } from '../domain/rollback.js';
import type { TestRow } from '../domain/results.js';
import type { RecipeCheckout } from '../ports/deployer.js';
import type {
  TierContext,
  TierOutcome,
  UpdateMonitor,
  UpgradeBase,
  UpgradeOptions,
  UpgradeTier,
} from './types.js';
import type { ServiceInfo } from '../ports/docker.js';
import { describeExec, runningContainer, volumeMounts } from './containers.js';
import { readDataTokens, writeDataToken } from './data-probe.js';

const MARKER_FILE = '.ccci-upgrade-marker';
/** How often the upgrade re-reads swarm's update status (a few ms each over the Engine API). */
const UPDATE_POLL_MS = 250;

export interface UpgradeSeed {
  readonly service: string;
  readonly path: string;
  readonly token: string;
  /** The volume's name on the daemon (the marker is read back through a volume helper). */
  readonly volume: string;
}

export const upgradeTier: UpgradeTier = {
  name: 'upgrade',

  async resolveBases(ctx) {
    // The canonical's release (deployed fresh from its tag: a cold run never touches the warm
    // deploy itself), else the newest older release; older ones follow for upgrade_paths > 1.
    const choice = chooseUpgradeBases({
      headVersion: ctx.head.version,
      releases: ctx.head.releases,
      canonical: ctx.canonicalVersion ? { version: ctx.canonicalVersion } : null,
      paths: ctx.config.upgradePaths,
    });
    if (choice.kind === 'skip') return { kind: 'skip', reason: choice.reason };
    if (choice.short) ctx.log.warn(`${choice.short}: testing ${choice.bases.length} path(s)`);
    const git = createGit();
    const bases: UpgradeBase[] = [];
    for (const [i, { version, source }] of choice.bases.entries()) {
      const sha = await git.resolveCommit(ctx.head.dir, `refs/tags/${version}`);
      if (!sha)
        throw new InfraError('GIT_FAILED', `release tag ${version} does not resolve to a commit`);
      // The newest base (the single path's) keeps the run directory's `base/`.
      const dir = join(ctx.runDir, i === choice.bases.length - 1 ? 'base' : `base-${version}`);
      await git.cloneLocal(ctx.head.dir, dir, sha);
      const base: RecipeCheckout = {
        name: ctx.head.name,
        dir,
        commit: sha,
        dirty: false,
        version,
        releases: ctx.head.releases,
      };
      ctx.log.info(
        `upgrade base: ${version} (${source === 'canonical' ? 'the warm canonical' : i === choice.bases.length - 1 ? 'newest older release' : 'an older release'}) → head ${ctx.head.version}`,
      );
      bases.push({ base, env: ctx.config.upgradeExtraEnv });
    }
    return { kind: 'bases', value: bases };
  },

  async seed(ctx: TierContext, _base: UpgradeBase) {
    // Rows in the app's own store, through the recipe's data probe (a database the head migrates).
    const probe = ctx.config.dataProbe;
    if (probe) ctx.shared.upgradeRow = await writeDataToken(ctx, probe, 'on the old release');
    // A marker in the first volume of the first service that has one.
    for (const svc of ctx.app.services) {
      const container = await runningContainer(ctx.docker, svc.fullName);
      const mounts = await volumeMounts(ctx.docker, ctx.app.stack, container);
      const mount = mounts[0];
      if (!mount) continue;
      const token = randomBytes(12).toString('hex');
      const path = `${mount.destination}/${MARKER_FILE}`;
      // Written through a volume helper, as backups are: the app image may have no shell.
      const helper = {
        image: ctx.volumeHelperImage,
        volume: mount.dockerName,
        labels: ctx.headRequest.labels,
      };
      const res = await ctx.docker.volumeScript(helper, 'cat > "/volume/$1"', [MARKER_FILE], token);
      if (res.exitCode !== 0)
        throw new InfraError(
          'DOCKER_FAILED',
          `could not seed ${path} in ${svc.fullName}: ${describeExec(res)}`,
        );
      ctx.shared.upgradeSeed = {
        service: svc.fullName,
        path,
        token,
        volume: mount.dockerName,
      } satisfies UpgradeSeed;
      ctx.log.info(`seeded a marker into ${svc.name}:${path}`);
      return;
    }
    ctx.log.warn('no service mounts a volume: the upgrade cannot check that data survives');
  },

  async upgrade(
    ctx: TierContext,
    base: UpgradeBase,
    opts: UpgradeOptions = {},
  ): Promise<TierOutcome> {
    const t0 = Date.now();
    const rows: TestRow[] = [];
    const row = (name: string, ok: boolean, message = '') =>
      rows.push({
        name,
        status: ok ? 'pass' : 'fail',
        ms: Date.now() - t0,
        ...(message ? { message } : {}),
      });
    const versionLabel = `coop-cloud.${ctx.app.stack}.version`;
    const before = await ctx.docker.listServices(ctx.app.stack);
    const baseVersions = Object.fromEntries(before.map((s) => [s.name, s.labels[versionLabel]]));
    const baseTasks = new Set((await runningTasks(ctx, before)).map((t) => t.id));
    const expect = chaosVersion(ctx.head.commit, ctx.head.dirty);

    ctx.log.info(
      `redeploying the head ${ctx.head.version} in chaos mode over ${base.base.version}`,
    );
    const upgraded = await ctx.deployer.deploy({ ...ctx.headRequest, chaos: true });
    ctx.shared.upgradedApp = upgraded;

    // Wait for swarm's update to settle, or for a rollback: bounded by the deploy timeout. With
    // overlapMonitor, also until every task of the update is the head's and the head is ready.
    const deadline = Date.now() + ctx.config.deployTimeoutS * 1000;
    const headUp = opts.overlapMonitor ? () => headReady(ctx, baseTasks) : undefined;
    const waited = await waitForUpdate(ctx, expect, deadline, 3000, headUp);
    if (waited.state === 'failed') {
      row('no rollback', false, waited.reason);
      return { status: 'fail', reason: waited.reason, tests: rows };
    }
    if (waited.state === 'waiting') {
      const reason = `the update did not finish within ${ctx.config.deployTimeoutS} s (${waited.detail})`;
      row('update completes', false, reason);
      return { status: 'fail', reason, tests: rows };
    }
    if (waited.state !== 'head-ready') {
      // Converged and answering; a rollback can still begin while the new task is monitored.
      try {
        await ctx.waitReady();
      } catch (err) {
        const reason = `the head did not become ready after the upgrade: ${(err as Error).message}`;
        row('head converges and answers', false, reason);
        return { status: 'fail', reason, tests: rows };
      }
    }
    const after = await ctx.docker.listServices(ctx.app.stack);
    const late = judgeUpdate(after, expect, ctx.app.stack);
    if (late.state === 'failed') {
      row('no rollback', false, late.reason);
      return { status: 'fail', reason: late.reason, tests: rows };
    }
    // While swarm still monitors the update, "no rollback" is decided by the monitor (below).
    const monitoring = waited.state === 'head-ready' && late.state === 'waiting';
    const readyTasks = monitoring ? await runningIds(ctx) : '';
    if (!monitoring) row('no rollback', true);
    row('head converges and answers', true);
    for (const proof of proveUpgrade({
      services: after,
      stack: ctx.app.stack,
      expectChaosVersion: expect,
      baseVersions,
    })) {
      row(proof.name, proof.ok, proof.message);
    }

    rows.push(...(await dataSurvived(ctx, base, t0)));
    if (monitoring) {
      const monitor = updateMonitor(ctx, expect, deadline, readyTasks);
      // Only a head that passed everything else runs the later tiers over the monitor.
      if (!rows.some((r) => r.status === 'fail')) {
        ctx.shared.updateMonitor = monitor;
        return {
          status: 'pass',
          tests: rows,
          pending:
            "the head is ready while swarm still monitors its update: install and the later tiers run over the monitor, and the upgrade's verdict waits for it",
        };
      } else {
        const settled = await monitor.settle();
        if ('rows' in settled)
          rows.push(...settled.rows.map((r) => ({ ...r, ms: Date.now() - t0 })));
        else row('no rollback', false, settled.void);
      }
    }
    const failed = rows.filter((r) => r.status === 'fail');
    return failed.length
      ? { status: 'fail', reason: failed.map((r) => r.message || r.name).join('; '), tests: rows }
      : { status: 'pass', tests: rows };
  },
};

/** The upgrade's rows on the data seeded into the base: the marker, and the data probe's row. */
async function dataSurvived(ctx: TierContext, base: UpgradeBase, t0: number): Promise<TestRow[]> {
  const rows: TestRow[] = [];
  const row = (name: string, ok: boolean, message = '') =>
    rows.push({
      name,
      status: ok ? 'pass' : 'fail',
      ms: Date.now() - t0,
      ...(message ? { message } : {}),
    });
  const seed = ctx.shared.upgradeSeed;
  if (seed) {
    const res = await ctx.docker.volumeScript(
      { image: ctx.volumeHelperImage, volume: seed.volume, labels: ctx.headRequest.labels },
      'cat "/volume/$1"',
      [MARKER_FILE],
    );
    const ok = res.exitCode === 0 && res.stdout === seed.token;
    row(
      'seeded data survived',
      ok,
      ok
        ? ''
        : `marker ${seed.path} ${res.exitCode === 0 ? 'changed' : 'is gone'} after the upgrade`,
    );
  } else {
    rows.push({
      name: 'seeded data survived',
      status: 'skip',
      ms: Date.now() - t0,
      message: 'no volume to seed',
    });
  }
  const row0 = ctx.shared.upgradeRow;
  if (row0 && ctx.config.dataProbe) {
    const read = await readDataTokens(ctx, ctx.config.dataProbe);
    row(
      'rows written on the old release survived',
      !('error' in read) && read.tokens.has(row0),
      'error' in read
        ? `the data probe could not read after the upgrade: ${read.error}`
        : read.tokens.has(row0)
          ? ''
          : `the row written on ${base.base.version} (${row0}) is gone after the upgrade to ${ctx.head.version} (does the migration keep the data?)`,
    );
  }
  return rows;
}

/** Task states after which a task's container no longer runs. */
const ENDED = new Set(['complete', 'shutdown', 'failed', 'rejected', 'orphaned', 'remove']);

/** The tasks of these services that swarm wants running and that run. */
async function runningTasks(ctx: TierContext, services: readonly ServiceInfo[]) {
  const tasks = await Promise.all(services.map((s) => ctx.docker.listTasks(s.name)));
  return tasks.flat().filter((t) => t.desiredState === 'running' && t.state === 'running');
}

/** The running tasks of the app now (sorted ids, comma-joined). */
async function runningIds(ctx: TierContext): Promise<string> {
  const services = await ctx.docker.listServices(ctx.app.stack);
  return (await runningTasks(ctx, services))
    .map((t) => t.id)
    .sort()
    .join(',');
}

/**
 * Has swarm replaced every task of the services it is updating, with no task of the base left
 * running (a start-first base still stopping shares the volumes and the network), and is the
 * head then ready? Readiness failing here is not a verdict: the caller goes on waiting for the
 * update to end and judges the head then, as without the overlap.
 */
async function headReady(ctx: TierContext, baseTasks: ReadonlySet<string>): Promise<HeadState> {
  for (const svc of await ctx.docker.listServices(ctx.app.stack)) {
    if (svc.updateStatus?.state !== 'updating') continue;
    const tasks = await ctx.docker.listTasks(svc.name);
    // Swarm may report a stopped task as running for seconds: the daemon knows (a container it
    // does not know, e.g. on another node, counts as running until swarm says otherwise).
    for (const t of tasks.filter((x) => baseTasks.has(x.id) && !ENDED.has(x.state)))
      if (!t.containerId || (await ctx.docker.containerRunning(t.containerId)) !== false)
        return 'not yet';
    const fresh = tasks.filter(
      (t) => t.desiredState === 'running' && t.state === 'running' && !baseTasks.has(t.id),
    );
    if (fresh.length < (svc.replicas ?? 1)) return 'not yet';
  }
  try {
    await ctx.waitReady();
    return 'ready';
  } catch (err) {
    ctx.log.warn(
      `the head is not ready while swarm updates it (${(err as Error).message}): waiting for the update to end before judging it`,
    );
    return 'not ready';
  }
}

/** Whether the head is ready while swarm still monitors its update. */
type HeadState = 'ready' | 'not yet' | 'not ready';

type UpdateWait = UpgradeJudgement | { readonly state: 'head-ready' };

/**
 * Poll swarm's update status until it ends (done or failed), the deadline passes (waiting), or
 * headUp says the head is ready while swarm still monitors the update. `minMs` gives swarm a
 * moment to register the update before "done" is trusted; headUp is asked once at most.
 */
async function waitForUpdate(
  ctx: TierContext,
  expect: string,
  deadline: number,
  minMs: number,
  headUp?: () => Promise<HeadState>,
): Promise<UpdateWait> {
  const trustFrom = Date.now() + minMs;
  let ask = headUp;
  for (;;) {
    const judgement = judgeUpdate(
      await ctx.docker.listServices(ctx.app.stack),
      expect,
      ctx.app.stack,
    );
    if (judgement.state === 'failed') return judgement;
    if (Date.now() >= trustFrom) {
      if (judgement.state === 'done') return judgement;
      const up = ask ? await ask() : 'not yet';
      if (up === 'ready') return { state: 'head-ready' };
      // A head that was not ready at the first try is judged after the update, as usual.
      if (up === 'not ready') ask = undefined;
    }
    if (Date.now() >= deadline) return judgement;
    await new Promise((r) => setTimeout(r, UPDATE_POLL_MS));
  }
}

/**
 * The monitor of an update the head was found ready in: settling it waits for swarm's update to
 * end. It ended well when swarm completed it and the head's running tasks are still the ones
 * that were ready (no task failed or was replaced meanwhile, whatever the recipe's
 * failure_action); anything else voids what ran over it.
 */
function updateMonitor(
  ctx: TierContext,
  expect: string,
  deadline: number,
  readyTasks: string,
): UpdateMonitor {
  let settled: ReturnType<UpdateMonitor['settle']> | undefined;
  const settle: UpdateMonitor['settle'] = async () => {
    const end = await waitForUpdate(ctx, expect, deadline, 0);
    if (end.state === 'failed') return { void: end.reason };
    if (end.state !== 'done')
      return {
        void: `the update did not finish within ${ctx.config.deployTimeoutS} s (${'detail' in end ? end.detail : end.state})`,
      };
    const now = await runningIds(ctx);
    if (now !== readyTasks)
      return {
        void: `the head's tasks were replaced while swarm monitored the update (ready: ${readyTasks || 'none'}; when it ended: ${now || 'none'})`,
      };
    return {
      rows: [
        { name: 'no rollback', status: 'pass', ms: 0 },
        { name: 'the ready head ran unchanged through the update monitor', status: 'pass', ms: 0 },
      ],
    };
  };
  return { settle: () => (settled ??= settle()) };
}
