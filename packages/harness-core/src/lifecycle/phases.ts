/**
 * The phases of a run that holds its lock, in order (docs/domain.md, "How a run flows"):
 * app prerequisites (compose validation, secrets, install hook) → the upgrade phase (base
 * deploy, seed, chaos redeploy of the head, proofs) → install verified on the head → backup →
 * restore → custom → lint. Each phase records its stages in the run state; gating and rung
 * rules are the pure functions of rungs.ts.
 */
import { AbortedError, InfraError, InputError, RecipeError } from '../errors.js';
import { runProcess } from '../adapters/process/run-process.js';
import { hostEnv } from '../adapters/process/host-env.js';
import type { TestRow } from '../domain/results.js';
import type { DeployedApp } from '../ports/deployer.js';
import type { UpdateMonitor, UpgradeBase } from '../tiers/types.js';
import { baseEnv } from './prepare.js';
import {
  classify,
  combinePaths,
  gateTier,
  skipReason,
  stageOf,
  type UpgradePath,
} from './rungs.js';
import type { QuickSession, RunSession } from './session.js';
import type { RunLogger } from '../tiers/types.js';

export async function runPhases(s: RunSession): Promise<void> {
  await prerequisites(s);
  await prestart(s);
  await onTheHead(s, await upgradePhase(s, { overlap: true }));
  await laterTiers(s, ['lint']);
}

/** The tiers that use the running app, after install. */
const APP_TIERS = ['backup', 'restore', 'custom'] as const;

/** An upgrade whose verdict waits for swarm's update monitor, which install and the app's tiers run over. */
interface PendingUpgrade {
  readonly bases: readonly UpgradeBase[];
  readonly paths: UpgradePath[];
  readonly monitor: UpdateMonitor;
  readonly t0: number;
  readonly pathT0: number;
}

/**
 * Install, then the app's tiers, on the head. When the upgrade left swarm's update monitor
 * running, they run over it, and the upgrade's verdict waits for it: when the monitor ends badly
 * (a rollback, a task replaced), everything that ran over it is void and the run starts over,
 * this time waiting for the monitor before anything else, so the verdicts are those of a run
 * without the overlap (docs/tiers/upgrade.md).
 */
async function onTheHead(s: RunSession, pending: PendingUpgrade | null): Promise<void> {
  const onHead = async () => {
    await installPhase(s);
    await laterTiers(s, APP_TIERS);
  };
  if (!pending) return onHead();
  const { state } = s.parts;
  let failure: unknown = null;
  try {
    await onHead();
  } catch (err) {
    if (err instanceof AbortedError) throw err;
    failure = err;
  }
  const settled = await pending.monitor.settle();
  if ('rows' in settled) {
    const last = pending.paths.at(-1)!;
    const ms = Date.now() - pending.pathT0;
    pending.paths[pending.paths.length - 1] = {
      ...last,
      stage: {
        ...last.stage,
        duration_ms: ms,
        tests: [...last.stage.tests, ...settled.rows.map((r) => ({ ...r, ms }))],
      },
    };
    state.upgradePaths = pending.paths;
    state.setStage('upgrade', combinePaths(pending.paths, Date.now() - pending.t0));
    s.tierLog('upgrade').info(
      `upgrade: ${state.stages.upgrade!.status} — swarm's update monitor ended, the head's tasks unchanged (${Math.round(ms / 100) / 10} s)`,
    );
    if (failure) throw failure;
    return;
  }
  s.tierLog('upgrade').warn(
    `swarm's update monitor ended badly while install and the later tiers ran over it (${s.parts.prepared.redactor.redact(settled.void)}): what they found is void`,
  );
  for (const tier of ['install', ...APP_TIERS] as const) state.clearStage(tier);
  await startOver(
    s,
    'starting over: the upgrade runs again, and nothing else runs until swarm ends its update monitor',
  );
  await onTheHead(s, await upgradePhase(s, { overlap: false, bases: pending.bases }));
}

function skipOf(s: RunSession, tier: Parameters<typeof skipReason>[0]): string | null {
  const { state, prepared, options } = s.parts;
  const skip = skipReason(tier, state.requested, prepared.config.skip, options.recipe);
  if (skip || !s.parts.quick || (tier !== 'backup' && tier !== 'restore')) return skip;
  return 'quick run: backup and restore run only in a cold run (!testme), never on the warm canonical';
}

/** Compose validation, the run's secrets (redacted from then on), the recipe's install hook. */
async function prerequisites(s: RunSession): Promise<void> {
  const { deployer, prepared, deps } = s.parts;
  await deployer.validate?.(s.headRequest);
  if (s.parts.quick) {
    // The canonical's secrets are the head's (planQuick checked each one exists).
    for (const secret of s.parts.quick.canonical.target.secrets)
      prepared.redactor.add(secret.name, secret.value);
    s.log.info(
      `quick run: the head reuses the canonical's ${s.parts.quick.canonical.target.secrets.length} secret(s); their values are redacted from every output; the install hook is not run (the canonical is installed)`,
    );
    return;
  }
  const secrets = await deployer.createSecrets(s.headRequest);
  for (const secret of secrets) prepared.redactor.add(secret.name, secret.value);
  s.log.info(`generated ${secrets.length} secret(s); their values are redacted from every output`);

  const hook = prepared.config.installHook;
  if (!hook) return;
  s.log.info(`running install hook: ${hook.join(' ')}`);
  const res = await runProcess(hook[0]!, hook.slice(1), {
    cwd: prepared.head.dir,
    env: hostEnv(prepared.env),
    timeoutMs: 300_000,
    signal: deps.signal,
  });
  if (res.exitCode !== 0)
    throw new RecipeError(
      'BAD_RECIPE',
      `install hook exited ${res.exitCode}: ${prepared.redactor.redact(res.stderr.trim().slice(-500))}`,
    );
}

/**
 * What the app's later tiers can start before the app exists (the custom tier's Jest), started
 * now, while the swarm has the deploys to do; only for a tier that is to run. The finish stops
 * what no tier took. A tier that cannot start early starts late, as it would without this.
 */
async function prestart(s: RunSession): Promise<void> {
  for (const tier of APP_TIERS) {
    const impl = s.parts.tiers.others[tier];
    if (!impl?.prestart || skipOf(s, tier)) continue;
    await impl.prestart(s.preDeployContext(tier)).catch((err: unknown) => {
      s.tierLog(tier).warn(
        `could not start early (${(err as Error).message}): it starts in its turn`,
      );
    });
  }
}

/** The bases of the upgrade paths, or null (the upgrade's stage is then decided here). */
async function resolveBases(s: RunSession): Promise<readonly UpgradeBase[] | null> {
  const { state, tiers } = s.parts;
  const skip = skipOf(s, 'upgrade');
  if (skip) {
    state.setStage('upgrade', stageOf('skip', 0, [], { reason: skip }));
    return null;
  }
  if (!tiers.upgrade) {
    state.setStage(
      'upgrade',
      stageOf('unver', 0, [], { reason: 'tier not implemented', code: 'INTERNAL' }),
    );
    return null;
  }
  const t0 = Date.now();
  const resolved = await tiers.upgrade.resolveBases(s.preDeployContext('upgrade'));
  if (resolved.kind === 'bases') return resolved.value;
  state.setStage('upgrade', stageOf('skip', Date.now() - t0, [], { reason: resolved.reason }));
  return null;
}

/**
 * With bases: each upgrade path is a fresh deploy of its base, seeded, then the head
 * chaos-redeployed over it and proven (oldest base first; the newest is the run's base
 * version). The upgrade passes only when every path does. A failed last path that leaves the
 * base running starts over with a fresh deploy of the head, so install is proven on the head.
 */
async function upgradePhase(
  s: RunSession,
  /** bases: those resolved before (their checkouts are in the run directory). */
  opts: { overlap: boolean; bases?: readonly UpgradeBase[] },
): Promise<PendingUpgrade | null> {
  const { state } = s.parts;
  const t0 = Date.now();
  if (s.parts.quick) {
    await quickUpgrade(s, s.parts.quick, t0);
    return null;
  }
  const bases = opts.bases ?? (await resolveBases(s));
  state.progress(bases ? 'upgrade' : 'install', 'running');
  if (!bases) return null;
  const paths: UpgradePath[] = [];
  let pathT0 = t0;
  for (const [i, base] of bases.entries()) {
    if (i > 0) await startOver(s, `the next upgrade path starts from a fresh ${base.base.version}`);
    pathT0 = Date.now();
    // Only the last path's monitor can have install and the later tiers run over it.
    paths.push(await upgradePath(s, base, undefined, opts.overlap && i === bases.length - 1));
  }
  const monitor = state.shared.updateMonitor;
  delete state.shared.updateMonitor;
  // The upgrade passed but for swarm's monitor: its verdict waits for it (onTheHead).
  if (monitor) return { bases, paths, monitor, t0, pathT0 };
  state.upgradePaths = paths;
  state.setStage('upgrade', combinePaths(paths, Date.now() - t0));
  // The last path's upgrade proved the head runs; else ask the swarm.
  if (paths.at(-1)!.stage.status === 'pass' || (state.app && (await s.headIsRunning())))
    return null;
  await startOver(
    s,
    'the head is not what runs after the failed upgrade: redeploying the head fresh to verify install',
  );
  return null;
}

/**
 * The quick run's one upgrade path: the canonical stopped and snapshotted, redeployed as it was
 * and seeded, then the head chaos-deployed over it and proven. The head never starts over fresh
 * on the canonical: when it is not what runs afterwards, install is unverified.
 */
async function quickUpgrade(s: RunSession, quick: QuickSession, t0: number): Promise<void> {
  const { state } = s.parts;
  state.progress('upgrade', 'running');
  const { canonical } = quick.canonical.target;
  // Planned before the lock: the canonical must still be what the plan saw (the sweep may have
  // replaced it meanwhile). Nothing is touched when it is not.
  const changed = await quick.canonical.changedSincePlan(s.parts.stateDir);
  if (changed)
    throw new InfraError(
      'DOCKER_FAILED',
      `the warm canonical changed between the quick run's plan and its lock (${changed}); nothing was touched: comment again`,
    );
  const base: UpgradeBase = { base: quick.request.recipe, env: {} };
  const path = await upgradePath(s, base, async (log) => {
    await quick.canonical.take();
    return s.redeployCanonical(log);
  });
  state.upgradePaths = [path];
  state.setStage('upgrade', combinePaths([path], Date.now() - t0));
  s.tierLog('upgrade').info(
    `quick run: upgrade from the warm canonical ${canonical.version}: ${path.stage.status}`,
  );
}

/** The base of an upgrade path deployed until ready: the head's app now runs the base. */
type BaseDeploy = (log: RunLogger) => Promise<DeployedApp>;

/** One upgrade path: a fresh deploy of the base (unverified when it does not start), then the tier. */
async function upgradePath(
  s: RunSession,
  base: UpgradeBase,
  deployBase?: BaseDeploy,
  overlapMonitor = false,
): Promise<UpgradePath> {
  const { state, deployer, prepared, tiers } = s.parts;
  const t0 = Date.now();
  const log = s.tierLog('upgrade');
  const version = base.base.version ?? 'unversioned';
  state.baseVersion = base.base.version;
  try {
    state.app = deployBase
      ? await deployBase(log)
      : (
          await s.freshDeploy(
            {
              ...s.headRequest,
              recipe: base.base,
              env: await baseEnv(prepared, base),
              chaos: false,
            },
            `upgrade base ${version}`,
            log,
          )
        ).app;
  } catch (err) {
    if (err instanceof AbortedError) throw err;
    const c = classify(err);
    const row: TestRow = {
      name: 'base deploys',
      status: 'unver',
      ms: Date.now() - t0,
      message: c.reason,
      code: c.code,
    };
    // A fresh base is removed; the canonical is put back by the finish (quick.ts).
    if (!s.parts.quick) await deployer.undeploy(prepared.stack).catch(() => undefined);
    state.app = null;
    return {
      base_version: version,
      stage: stageOf('unver', Date.now() - t0, [row], {
        reason: `base ${version} did not become ready: ${c.reason}`,
        code: c.code,
      }),
    };
  }
  const ctx = s.tierContext('upgrade', state.app);
  const stage = await s.tierStage('upgrade', async () => {
    // A retried attempt starts without the monitor of the one before.
    delete state.shared.updateMonitor;
    await tiers.upgrade!.seed(ctx, base);
    return tiers.upgrade!.upgrade(ctx, base, { overlapMonitor });
  });
  // An upgrade that did not pass has nothing for the monitor to decide.
  if (stage.status !== 'pass') delete state.shared.updateMonitor;
  state.app = state.currentApp(state.app);
  return { base_version: version, stage: { ...stage, duration_ms: Date.now() - t0 } };
}

/** Remove the app and its data and make the head's secrets again: the next deploy is fresh. */
async function startOver(s: RunSession, why: string): Promise<void> {
  const { state, deployer, prepared } = s.parts;
  s.tierLog('upgrade').warn(why);
  await deployer.undeploy(prepared.stack).catch(() => undefined);
  // The run's kept volume helpers hold the volumes (abra removes them by itself, not through
  // the Docker port, which would release them first).
  await s.parts.docker.releaseVolumeHelpers().catch(() => 0);
  await deployer.removeData(prepared.stack).catch(() => undefined);
  // Not fresh if a volume survived (the next deploy would find the old data): say so, never
  // judge the next deploy on it.
  const kept = await s.parts.docker.listObjectsByPrefix('volume', `${prepared.stack}_`);
  if (kept.length)
    throw new InfraError(
      'TEARDOWN_FAILED',
      `could not start over: volume ${kept.map((v) => v.name).join(', ')} of the previous deploy is still there`,
    );
  delete state.shared.upgradedApp;
  delete state.shared.upgradeSeed;
  delete state.shared.upgradeRow;
  state.app = null;
  for (const secret of await deployer.createSecrets(s.headRequest))
    prepared.redactor.add(secret.name, secret.value);
}

/** Install (L1), verified on the head: a fresh deploy, or the head the upgrade left running. */
async function installPhase(s: RunSession): Promise<void> {
  const { state, prepared } = s.parts;
  const { config, redactor, head } = prepared;
  const log = s.tierLog('install');
  // Timed from here: when the upgrade ran, its own duration already covers the base deploy.
  const t0 = Date.now();
  const skip = skipOf(s, 'install');
  const rows: TestRow[] = [];
  let retried = false;
  try {
    if (s.parts.quick && !state.app)
      throw new InfraError(
        'DOCKER_FAILED',
        'the warm canonical did not run again after its snapshot, so the head was not deployed over it',
      );
    if (s.parts.quick && !(await s.headIsRunning()))
      throw new RecipeError(
        'UPGRADE_FAILED',
        'the head is not what runs on the warm canonical after the upgrade, and a quick run never redeploys fresh: comment !testme for a cold run',
      );
    if (!state.app) {
      const deployed = await s.freshDeploy(s.headRequest, `head ${head.version ?? ''}`.trim(), log);
      state.app = deployed.app;
      retried = deployed.retried;
      rows.push({ name: 'deploy converges', status: 'pass', ms: Date.now() - t0 });
    } else {
      await s.ready(state.app, log);
      rows.push({ name: 'head converges after upgrade', status: 'pass', ms: Date.now() - t0 });
    }
    rows.push({
      name: `${config.healthPath} answers ${config.acceptedCodes.join('/')}`,
      status: 'pass',
      ms: Date.now() - t0,
    });
    state.setStage(
      'install',
      skip
        ? stageOf('skip', Date.now() - t0, rows, { reason: skip })
        : stageOf('pass', Date.now() - t0, rows, { retried }),
    );
  } catch (err) {
    if (err instanceof AbortedError || err instanceof InputError) throw err;
    const c = classify(err);
    const reason = redactor.redact(c.reason);
    rows.push({
      name: 'deploy converges and answers',
      status: c.status,
      ms: Date.now() - t0,
      message: reason,
      code: c.code,
    });
    state.setStage(
      'install',
      stageOf(c.status, Date.now() - t0, rows, { reason, code: c.code, retried }),
    );
  }
  const stage = state.stages.install!;
  log.info(`install: ${stage.status}${stage.reason ? ` — ${stage.reason}` : ''}`);
}

/** Later tiers (backup, restore, custom, lint), each gated on what came before it. */
async function laterTiers(
  s: RunSession,
  which: readonly ('backup' | 'restore' | 'custom' | 'lint')[],
): Promise<void> {
  const { state, tiers } = s.parts;
  for (const tier of which) {
    const impl = tiers.others[tier];
    const gated = gateTier(tier, {
      skip: skipOf(s, tier),
      implemented: Boolean(impl),
      stages: state.stages,
    });
    if (gated) {
      state.setStage(tier, gated);
      continue;
    }
    s.tierLog(tier).info(`== ${tier} ==`);
    await s.runTier(tier, () => impl!.run(s.tierContext(tier, state.app!)));
  }
}
