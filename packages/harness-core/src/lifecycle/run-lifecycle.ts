/**
 * runLifecycle: one run of a recipe at a ref, from checkout to results.json.
 *
 *   prepare (prepare.ts: input, CI config, checkout, names, env, compose policy; nothing exists
 *   yet, problems are InputErrors) → lock the app's domain → the phases (phases.ts: secrets,
 *   upgrade, install, backup, restore, custom, lint) → finish (session.ts: diagnostics when
 *   something failed, teardown and its verification — always, once, also on abort — and the
 *   lock released) → report (report.ts: results.json, JUnit, the secret-leak scan).
 *
 * After the lock, everything ends in a results.json whose verdict comes from the tiers, except
 * an InputError before the first deploy, which is rethrown (exit 2) after the teardown.
 */
import { join } from 'node:path';
import { AbortedError, InputError, codeOf, errorMessage } from '../errors.js';
import { TIER_NAMES } from '../domain/results.js';
import { createDocker } from '../adapters/docker/engine-api.js';
import type { DockerPort } from '../ports/docker.js';
import { createGit, type Git } from '../adapters/git/git.js';
import type { Deployer } from '../ports/deployer.js';
import { defaultTiers, type TierRegistry } from '../tiers/index.js';
import { domainUses } from '../domain/domain-collision.js';
import { canonicalStore } from '../sweep/canonicals.js';
import type { RunLogger } from '../tiers/types.js';
import { acquireOutsideSlot, watchCompany } from './host-slot.js';
import { runLabels } from './labels.js';
import { fileLocks, type RunLocks } from './locks.js';
import { runPhases } from './phases.js';
import { checkoutEnv, prepareRun, type PreparedRun, type RunTarget } from './prepare.js';
import { QuickCanonical, planQuick, type QuickPlan, type QuickTarget } from './quick.js';
import type { RecipeCheckout } from '../ports/deployer.js';
import { buildResults, writeArtifacts } from './report.js';
import { stageOf } from './rungs.js';
import { RunState } from './run-state.js';
import { RunSession, chooseDeployer, type QuickSession, type Readiness } from './session.js';
import type { RunDeps, RunOptions, RunOutcome } from './types.js';

/** Injectable collaborators (tests and the abra deployer swap them). */
export interface LifecycleAdapters {
  readonly docker?: DockerPort;
  readonly git?: Git;
  readonly deployer?: (workDir: string, docker: DockerPort) => Deployer;
  readonly locks?: RunLocks;
  readonly tiers?: TierRegistry;
  /** Directory for locks and state shared by runs on this host. */
  readonly stateDir?: string;
  /** Image of the probe container that reaches the app over `proxy` (needs `node`). */
  readonly probeImage?: string;
  /** Image of the volume helper containers (backup/restore; needs sh, tar, find, md5sum). */
  readonly volumeHelperImage?: string;
  /** Replaces the readiness check (converged + HTTP over proxy): lifecycle unit tests only. */
  readonly readiness?: Readiness;
  /** How often waits for the host slot poll and count other runs (tests shorten it). */
  readonly slotPollMs?: number;
}

/** The local busybox image cc-ci's set-up builds (docker/build-local-images.sh). */
export const DEFAULT_VOLUME_HELPER_IMAGE = 'ccci/web:1';

/** The local image cc-ci's set-up builds; the plugin passes its own image instead. */
export const DEFAULT_PROBE_IMAGE = 'ccci/node-base:20';

export async function runLifecycle(
  options: RunOptions,
  deps: RunDeps,
  adapters: LifecycleAdapters = {},
): Promise<RunOutcome> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const docker = adapters.docker ?? createDocker();
  const git = adapters.git ?? createGit();
  const quick: { plan?: QuickPlan } = {};
  const prepared = await prepareRun(
    options,
    deps,
    git,
    now,
    options.quick ? quickTarget(docker, git, adapters, options, quick) : undefined,
  );
  const session = await lockAndOpen(
    options,
    deps,
    { ...adapters, git },
    prepared,
    docker,
    started,
    quick.plan,
  );
  const { state } = session.parts;
  const company = watchCompany(
    session.parts.locks,
    prepared.domain,
    (others) => (state.concurrentRuns = Math.max(state.concurrentRuns, others)),
    adapters.slotPollMs,
  );
  try {
    await runPhases(session);
  } catch (err) {
    // Bad input found before anything was deployed: no results, exit 2 (after the teardown).
    if (err instanceof InputError && state.deployCount === 0) {
      await session.finish({ quiet: true });
      throw err;
    }
    recordRunError(state, err, prepared);
  } finally {
    await company.stop();
    await session.finish();
  }

  const report = await writeArtifacts(
    buildResults({
      options,
      state,
      head: prepared.head,
      ref: prepared.ref,
      domain: prepared.domain,
      stack: prepared.stack,
      deployerKind: session.parts.deployer.kind,
      started,
      finished: now(),
    }),
    options.outDir,
    prepared.redactor,
    prepared.log,
  );
  const { verdict, level } = report.results;
  prepared.log.info(`verdict ${verdict}, level ${level} of 5 — ${report.resultsPath}`);
  return { ...report, exitCode: verdict === 'pass' ? 0 : verdict === 'fail' ? 1 : 3 };
}

/** The directory of locks and state shared by the runs on this host. */
export const stateDirOf = (options: RunOptions, adapters: LifecycleAdapters): string =>
  adapters.stateDir ?? join(options.outDir, '..', '.state');

/** The run locks (and so the host slot) a run uses. */
export const locksOf = (options: RunOptions, adapters: LifecycleAdapters): RunLocks =>
  adapters.locks ?? fileLocks(stateDirOf(options, adapters));

/** A quick run's target: the warm canonical when it can run there, else null (cold, said why). */
function quickTarget(
  docker: DockerPort,
  git: Git,
  adapters: LifecycleAdapters,
  options: RunOptions,
  out: { plan?: QuickPlan },
): RunTarget {
  return async (head, config, log) => {
    const plan = await planQuick({
      docker,
      git,
      stateDir: stateDirOf(options, adapters),
      locks: locksOf(options, adapters),
      deployer: options.deployer,
      recipe: options.recipe,
      head,
      config,
    });
    out.plan = plan;
    if (plan.kind === 'cold') {
      log.warn(`quick run asked for, running cold: ${plan.reason}`);
      return null;
    }
    const { canonical } = plan.target;
    log.info(
      `quick run on the warm canonical ${canonical.version} (${canonical.stack}, at ${canonical.domain}); it is put back as it was afterwards`,
    );
    return { domain: canonical.domain, stack: canonical.stack };
  };
}

/** The canonical's release checked out from the head's repository, deployable as it was. */
async function openQuick(
  target: QuickTarget,
  options: RunOptions,
  deps: RunDeps,
  adapters: LifecycleAdapters,
  prepared: PreparedRun,
  docker: DockerPort,
  runLabels: Readonly<Record<string, string>>,
): Promise<QuickSession> {
  const { canonical } = target;
  const dir = join(options.outDir, 'canonical');
  await (adapters.git ?? createGit()).cloneLocal(prepared.head.dir, dir, canonical.commit);
  const recipe: RecipeCheckout = {
    name: prepared.head.name,
    dir,
    commit: canonical.commit,
    dirty: false,
    version: canonical.version,
    releases: prepared.head.releases,
  };
  return {
    canonical: new QuickCanonical(target, {
      docker,
      helperImage: adapters.volumeHelperImage ?? DEFAULT_VOLUME_HELPER_IMAGE,
      runLabels,
      dir: join(stateDirOf(options, adapters), 'snapshots', options.runId),
      log: prepared.log.child({ tier: 'upgrade' }),
    }),
    request: {
      recipe,
      domain: canonical.domain,
      stack: canonical.stack,
      env: await checkoutEnv(dir, prepared.config, options, canonical.domain, canonical.stack),
      overlays: prepared.overlays,
      chaos: target.chaos,
      labels: target.labels,
      signal: deps.signal,
    },
  };
}

/** Take the domain's lock (a lease) and open the run's session with its deployer. */
async function lockAndOpen(
  options: RunOptions,
  deps: RunDeps,
  adapters: LifecycleAdapters,
  prepared: PreparedRun,
  docker: DockerPort,
  started: Date,
  plan: QuickPlan | undefined,
): Promise<RunSession> {
  const { domain, stack, log } = prepared;
  if (options.keepWarm) await refuseTakenDomain(docker, domain, stack);
  const stateDir = stateDirOf(options, adapters);
  const locks = locksOf(options, adapters);
  const target = plan?.kind === 'quick' ? plan.target : null;
  const labels = runLabels({
    runId: options.runId,
    domain,
    // A quick run's own objects name a stack of their own: the janitor, reaping a killed quick
    // run, must never take the canonical's stack for the run's.
    stack: target ? `quick-${options.runId}` : stack,
    started,
    lockScope: locks.scope,
  });
  const info = { domain, runId: options.runId, started: started.toISOString() };
  // The isolation re-run holds the host slot itself; every other run waits while it is held.
  const lock = options.isolated
    ? await locks.acquire(info)
    : await acquireOutsideSlot(locks, info, {
        log,
        signal: deps.signal,
        ...(adapters.slotPollMs ? { pollMs: adapters.slotPollMs } : {}),
      });
  log.info(`app domain ${domain}, stack ${stack} (lock held)`);
  const state = new RunState(new Set(options.stages), deps.onTier);
  if (options.quick)
    state.quick = target
      ? { canonical: target.canonical }
      : { canonical: null, coldReason: plan?.kind === 'cold' ? plan.reason : 'not planned' };
  const quick = target
    ? await openQuick(target, options, deps, adapters, prepared, docker, labels).catch(
        async (err: unknown) => {
          await lock.release();
          throw err;
        },
      )
    : undefined;
  return new RunSession({
    options,
    deps,
    prepared,
    state,
    stateDir,
    ...(quick ? { quick } : {}),
    docker,
    deployer: chooseDeployer(options, docker, log, adapters.deployer),
    tiers: adapters.tiers ?? defaultTiers,
    lock,
    locks,
    labels,
    started,
    probeImage: adapters.probeImage ?? DEFAULT_PROBE_IMAGE,
    volumeHelperImage: adapters.volumeHelperImage ?? DEFAULT_VOLUME_HELPER_IMAGE,
    canonicalVersion: await canonicalVersionOf(stateDir, options.recipe, log),
    ...(adapters.readiness ? { readiness: adapters.readiness } : {}),
  });
}

/** The release of the recipe's canonical on this host; an unreadable record is said and ignored. */
async function canonicalVersionOf(
  stateDir: string,
  recipe: string,
  log: RunLogger,
): Promise<string | null> {
  try {
    return (await canonicalStore(stateDir).get(recipe))?.version ?? null;
  } catch (err) {
    log.warn(`the canonical record of ${recipe} is unreadable (${errorMessage(err)}); ignoring it`);
    return null;
  }
}

/**
 * A warm deploy never takes a domain a live service uses: refused before the lock and before
 * any teardown exists, so nothing of the live service is touched.
 */
async function refuseTakenDomain(docker: DockerPort, domain: string, stack: string) {
  const [use] = domainUses(await docker.listObjects('service', {}), domain, stack);
  if (use)
    throw new InputError(
      'WARM_DOMAIN_TAKEN',
      `the warm domain ${domain} is already in use by the live service ${use.service} (${use.how}); nothing was deployed and the promote is refused`,
    );
}

/** A run that ended early: the error, and every requested tier not decided is unverified. */
function recordRunError(state: RunState, err: unknown, prepared: PreparedRun): void {
  state.aborted = err instanceof AbortedError;
  state.error = prepared.redactor.redact(errorMessage(err));
  state.errorCode = codeOf(err);
  prepared.log.error(state.aborted ? 'run aborted: tearing down' : `run error: ${state.error}`);
  for (const tier of TIER_NAMES) {
    if (state.stages[tier]) continue;
    state.setStage(
      tier,
      state.requested.has(tier)
        ? stageOf('unver', 0, [], {
            reason: state.aborted ? 'aborted' : state.error,
            code: state.errorCode,
          })
        : stageOf('skip', 0, [], { reason: 'not requested' }),
    );
  }
}
