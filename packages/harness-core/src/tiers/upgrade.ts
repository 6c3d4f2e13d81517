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
import { judgeUpdate, proveUpgrade } from '../domain/rollback.js';
import type { TestRow } from '../domain/results.js';
import type { RecipeCheckout } from '../ports/deployer.js';
import type { TierContext, TierOutcome, UpgradeBase, UpgradeTier } from './types.js';
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

  async upgrade(ctx: TierContext, base: UpgradeBase): Promise<TierOutcome> {
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
    const expect = chaosVersion(ctx.head.commit, ctx.head.dirty);

    ctx.log.info(
      `redeploying the head ${ctx.head.version} in chaos mode over ${base.base.version}`,
    );
    const upgraded = await ctx.deployer.deploy({ ...ctx.headRequest, chaos: true });
    ctx.shared.upgradedApp = upgraded;

    // Wait for swarm's update to settle, or for a rollback: bounded by the deploy timeout.
    const deadline = Date.now() + ctx.config.deployTimeoutS * 1000;
    let judgement = judgeUpdate(
      await ctx.docker.listServices(ctx.app.stack),
      expect,
      ctx.app.stack,
    );
    // Give swarm a moment to register the update before trusting "done".
    const settleUntil = Date.now() + 3000;
    while (
      (judgement.state === 'waiting' || Date.now() < settleUntil) &&
      Date.now() < deadline &&
      judgement.state !== 'failed'
    ) {
      await new Promise((r) => setTimeout(r, UPDATE_POLL_MS));
      judgement = judgeUpdate(await ctx.docker.listServices(ctx.app.stack), expect, ctx.app.stack);
    }
    if (judgement.state === 'failed') {
      row('no rollback', false, judgement.reason);
      return { status: 'fail', reason: judgement.reason, tests: rows };
    }
    if (judgement.state === 'waiting') {
      const reason = `the update did not finish within ${ctx.config.deployTimeoutS} s (${judgement.detail})`;
      row('update completes', false, reason);
      return { status: 'fail', reason, tests: rows };
    }
    // Converged and answering; a rollback can still begin while the new task is monitored.
    try {
      await ctx.waitReady();
    } catch (err) {
      const reason = `the head did not become ready after the upgrade: ${(err as Error).message}`;
      row('head converges and answers', false, reason);
      return { status: 'fail', reason, tests: rows };
    }
    const after = await ctx.docker.listServices(ctx.app.stack);
    const late = judgeUpdate(after, expect, ctx.app.stack);
    if (late.state === 'failed') {
      row('no rollback', false, late.reason);
      return { status: 'fail', reason: late.reason, tests: rows };
    }
    row('no rollback', true);
    row('head converges and answers', true);
    for (const proof of proveUpgrade({
      services: after,
      stack: ctx.app.stack,
      expectChaosVersion: expect,
      baseVersions,
    })) {
      row(proof.name, proof.ok, proof.message);
    }

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
    const failed = rows.filter((r) => r.status === 'fail');
    return failed.length
      ? { status: 'fail', reason: failed.map((r) => r.message || r.name).join('; '), tests: rows }
      : { status: 'pass', tests: rows };
  },
};
