/**
 * The collaborators of one run once it holds its lock: the deployer, the head's deploy request,
 * the probe container that reaches the app over `proxy`, readiness, the run's fresh deploy with
 * its one retry, the tier context, and the finish (diagnostics, teardown, lock release) that runs
 * exactly once however the run ends.
 */
import { chaosVersion } from '../domain/versions.js';
import { join } from 'node:path';
import { AbortedError, InfraError, RecipeError } from '../errors.js';
import { computeVerdict } from '../domain/level.js';
import type { Stage, TierName } from '../domain/results.js';
import type { DockerPort } from '../ports/docker.js';
import type { ProxyProbe } from '../ports/proxy-probe.js';
import { PROXY_NETWORK } from '../domain/traefik.js';
import { DockerDeployer } from '../deployers/docker-deployer.js';
import { AbraDeployer } from '../deployers/abra-deployer.js';
import type { DeployRequest, DeployedApp, Deployer } from '../ports/deployer.js';
import type { TierRegistry } from '../tiers/index.js';
import type { PreDeployContext, RunLogger, TierContext, TierOutcome } from '../tiers/types.js';
import { LABEL_WARM } from './labels.js';
import type { RunLocks } from './locks.js';
import { probeConverged, probeHttp, sleep, taskProblem, waitConverged } from './readiness.js';
import { rungsOf } from './rungs.js';
import type { PreparedRun } from './prepare.js';
import type { RunState } from './run-state.js';
import { runObjectsTeardown, teardown } from './teardown.js';
import type { QuickCanonical } from './quick.js';
import { warmSecretStore } from '../sweep/canonicals.js';
import { runTierWithRetry } from './tier-runner.js';
import { collectDiagnostics } from './diagnostics.js';
import type { RunDeps, RunOptions } from './types.js';

export type RunLock = Awaited<ReturnType<RunLocks['acquire']>>;

/** How long putting a quick run's canonical back may take (its redeploy and readiness). */
const PUT_BACK_TIMEOUT_MS = 10 * 60_000;

export interface SessionParts {
  readonly options: RunOptions;
  readonly deps: RunDeps;
  readonly prepared: PreparedRun;
  readonly state: RunState;
  readonly docker: DockerPort;
  readonly deployer: Deployer;
  readonly tiers: TierRegistry;
  readonly lock: RunLock;
  /** The run locks: the host slot and who else deploys (host-slot.ts). */
  readonly locks: RunLocks;
  readonly labels: Readonly<Record<string, string>>;
  readonly started: Date;
  readonly probeImage: string;
  readonly volumeHelperImage: string;
  /** The release of this recipe's warm canonical on this host, or null (canonicals/<recipe>.json). */
  readonly canonicalVersion: string | null;
  /** Replaces the readiness check (converged + HTTP over proxy); lifecycle unit tests only. */
  readonly readiness?: Readiness;
  /** Locks and state shared by the runs on this host (canonicals, warm secrets). */
  readonly stateDir: string;
  /** A quick run: the warm canonical it runs on and how to redeploy it as it was (quick.ts). */
  readonly quick?: QuickSession;
}

export interface QuickSession {
  readonly canonical: QuickCanonical;
  /** The canonical's release, deployed as the canonical was (its env, labels and chaos mark). */
  readonly request: DeployRequest;
}

export type Readiness = (target: DeployedApp, log: RunLogger, timeoutS?: number) => Promise<void>;

/** The deployer a run uses: an injected one, abra, or the docker-native one. */
export function chooseDeployer(
  options: RunOptions,
  docker: DockerPort,
  log: RunLogger,
  inject?: (workDir: string, docker: DockerPort) => Deployer,
): Deployer {
  if (inject) return inject(options.outDir, docker);
  if (options.deployer === 'abra')
    return new AbraDeployer({ abraDir: join(options.outDir, 'abra') });
  return new DockerDeployer({ docker, workDir: options.outDir, note: (m) => log.info(m) });
}

/** Volumes are looked for this often while the app starts, this many times at most. */
const WARM_POLL_MS = 200;
const WARM_POLLS = 3000;

export class RunSession {
  readonly headRequest: DeployRequest;
  private probe: Promise<ProxyProbe> | null = null;
  private finished: Promise<void> | null = null;

  constructor(readonly parts: SessionParts) {
    const { prepared, deps } = parts;
    this.headRequest = {
      recipe: prepared.head,
      domain: prepared.domain,
      stack: prepared.stack,
      env: prepared.env,
      overlays: prepared.overlays,
      chaos: prepared.head.dirty,
      // On a quick run the head lives on the canonical's stack, with the canonical's labels.
      labels: parts.quick ? parts.quick.canonical.target.labels : parts.labels,
      signal: deps.signal,
    };
  }

  get log(): RunLogger {
    return this.parts.prepared.log;
  }

  tierLog(tier: TierName): RunLogger {
    return this.log.child({ tier });
  }

  checkAbort(): void {
    if (this.parts.deps.signal.aborted) throw new AbortedError();
  }

  /** The run's probe container on `proxy`, started on first use and removed before teardown. */
  reach = (): Promise<ProxyProbe> =>
    (this.probe ??= this.parts.docker
      .openProxyProbe({
        name: `${this.parts.prepared.stack}_ccci-probe`,
        network: PROXY_NETWORK,
        image: this.parts.probeImage,
        labels: this.parts.labels,
      })
      .catch((err: unknown) => {
        this.probe = null;
        throw err;
      }));

  /** Converged, then the health path answers with an accepted code from every task. */
  async ready(
    target: DeployedApp,
    tierLog: RunLogger,
    timeoutS?: number,
    /** The put-back of a canonical runs on after an abort: it brings its own signal. */
    signal: AbortSignal = this.parts.deps.signal,
  ): Promise<void> {
    if (this.parts.readiness) return this.parts.readiness(target, tierLog, timeoutS);
    const { config } = this.parts.prepared;
    const { docker } = this.parts;
    const checkAbort = () => {
      if (signal.aborted) throw new AbortedError();
    };
    const probe = await probeConverged(target, {
      converge: async (recheck) => {
        const running = await waitConverged(docker, target, {
          timeoutS: timeoutS ?? config.deployTimeoutS,
          signal,
          // The re-check after the probe says nothing new when nothing changed.
          ...(recheck ? {} : { onProgress: (line: string) => tierLog.info(line) }),
        });
        checkAbort();
        return running;
      },
      probe: async () => {
        const answer = await probeHttp(
          await this.reach(),
          target,
          config.healthPath,
          config.acceptedCodes,
          { timeoutS: config.httpTimeoutS, signal },
        );
        checkAbort();
        return answer;
      },
      accepted: config.acceptedCodes,
      onReplaced: () =>
        tierLog.warn('a task was replaced while the health path was probed: converging again'),
    });
    if (!probe) return;
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

  /** A fresh deploy until ready, with at most one retry after an infrastructure problem. */
  async freshDeploy(
    req: DeployRequest,
    what: string,
    tierLog: RunLogger,
  ): Promise<{ app: DeployedApp; retried: boolean }> {
    const { deployer, deps, state } = this.parts;
    for (let attempt = 1; ; attempt++) {
      this.checkAbort();
      tierLog.info(
        `deploying ${what} (${req.recipe.commit.slice(0, 8)})${attempt > 1 ? ', retry after an infrastructure problem' : ''}`,
      );
      // The probe container starts while the swarm places the app (its first use awaits it).
      if (!this.parts.readiness) this.reach().catch(() => undefined);
      try {
        const deployed = await deployer.deploy(req);
        state.deployCount++;
        tierLog.info(
          `stack ${req.stack} accepted by the swarm; app at ${deployed.endpoint.service}:${deployed.endpoint.port} on the ${deployed.endpoint.network} network (Host: ${deployed.endpoint.hostHeader}), nothing published`,
        );
        const warming = this.warmVolumeHelpers(req.stack);
        try {
          await this.ready(deployed, tierLog);
        } finally {
          await warming.stop();
        }
        return { app: deployed, retried: attempt > 1 };
      } catch (err) {
        const retry =
          err instanceof InfraError &&
          !(err instanceof AbortedError) &&
          attempt === 1 &&
          !deps.signal.aborted;
        if (!retry) throw err;
        tierLog.warn(`infrastructure problem: ${err.message}; tearing down and retrying once`);
        await deployer.undeploy(req.stack).catch(() => undefined);
      }
    }
  }

  /** A quick run: the canonical's release deployed as it was, until ready. */
  async redeployCanonical(
    log: RunLogger,
    signal: AbortSignal = this.parts.deps.signal,
  ): Promise<DeployedApp> {
    const quick = this.parts.quick!;
    const { version, stack } = quick.canonical.target.canonical;
    log.info(`deploying the canonical ${version} as it was (${stack})`);
    const app = await this.parts.deployer.deploy({ ...quick.request, signal });
    await this.ready(app, log, undefined, signal);
    return app;
  }

  /** Does every service carry the head's chaos-version label (the head is what runs)? */
  async headIsRunning(): Promise<boolean> {
    const { head, stack } = this.parts.prepared;
    const expectVersion = chaosVersion(head.commit, head.dirty);
    const services = await this.parts.docker.listServices(stack);
    return (
      services.length > 0 &&
      services.every((s) => s.labels[`coop-cloud.${stack}.chaos-version`] === expectVersion)
    );
  }

  /**
   * While the swarm starts the app, start the volume helpers the data tiers will use (the
   * upgrade's seed, the backup's scripts) as the app's volumes appear, so that their container
   * start is not waited for later. Only when a data tier is to run; a volume is never created
   * by this (only one the swarm made is warmed), and `stop()` — awaited before anything can
   * remove the volumes — ends it.
   */
  private warmVolumeHelpers(stack: string): { stop(): Promise<void> } {
    const { docker, options } = this.parts;
    const wanted = options.stages.some((t) => t === 'upgrade' || t === 'backup' || t === 'restore');
    if (!wanted || this.parts.readiness) return { stop: async () => undefined };
    const stopper = new AbortController();
    const warmed = new Set<string>();
    const loop = (async () => {
      for (let i = 0; i < WARM_POLLS && !stopper.signal.aborted; i++) {
        const volumes = await docker
          .listObjects('volume', { 'com.docker.stack.namespace': stack })
          .catch(() => []);
        for (const v of volumes.filter((v) => !warmed.has(v.name))) {
          warmed.add(v.name);
          await docker.warmVolumeHelper(
            {
              image: this.parts.volumeHelperImage,
              volume: v.name,
              labels: this.headRequest.labels,
            },
            false,
          );
        }
        await sleep(WARM_POLL_MS, stopper.signal);
      }
    })();
    return {
      stop: async () => {
        stopper.abort();
        await loop.catch(() => undefined);
      },
    };
  }

  /** A tier's context before the app is deployed. */
  preDeployContext(tier: TierName): PreDeployContext {
    const {
      app: _a,
      waitReady: _w,
      ...pre
    } = this.tierContext(tier, null as unknown as DeployedApp);
    return pre;
  }

  tierContext(tier: TierName, target: DeployedApp): TierContext {
    const { options, prepared, deps, state } = this.parts;
    return {
      runId: options.runId,
      runDir: options.outDir,
      tier,
      head: prepared.head,
      config: prepared.config,
      app: target,
      headRequest: this.headRequest,
      deployer: this.parts.deployer,
      docker: this.parts.docker,
      log: this.tierLog(tier),
      signal: deps.signal,
      redact: (text) => prepared.redactor.redact(text),
      volumeHelperImage: this.parts.volumeHelperImage,
      canonicalVersion: this.parts.canonicalVersion,
      reach: this.reach,
      // After a redeploy (the upgrade) probe the latest deployment.
      waitReady: (opts) => this.ready(state.currentApp(target), this.tierLog(tier), opts?.timeoutS),
      shared: state.shared,
    };
  }

  /** Run a tier (classified, one retry when unverified) and record its stage. */
  async runTier(tier: TierName, fn: () => Promise<TierOutcome>): Promise<void> {
    this.parts.state.progress(tier, 'running');
    this.parts.state.setStage(tier, await this.tierStage(tier, fn));
  }

  /** One tier run (classified, retried once when unverified) as a stage, not yet recorded. */
  tierStage(tier: TierName, fn: () => Promise<TierOutcome>): Promise<Stage> {
    const { deps, prepared } = this.parts;
    return runTierWithRetry(tier, fn, {
      log: this.tierLog(tier),
      signal: deps.signal,
      redact: (t) => prepared.redactor.redact(t),
      now: Date.now,
    });
  }

  /**
   * Diagnostics when anything did not pass (not on abort: Drone's grace period before SIGKILL
   * belongs to the teardown), the probe removed, the stack kept warm or torn down and verified,
   * the lock released. Runs once; a second call waits for the first.
   */
  finish(opts: { quiet?: boolean } = {}): Promise<void> {
    return (this.finished ??= this.doFinish(opts.quiet ?? false));
  }

  private async doFinish(quiet: boolean): Promise<void> {
    const { state, docker, deployer, options, prepared, started, lock } = this.parts;
    const { stack, redactor } = prepared;
    try {
      const diagnose = async () => {
        if (!quiet && state.troubled && !state.aborted)
          state.diagnostics = await collectDiagnostics(
            docker,
            stack,
            options.outDir,
            started,
            (t) => redactor.redact(t),
          ).catch(() => []);
      };
      // The run's own containers (probe, helpers) go while the diagnostics read the stack and
      // the teardown undeploys it; the teardown waits for them before it removes the volumes.
      // A quick run's canonical is put back through the run's probe (its readiness), so there
      // the probe waits.
      const closeOwn = () =>
        Promise.all([
          this.probe?.then((p) => p.close()).catch(() => undefined),
          docker.releaseVolumeHelpers().catch(() => 0),
          this.discardPrestarted(),
        ]);
      if (this.parts.quick) {
        await diagnose();
        await this.putCanonicalBack(this.parts.quick);
        await closeOwn();
        return await this.verifyRunObjectsGone();
      }
      const ownClosed = closeOwn();
      await diagnose();
      if (!quiet && options.keepWarm && this.allGreen()) {
        await ownClosed;
        if (await this.markWarm()) {
          state.keptWarm = true;
          state.teardown = { clean: true, leftovers: [], errors: [] };
          this.log.info(
            `kept stack ${stack} warm (cc-ci.warm=true): the sweep decides whether it becomes the canonical`,
          );
          return;
        }
      }
      if (!quiet) this.log.info(`tearing down stack ${stack}`);
      state.teardown = await teardown(
        deployer,
        docker,
        options.runId,
        stack,
        (line) => (quiet ? undefined : this.log.info(line)),
        ownClosed,
      );
      if (!quiet) this.logTeardown();
    } finally {
      await lock.release();
      this.log.info('lock released');
    }
  }

  /** Stop what a tier started early and never took (tiers/types.ts, Tier.prestart). */
  private async discardPrestarted(): Promise<void> {
    const { shared } = this.parts.state;
    const tests = shared.recipeTests;
    delete shared.recipeTests;
    await tests?.discard().catch(() => undefined);
  }

  /**
   * A quick run ends with the canonical put back (when it was touched) and nothing of the run
   * itself left: its own objects are the ones labelled with its run id (the canonical keeps its
   * own labels).
   */
  private async putCanonicalBack(quick: QuickSession): Promise<void> {
    const { state } = this.parts;
    const log = this.log;
    const record = state.quick;
    if (record) record.headDeployed = state.shared.upgradedApp !== undefined;
    if (quick.canonical.touched) {
      // Also after an abort: the canonical is put back on a signal of its own, bounded.
      const signal = AbortSignal.timeout(PUT_BACK_TIMEOUT_MS);
      const restore = await quick.canonical.restore(async () => {
        await this.redeployCanonical(log, signal);
      });
      if (record) record.restore = restore;
    } else if (record) record.restore = { restored: true, detail: 'the canonical was not touched' };
  }

  /** A quick run's own objects (probe, helpers: labelled with its run id) are gone. */
  private async verifyRunObjectsGone(): Promise<void> {
    const { state, docker, options } = this.parts;
    const log = this.log;
    state.teardown = await runObjectsTeardown(docker, options.runId, (line) => log.info(line));
    this.logTeardown();
  }

  /** What the teardown's verification found. */
  private logTeardown(): void {
    const { teardown: td } = this.parts.state;
    this.log.info(
      td.clean
        ? 'teardown verified: nothing of this run remains'
        : `teardown left ${td.leftovers.length} object(s): ${td.leftovers.map((o) => `${o.kind} ${o.name}`).join(', ')}`,
    );
  }

  /** The verdict this run will get is pass (an unverifiable lint without abra does not block). */
  private allGreen(): boolean {
    const { state } = this.parts;
    return (
      !state.error &&
      !state.aborted &&
      state.deployCount > 0 &&
      computeVerdict(rungsOf(state.stages)) === 'pass'
    );
  }

  /** Mark every service of the stack cc-ci.warm=true (the janitor never reaps warm runs). */
  private async markWarm(): Promise<boolean> {
    const { docker, prepared } = this.parts;
    const services = await docker.listServices(prepared.stack);
    for (const svc of services) await docker.addServiceLabels(svc.id, { [LABEL_WARM]: 'true' });
    // A quick run on this deploy reuses its secrets: their values stay redactable (quick.ts).
    const secrets = (this.parts.state.app?.secrets ?? []).map((x) => ({
      name: x.dockerName,
      value: x.value,
    }));
    await warmSecretStore(this.parts.stateDir).put(prepared.stack, secrets);
    return services.length > 0;
  }
}
