/**
 * runLifecycle: one run of a recipe at a ref, from checkout to results.json.
 *
 * Order: validate input → check out → load CI config → name the app → lock its domain →
 * secrets → the run's one fresh deploy (the upgrade base when the upgrade tier has one, else the
 * head) → [upgrade: seed, chaos-redeploy the head, prove it] → install verified on the head →
 * backup → restore → custom → lint → diagnostics if anything failed → teardown (always, also on
 * abort) → verification → results.json + JUnit + the secret-leak scan.
 *
 * Input problems throw InputError before anything is deployed. Everything after that ends in a
 * results.json whose verdict comes from the tiers.
 */
import { chaosVersion } from '../domain/versions.js';
import { hostname } from 'node:os';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  AbortedError,
  CcciError,
  InfraError,
  InputError,
  RecipeError,
  errorMessage,
} from '../errors.js';
import { computeLevel, computeVerdict, type Rungs } from '../domain/level.js';
import { appDomain, stackName, validateRecipeName, validateRunId } from '../domain/naming.js';
import { composeFiles, parseAbraShExports, parseEnvFile } from '../domain/env-file.js';
import { renderJunit } from '../domain/junit.js';
import { Redactor, displayUrl, urlCredentials } from '../domain/redactor.js';
import {
  RESULTS_SCHEMA_VERSION,
  ResultsSchema,
  TIER_NAMES,
  type Results,
  type Rung,
  type Stage,
  type TestRow,
  type TierName,
} from '../domain/results.js';
import { DockerCli } from '../adapters/docker/docker-cli.js';
import { createGit, type Git } from '../adapters/git/git.js';
import { runProcess } from '../adapters/process/run-process.js';
import {
  checkComposePolicyOnDisk,
  composePolicyError,
  formatAllowedExceptions,
} from '../domain/compose-policy.js';
import { readComposeFiles } from '../deployers/compose-files.js';
import { openProxyProbe, type ProxyProbe } from '../adapters/docker/proxy-probe.js';
import { PROXY_NETWORK } from '../domain/traefik.js';
import { hostEnv, reservedEnvNames } from '../adapters/process/host-env.js';
import { loadRecipeConfig, type LoadedRecipeConfig } from '../config/recipe-config.js';
import { DockerDeployer } from '../deployers/docker-deployer.js';
import { AbraDeployer } from '../deployers/abra-deployer.js';
import { checkoutRecipe } from '../recipe/checkout.js';
import type { DeployRequest, DeployedApp, Deployer, RecipeCheckout } from '../ports/deployer.js';
import { defaultTiers, type TierRegistry } from '../tiers/index.js';
import type { RunLogger, TierContext, TierOutcome, UpgradeBase } from '../tiers/types.js';
import { LABEL_WARM, runLabels } from './labels.js';
import { fileLocks, type RunLocks } from './locks.js';
import { probeHttp, taskProblem, waitConverged } from './readiness.js';
import { FileRunLogger } from './run-logger.js';
import { teardown, type TeardownResult } from './teardown.js';
import type { RunDeps, RunOptions, RunOutcome } from './types.js';
import { collectDiagnostics } from './diagnostics.js';

/** Injectable collaborators (tests and the abra deployer swap them). */
export interface LifecycleAdapters {
  readonly docker?: DockerCli;
  readonly git?: Git;
  readonly deployer?: (workDir: string, docker: DockerCli) => Deployer;
  readonly locks?: RunLocks;
  readonly tiers?: TierRegistry;
  /** Directory for locks and state shared by runs on this host. */
  readonly stateDir?: string;
  /** Image of the probe container that reaches the app over `proxy` (needs `node`). */
  readonly probeImage?: string;
  /** Image of the volume helper containers (backup/restore; needs sh, tar, find, md5sum). */
  readonly volumeHelperImage?: string;
}

/** The local busybox image cc-ci's set-up builds (docker/build-local-images.sh). */
export const DEFAULT_VOLUME_HELPER_IMAGE = 'ccci/web:1';

/** The local image cc-ci's set-up builds; the plugin passes its own image instead. */
export const DEFAULT_PROBE_IMAGE = 'ccci/node-base:20';

const LOCAL_SUFFIXES = /^(ci\.)?localhost$|\.localhost$/;

/**
 * Recipe env names that would steer a host process (PATH, DOCKER_HOST, LD_PRELOAD, ...) stop the
 * run before anything is created; the message names each file and name (docs/security.md).
 */
function refuseReservedEnv(namesBySource: Record<string, readonly string[]>): void {
  const problems = Object.entries(namesBySource).flatMap(([source, names]) => {
    const reserved = reservedEnvNames(names);
    return reserved.length ? [`${source} sets ${reserved.join(', ')}`] : [];
  });
  if (problems.length === 0) return;
  throw new InputError(
    'RECIPE_ENV_RESERVED',
    `${problems.join('; ')}: these names steer the programs cc-ci runs on the host (docker, git, hooks) and a recipe may not set them; rename the variable (see docs/security.md, "Child processes")`,
  );
}

/** A checkout's `.env.sample` and the static exports of its `abra.sh` (read as text, never run). */
async function readRecipeEnv(dir: string) {
  const readText = async (file: string) => readFile(join(dir, file), 'utf8').catch(() => '');
  return {
    envSample: parseEnvFile(await readText('.env.sample')),
    abraShExports: parseAbraShExports(await readText('abra.sh')),
  };
}

/**
 * The compose policy (docs/security.md), before any object exists: COMPOSE_FILE entries are
 * confined to the checkout before a file is read, then the recipe's own compose files (not the
 * operator's CI overlay) are checked; exceptions come only from recipes/<name>/cc-ci.yml.
 */
async function enforceComposePolicy(
  checkoutDir: string,
  files: readonly string[],
  config: LoadedRecipeConfig,
  log: RunLogger,
): Promise<void> {
  const common = {
    checkoutDir,
    composeFiles: files,
    exceptions: config.composePolicyExceptions,
  };
  const configFile = config.file ?? undefined;
  const entries = await checkComposePolicyOnDisk({ ...common, docs: [] });
  if (entries.violations.length) throw composePolicyError(entries.violations, configFile);
  const docs = await readComposeFiles(files.map((f) => resolve(checkoutDir, f)));
  const result = await checkComposePolicyOnDisk({ ...common, docs });
  for (const line of formatAllowedExceptions(result.allowed, configFile)) log.info(line);
  if (result.violations.length) throw composePolicyError(result.violations, configFile);
}

function stageOf(
  status: Stage['status'],
  durationMs: number,
  tests: readonly TestRow[],
  reason?: string,
  retried?: boolean,
): Stage {
  return {
    status,
    ...(reason ? { reason } : {}),
    duration_ms: Math.max(0, Math.round(durationMs)),
    ...(retried ? { retried: true } : {}),
    tests: [...tests],
  };
}

function classify(err: unknown): { status: 'fail' | 'unver'; reason: string } {
  if (err instanceof RecipeError) return { status: 'fail', reason: err.message };
  if (err instanceof InputError) return { status: 'fail', reason: err.message };
  if (err instanceof CcciError) return { status: 'unver', reason: err.message };
  return { status: 'unver', reason: `internal error: ${errorMessage(err)}` };
}

/** Combine backup and restore into the backup_restore rung. */
function combine(a: Stage | undefined, b: Stage | undefined): Rung {
  const stages = [a, b].filter((s): s is Stage => Boolean(s));
  if (stages.length === 0) return { status: 'skip', reason: 'not requested' };
  const duration_ms = stages.reduce((n, s) => n + s.duration_ms, 0);
  for (const status of ['fail', 'unver'] as const) {
    const hit = stages.find((s) => s.status === status);
    if (hit) return { status, ...(hit.reason ? { reason: hit.reason } : {}), duration_ms };
  }
  if (stages.every((s) => s.status === 'skip'))
    return { status: 'skip', reason: stages[0]!.reason ?? 'skipped', duration_ms };
  if (stages.every((s) => s.status === 'pass') && stages.length === 2)
    return { status: 'pass', duration_ms };
  // One passed and the other was skipped: a restore without its backup (or vice versa) proves nothing.
  return {
    status: 'unver',
    reason: 'backup and restore must both run to prove data survives',
    duration_ms,
  };
}

function rungFromStage(stage: Stage | undefined): Rung {
  if (!stage) return { status: 'skip', reason: 'not requested' };
  return {
    status: stage.status,
    ...(stage.reason ? { reason: stage.reason } : {}),
    duration_ms: stage.duration_ms,
  };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'recipe' || entry.name === 'base' || entry.name === '.git') continue;
      out.push(...(await listFiles(path)));
    } else out.push(path);
  }
  return out;
}

function rungsOf(stages: Partial<Record<TierName, Stage>>): Rungs {
  return {
    install: rungFromStage(stages.install),
    upgrade: rungFromStage(stages.upgrade),
    backup_restore: combine(stages.backup, stages.restore),
    functional: rungFromStage(stages.custom),
    lint: rungFromStage(stages.lint),
  };
}

/** Mark every service of the stack cc-ci.warm=true (the janitor never reaps warm runs). */
async function markWarm(docker: DockerCli, stack: string): Promise<boolean> {
  const services = await docker.listServices(stack);
  for (const svc of services)
    await docker.docker([
      'service',
      'update',
      '--detach',
      '--quiet',
      '--label-add',
      `${LABEL_WARM}=true`,
      svc.id,
    ]);
  return services.length > 0;
}

export async function runLifecycle(
  options: RunOptions,
  deps: RunDeps,
  adapters: LifecycleAdapters = {},
): Promise<RunOutcome> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  // --- input validation: nothing is created before this passes -----------------------------
  validateRecipeName(options.recipe);
  validateRunId(options.runId);
  for (const s of options.stages) {
    if (!TIER_NAMES.includes(s))
      throw new InputError('BAD_STAGES', `unknown stage "${s}"; valid: ${TIER_NAMES.join(',')}`);
  }
  const config: LoadedRecipeConfig = await loadRecipeConfig(options.configDir, options.recipe);
  await mkdir(options.outDir, { recursive: true });

  const redactor = new Redactor();
  // Credentials in a --src URL never reach run.log, the console or any artifact.
  for (const credential of urlCredentials(options.src))
    if (credential.length >= 6) redactor.add('src-credentials', credential);
  const log: RunLogger = new FileRunLogger(
    join(options.outDir, 'run.log'),
    redactor,
    deps.log,
    {},
    now,
  );
  const git = adapters.git ?? createGit();
  const docker = adapters.docker ?? new DockerCli();
  const tiers = adapters.tiers ?? defaultTiers;

  log.info(
    `cc-ci run ${options.runId}: recipe ${options.recipe} from ${displayUrl(options.src)}${options.ref ? ` at ${options.ref}` : ' (working tree)'}`,
  );
  const head: RecipeCheckout = await checkoutRecipe(git, {
    recipe: options.recipe,
    src: options.src,
    ref: options.ref,
    dir: options.outDir,
    signal: deps.signal,
  });
  log.info(
    `checked out ${head.commit.slice(0, 12)}${head.dirty ? ' (+ uncommitted changes)' : ''}, version ${head.version ?? 'unknown'}, ${head.releases.length} release tag(s)`,
  );

  const ref = options.ref ?? head.commit;
  const domain = appDomain({
    recipe: options.recipe,
    pr: options.pr,
    ref,
    runId: options.runId,
    suffix: options.domainSuffix,
  });
  const stack = stackName(domain);

  // App env: .env.sample, abra.sh exports, the names, then the CI config's extra env.
  const { envSample, abraShExports } = await readRecipeEnv(head.dir);
  const configName = config.file ?? `recipes/${options.recipe}/cc-ci.yml`;
  refuseReservedEnv({
    '.env.sample': envSample.map((e) => e.key),
    'abra.sh': abraShExports.map((e) => e.key),
    [`${configName} extra_env`]: Object.keys(config.extraEnv),
    [`${configName} upgrade_extra_env`]: Object.keys(config.upgradeExtraEnv),
  });
  const envEntries = [...envSample, ...abraShExports];
  const baseEnv: Record<string, string> = Object.fromEntries(
    envEntries.map((e) => [e.key, e.value]),
  );
  const env: Record<string, string> = {
    ...baseEnv,
    DOMAIN: domain,
    STACK_NAME: stack,
    LETS_ENCRYPT_ENV:
      baseEnv.LETS_ENCRYPT_ENV && !LOCAL_SUFFIXES.test(options.domainSuffix)
        ? baseEnv.LETS_ENCRYPT_ENV
        : 'staging',
    ...config.extraEnv,
  };
  const overlays = config.overlay ? [config.overlay] : [];
  await enforceComposePolicy(head.dir, composeFiles(env), config, log);

  const locks =
    adapters.locks ?? fileLocks(adapters.stateDir ?? join(options.outDir, '..', '.state'));
  const labels = runLabels({
    runId: options.runId,
    domain,
    stack,
    started,
    lockScope: locks.scope,
  });
  const lock = await locks.acquire({
    domain,
    runId: options.runId,
    started: started.toISOString(),
  });
  log.info(`app domain ${domain}, stack ${stack} (lock held)`);

  const deployer = adapters.deployer
    ? adapters.deployer(options.outDir, docker)
    : options.deployer === 'abra'
      ? new AbraDeployer({ abraDir: join(options.outDir, 'abra') })
      : new DockerDeployer({
          docker,
          workDir: options.outDir,
          note: (message) => log.info(message),
        });
  /** Live progress for the caller (the plugin posts it to the bridge); never throws into the run. */
  const notify = (tier: TierName, status: Stage['status'] | 'running') => {
    try {
      deps.onTier?.(tier, status);
    } catch {
      /* cosmetic */
    }
  };
  const stages = new Proxy<Partial<Record<TierName, Stage>>>(
    {},
    {
      set(target, key, value: Stage) {
        target[key as TierName] = value;
        notify(key as TierName, value.status);
        return true;
      },
    },
  );
  const requested = new Set(options.stages);
  const shared = new Map<string, unknown>();
  let deployCount = 0;
  let runError: string | undefined;
  let aborted = false;
  let baseVersion: string | null = null;
  let app: DeployedApp | null = null;
  let diagnostics: string[] = [];
  let td: TeardownResult = { clean: false, leftovers: [], errors: [] };
  let keptWarm = false;

  const headRequest: DeployRequest = {
    recipe: head,
    domain,
    stack,
    env,
    overlays,
    chaos: head.dirty,
    labels,
    signal: deps.signal,
  };

  const checkAbort = () => {
    if (deps.signal.aborted) throw new AbortedError();
  };
  /** The run's probe container, started on first use and removed before teardown. */
  let probeContainer: Promise<ProxyProbe> | null = null;
  const reach = (): Promise<ProxyProbe> =>
    (probeContainer ??= openProxyProbe(docker, {
      name: `${stack}_ccci-probe`,
      network: PROXY_NETWORK,
      image: adapters.probeImage ?? DEFAULT_PROBE_IMAGE,
      labels,
    }).catch((err: unknown) => {
      probeContainer = null;
      throw err;
    }));
  const ready = async (target: DeployedApp, tierLog: RunLogger, timeoutS?: number) => {
    await waitConverged(docker, target, {
      timeoutS: timeoutS ?? config.deployTimeoutS,
      signal: deps.signal,
      onProgress: (line) => tierLog.info(line),
    });
    checkAbort();
    const probe = await probeHttp(await reach(), target, config.healthPath, config.acceptedCodes, {
      timeoutS: config.httpTimeoutS,
      signal: deps.signal,
    });
    checkAbort();
    if (!probe.answer || !config.acceptedCodes.includes(probe.answer.status)) {
      // A crash loop can look like "no answer": the tasks tell the true reason.
      const problem = await taskProblem(docker, target);
      if (problem) throw problem;
      const got = probe.answer
        ? `HTTP ${probe.answer.status}${probe.answer.body ? ` (body: ${JSON.stringify(probe.answer.body.slice(0, 200))})` : ''}`
        : `no answer (${probe.lastError ?? 'connection failed'})`;
      throw new RecipeError(
        'HTTP_FAILED',
        `${config.healthPath} on ${target.domain} answered ${got} after ${probe.attempts} attempt(s) in ${config.httpTimeoutS} s; expected one of ${config.acceptedCodes.join('/')}`,
      );
    }
    return probe.answer;
  };
  /** The run's fresh deploy, with at most one retry after an infrastructure problem. */
  const freshDeploy = async (
    req: DeployRequest,
    what: string,
    tierLog: RunLogger,
  ): Promise<{ app: DeployedApp; retried: boolean }> => {
    for (let attempt = 1; ; attempt++) {
      checkAbort();
      tierLog.info(
        `deploying ${what} (${req.recipe.commit.slice(0, 8)})${attempt > 1 ? ', retry after an infrastructure problem' : ''}`,
      );
      try {
        const deployed = await deployer.deploy(req);
        deployCount++;
        tierLog.info(
          `stack ${req.stack} accepted by the swarm; app at ${deployed.endpoint.service}:${deployed.endpoint.port} on the ${deployed.endpoint.network} network (Host: ${deployed.endpoint.hostHeader}), nothing published`,
        );
        await ready(deployed, tierLog);
        return { app: deployed, retried: attempt > 1 };
      } catch (err) {
        if (
          err instanceof InfraError &&
          !(err instanceof AbortedError) &&
          attempt === 1 &&
          !deps.signal.aborted
        ) {
          tierLog.warn(`infrastructure problem: ${err.message}; tearing down and retrying once`);
          await deployer.undeploy(req.stack).catch(() => undefined);
          continue;
        }
        throw err;
      }
    }
  };

  /** Does every service carry the head's chaos-version label (the head is what runs)? */
  const headIsRunning = async (): Promise<boolean> => {
    const expectVersion = chaosVersion(head.commit, head.dirty);
    const services = await docker.listServices(stack);
    return (
      services.length > 0 &&
      services.every((s) => s.labels[`coop-cloud.${stack}.chaos-version`] === expectVersion)
    );
  };

  const tierContext = (tier: TierName, target: DeployedApp): TierContext => ({
    runId: options.runId,
    runDir: options.outDir,
    tier,
    head,
    config,
    app: target,
    headRequest,
    deployer,
    docker,
    log: log.child({ tier }),
    signal: deps.signal,
    redact: (text) => redactor.redact(text),
    volumeHelperImage: adapters.volumeHelperImage ?? DEFAULT_VOLUME_HELPER_IMAGE,
    reach,
    // After a redeploy (the upgrade) probe the latest deployment.
    waitReady: async (opts) => {
      await ready(
        (shared.get('app') as DeployedApp | undefined) ?? target,
        log.child({ tier }),
        opts?.timeoutS,
      );
    },
    shared,
  });

  /** Run one tier with classification and at most one retry for infrastructure problems. */
  const runTier = async (tier: TierName, fn: () => Promise<TierOutcome>) => {
    const t0 = Date.now();
    notify(tier, 'running');
    let retried = false;
    for (let attempt = 1; attempt <= 2; attempt++) {
      let outcome: TierOutcome;
      try {
        checkAbort();
        outcome = await fn();
      } catch (err) {
        if (err instanceof AbortedError) throw err;
        const c = classify(err);
        outcome = {
          status: c.status,
          reason: c.reason,
          tests: [{ name: tier, status: c.status, ms: Date.now() - t0, message: c.reason }],
        };
        if (c.status === 'unver' && attempt === 1 && !deps.signal.aborted) {
          log.child({ tier }).warn(`infrastructure problem: ${c.reason}; retrying the tier once`);
          retried = true;
          continue;
        }
      }
      stages[tier] = stageOf(
        outcome.status,
        Date.now() - t0,
        outcome.tests.map((r) => ({
          ...r,
          ...(r.message ? { message: redactor.redact(r.message) } : {}),
        })),
        outcome.reason ? redactor.redact(outcome.reason) : undefined,
        retried,
      );
      log
        .child({ tier })
        .info(
          `${tier}: ${outcome.status}${outcome.reason ? ` — ${outcome.reason}` : ''} (${Math.round((Date.now() - t0) / 100) / 10} s)`,
        );
      return;
    }
  };

  const skipIf = (tier: TierName): string | null => {
    if (!requested.has(tier)) return 'not requested';
    const declared = config.skip[tier];
    if (declared) return `skipped by recipes/${options.recipe}/cc-ci.yml: ${declared}`;
    return null;
  };

  try {
    // --- compose files and secrets ---------------------------------------------------------
    await deployer.validate?.(headRequest);
    const secrets = await deployer.createSecrets(headRequest);
    for (const s of secrets) redactor.add(s.name, s.value);
    log.info(`generated ${secrets.length} secret(s); their values are redacted from every output`);

    if (config.installHook) {
      log.info(`running install hook: ${config.installHook.join(' ')}`);
      const res = await runProcess(config.installHook[0]!, config.installHook.slice(1), {
        cwd: head.dir,
        env: hostEnv(env),
        timeoutMs: 300_000,
        signal: deps.signal,
      });
      if (res.exitCode !== 0)
        throw new RecipeError(
          'BAD_RECIPE',
          `install hook exited ${res.exitCode}: ${redactor.redact(res.stderr.trim().slice(-500))}`,
        );
    }

    // --- the one fresh deploy: upgrade base or head -------------------------------------------
    let base: UpgradeBase | null = null;
    const upgradeSkip = skipIf('upgrade');
    const upgradeLog = log.child({ tier: 'upgrade' });
    const upgradeStart = Date.now();
    if (upgradeSkip) {
      stages.upgrade = stageOf('skip', 0, [], upgradeSkip);
    } else if (!tiers.upgrade) {
      stages.upgrade = stageOf('unver', 0, [], 'tier not implemented');
    } else {
      const {
        app: _a,
        waitReady: _w,
        ...pre
      } = tierContext('upgrade', null as unknown as DeployedApp);
      const resolved = await tiers.upgrade.resolveBase(pre);
      if (resolved.kind === 'skip')
        stages.upgrade = stageOf('skip', Date.now() - upgradeStart, [], resolved.reason);
      else base = resolved.value;
    }

    const installLog = log.child({ tier: 'install' });
    notify(base ? 'upgrade' : 'install', 'running');
    let installRetried = false;
    if (base) {
      baseVersion = base.base.version;
      shared.set('baseVersion', baseVersion);
      try {
        // The base deploys as abra deploys a release: its own abra.sh config and secret
        // versions, and its own compose files, which the policy checks like the head's.
        const baseExports = (await readRecipeEnv(base.base.dir)).abraShExports;
        refuseReservedEnv({
          [`abra.sh of ${base.base.version}`]: baseExports.map((e) => e.key),
        });
        const baseEnv = {
          ...env,
          ...Object.fromEntries(baseExports.map((e) => [e.key, e.value])),
          ...base.env,
        };
        await enforceComposePolicy(base.base.dir, composeFiles(baseEnv), config, upgradeLog);
        const deployed = await freshDeploy(
          { ...headRequest, recipe: base.base, env: baseEnv, chaos: false },
          `upgrade base ${base.base.version}`,
          upgradeLog,
        );
        app = deployed.app;
      } catch (err) {
        if (err instanceof AbortedError) throw err;
        const c = classify(err);
        // The base not starting is not the head's fault: the upgrade cannot be verified.
        stages.upgrade = stageOf(
          'unver',
          Date.now() - upgradeStart,
          [
            {
              name: 'base deploys',
              status: 'unver',
              ms: Date.now() - upgradeStart,
              message: c.reason,
            },
          ],
          `base ${base.base.version} did not become ready: ${c.reason}`,
        );
        base = null;
        await deployer.undeploy(stack).catch(() => undefined);
      }
      if (base && app) {
        const ctx = tierContext('upgrade', app);
        await runTier('upgrade', async () => {
          await tiers.upgrade!.seed(ctx, base!);
          return tiers.upgrade!.upgrade(ctx, base!);
        });
        stages.upgrade = { ...stages.upgrade!, duration_ms: Date.now() - upgradeStart };
        app = (shared.get('app') as DeployedApp | undefined) ?? app;
        if (stages.upgrade?.status !== 'pass' && !(await headIsRunning())) {
          // A failed upgrade may leave the base running (e.g. after a rollback). Install must be
          // proven on the head, so start over with a fresh deploy of the head (a second deploy).
          upgradeLog.warn(
            'the head is not what runs after the failed upgrade: redeploying the head fresh to verify install',
          );
          await deployer.undeploy(stack).catch(() => undefined);
          await deployer.removeData(stack).catch(() => undefined);
          shared.delete('app');
          app = null;
          for (const s of await deployer.createSecrets(headRequest)) redactor.add(s.name, s.value);
        }
      }
    }

    // --- install (L1), verified on the head --------------------------------------------------
    // Timed from here: when the upgrade ran, its own duration already covers the base deploy.
    const installStart = Date.now();
    const installSkip = skipIf('install');
    const installRows: TestRow[] = [];
    try {
      if (!app) {
        const deployed = await freshDeploy(
          headRequest,
          `head ${head.version ?? ''}`.trim(),
          installLog,
        );
        app = deployed.app;
        installRetried = deployed.retried;
        installRows.push({
          name: 'deploy converges',
          status: 'pass',
          ms: Date.now() - installStart,
        });
      } else {
        await ready(app, installLog);
        installRows.push({
          name: 'head converges after upgrade',
          status: 'pass',
          ms: Date.now() - installStart,
        });
      }
      installRows.push({
        name: `${config.healthPath} answers ${config.acceptedCodes.join('/')}`,
        status: 'pass',
        ms: Date.now() - installStart,
      });
      stages.install = installSkip
        ? stageOf('skip', Date.now() - installStart, installRows, installSkip)
        : stageOf('pass', Date.now() - installStart, installRows, undefined, installRetried);
    } catch (err) {
      if (err instanceof AbortedError) throw err;
      if (err instanceof InputError) throw err;
      const c = classify(err);
      installRows.push({
        name: 'deploy converges and answers',
        status: c.status,
        ms: Date.now() - installStart,
        message: redactor.redact(c.reason),
      });
      stages.install = stageOf(
        c.status,
        Date.now() - installStart,
        installRows,
        redactor.redact(c.reason),
        installRetried,
      );
    }
    installLog.info(
      `install: ${stages.install!.status}${stages.install!.reason ? ` — ${stages.install!.reason}` : ''}`,
    );

    // --- backup, restore, custom, lint ------------------------------------------------------
    for (const tier of ['backup', 'restore', 'custom', 'lint'] as const) {
      const skip = skipIf(tier);
      if (skip) {
        stages[tier] = stageOf('skip', 0, [], skip);
        continue;
      }
      const impl = tiers.others[tier];
      if (!impl) {
        stages[tier] = stageOf('unver', 0, [], 'tier not implemented');
        continue;
      }
      if (tier !== 'lint' && stages.install?.status !== 'pass') {
        stages[tier] = stageOf('unver', 0, [], 'the app is not running (install did not pass)');
        continue;
      }
      if (tier === 'restore' && stages.backup?.status !== 'pass') {
        stages[tier] = stageOf(
          stages.backup?.status === 'skip' ? 'skip' : 'unver',
          0,
          [],
          stages.backup?.status === 'skip'
            ? (stages.backup.reason ?? 'backup skipped')
            : 'no backup to restore (backup did not pass)',
        );
        continue;
      }
      log.child({ tier }).info(`== ${tier} ==`);
      await runTier(tier, () => impl.run(tierContext(tier, app!)));
    }
  } catch (err) {
    if (err instanceof InputError && deployCount === 0) {
      await teardown(deployer, docker, options.runId, stack);
      await lock.release();
      throw err;
    }
    aborted = err instanceof AbortedError;
    runError = redactor.redact(errorMessage(err));
    log.error(aborted ? 'run aborted: tearing down' : `run error: ${runError}`);
    for (const tier of TIER_NAMES) {
      if (!stages[tier])
        stages[tier] = requested.has(tier)
          ? stageOf('unver', 0, [], aborted ? 'aborted' : runError)
          : stageOf('skip', 0, [], 'not requested');
    }
  } finally {
    // Diagnostics before teardown when anything did not pass.
    const failedSomething = Object.values(stages).some(
      (s) => s.status === 'fail' || s.status === 'unver',
    );
    // Not on abort: Drone's grace period before SIGKILL belongs to the teardown.
    if ((failedSomething || runError) && !aborted) {
      diagnostics = await collectDiagnostics(docker, stack, options.outDir, started, (t) =>
        redactor.redact(t),
      ).catch(() => []);
    }
    // Green = the verdict this run will get is pass (an unverifiable lint without abra does not
    // block, exactly as it does not block the verdict).
    const allGreen =
      !runError && !aborted && deployCount > 0 && computeVerdict(rungsOf(stages)) === 'pass';
    if (probeContainer) await (await probeContainer.catch(() => null))?.close();
    if (options.keepWarm && allGreen && (await markWarm(docker, stack))) {
      keptWarm = true;
      td = { clean: true, leftovers: [], errors: [] };
      log.info(
        `kept stack ${stack} warm (cc-ci.warm=true): the sweep decides whether it becomes the canonical`,
      );
    } else {
      log.info(`tearing down stack ${stack}`);
      td = await teardown(deployer, docker, options.runId, stack, (line) => log.info(line));
      log.info(
        td.clean
          ? 'teardown verified: nothing of this run remains'
          : `teardown left ${td.leftovers.length} object(s): ${td.leftovers.map((o) => `${o.kind} ${o.name}`).join(', ')}`,
      );
    }
    await lock.release();
  }

  // --- results -----------------------------------------------------------------------------
  const rungs = rungsOf(stages);
  const verdict = aborted ? 'error' : computeVerdict(rungs);
  const finished = now();
  const results: Results = {
    schema: RESULTS_SCHEMA_VERSION,
    recipe: options.recipe,
    version: head.version,
    base_version: baseVersion,
    pr: options.pr,
    ref,
    commit: head.commit,
    run_id: options.runId,
    started: started.toISOString(),
    finished: finished.toISOString(),
    mode: options.quick ? 'quick' : 'cold',
    verdict,
    level: computeLevel(rungs),
    rungs,
    stages: Object.fromEntries(TIER_NAMES.filter((t) => stages[t]).map((t) => [t, stages[t]!])),
    flags: { clean_teardown: td.clean, no_secret_leak: true },
    domain,
    deploy_count: deployCount,
    ...(runError ? { error: runError } : {}),
    ...(diagnostics.length ? { diagnostics } : {}),
    meta: {
      deployer: deployer.kind,
      ...(keptWarm ? { kept_warm: { stack, domain } } : {}),
      ...(options.buildLink ? { build_link: options.buildLink } : {}),
    },
  };

  const junitDir = join(options.outDir, 'junit');
  await mkdir(junitDir, { recursive: true });
  const timestamp = started.toISOString().slice(0, 19);
  for (const [tier, stage] of Object.entries(stages) as Array<[TierName, Stage]>) {
    if (stage.status === 'skip' && stage.tests.length === 0) continue;
    await writeFile(
      join(junitDir, `${tier}.xml`),
      redactor.redact(
        renderJunit({
          tier,
          recipe: options.recipe,
          stage,
          timestamp,
          hostname: hostname() || 'localhost',
        }),
      ),
    );
  }

  // Scan every artifact for raw secret values before writing results.json.
  const leaks: string[] = [];
  for (const file of await listFiles(options.outDir)) {
    if ((await stat(file)).size > 32 * 1024 * 1024) continue;
    const found = redactor.findLeaks(await readFile(file, 'latin1'));
    if (found.length) leaks.push(`${relative(options.outDir, file)} (${found.join(', ')})`);
  }
  results.flags.no_secret_leak = leaks.length === 0;
  if (leaks.length) log.error(`secret values found in artifacts: ${leaks.join('; ')}`);

  const valid = ResultsSchema.parse(results);
  const resultsPath = join(options.outDir, 'results.json');
  await writeFile(resultsPath, redactor.redact(JSON.stringify(valid, null, 2)) + '\n');
  log.info(`verdict ${verdict}, level ${valid.level} of 5 — ${resultsPath}`);
  return {
    results: valid,
    resultsPath,
    exitCode: verdict === 'pass' ? 0 : verdict === 'fail' ? 1 : 3,
  };
}
