/**
 * Queued triggers → Drone builds, as many as there are free run slots. A build is created only
 * after looking for one carrying the same trigger key whenever an earlier attempt may have
 * reached Drone (the attempt is counted before it is sent), so a crash never starts two.
 */
import { DroneConfigError } from '../adapters/drone/drone-client.js';
import type { Build, DroneBuilds } from '../adapters/drone/translate.js';
import { ParamError, buildParams } from '../domain/drone-params.js';
import type { RunTokens } from '../domain/run-token.js';
import type { BridgeMetrics } from '../metrics.js';
import type { IntakeStore, TriggerRow } from './intake-store.js';
import type { Limit, Logger } from './logger.js';
import type { TriggerFailures } from './trigger-failures.js';

export interface BuildStarterDeps {
  readonly drone: Pick<DroneBuilds, 'createBuild' | 'listBuilds'>;
  readonly store: Pick<
    IntakeStore,
    'countInState' | 'due' | 'noteCreateAttempt' | 'building' | 'contact'
  >;
  readonly triggers: BridgeMetrics['triggers'];
  readonly log: Pick<Logger, 'info'>;
  readonly failures: Pick<TriggerFailures, 'fail' | 'retry'>;
  readonly limit: Limit;
  /** Derives each build's CCCI_RUN_TOKEN; null: no upload secret, the param is sent empty. */
  readonly runTokens: Pick<RunTokens, 'forTrigger'> | null;
  readonly maxConcurrentRuns: number;
  /** True once the engine stops: no further build is started. */
  readonly stopping: () => boolean;
}

export class BuildStarter {
  constructor(private readonly deps: BuildStarterDeps) {}

  async startQueued(): Promise<void> {
    const { store } = this.deps;
    const free = this.deps.maxConcurrentRuns - store.countInState('building');
    if (free <= 0) return;
    for (const t of store.due('queued', free)) {
      if (this.deps.stopping()) return;
      await this.deps.limit(() => this.start(t));
    }
  }

  private async start(t: TriggerRow): Promise<void> {
    const { drone, store, triggers, log } = this.deps;
    const recipe = t.repo.split('/')[1]!;
    try {
      const params = buildParams({
        recipe,
        pr: t.pr,
        sha: t.head_sha ?? '',
        src: t.src ?? '',
        quick: t.quick === 1,
        triggerKey: t.idempotency_key,
        runToken: this.deps.runTokens?.forTrigger(t) ?? null,
      });
      let build: Build | null = null;
      if (t.create_attempts > 0) build = await this.findBuild(t.idempotency_key, t.created_at);
      if (!build) {
        store.noteCreateAttempt(t.id);
        build = await drone.createBuild(params);
      }
      store.building(t, {
        number: build.number,
        link: build.link,
        status: build.status,
        recipe,
      });
      store.contact('drone', true);
      triggers.inc({ outcome: 'started' });
      log.info({ trigger: t.id, build: build.number, recipe }, 'Drone build created');
    } catch (err) {
      if (err instanceof DroneConfigError || err instanceof ParamError) {
        this.deps.failures.fail(t, err.message, 'cannot start a build');
        return;
      }
      this.deps.failures.retry(t, err);
    }
  }

  /** A build created by an earlier attempt (same trigger key), if Drone has one. */
  private async findBuild(key: string, since: string): Promise<Build | null> {
    const oldest = Date.parse(since) - 300_000;
    for (let page = 1; page <= 5; page++) {
      const builds = await this.deps.drone.listBuilds(page, 100);
      const hit = builds
        .filter((b) => b.params.CCCI_TRIGGER === key)
        .sort((a, b) => a.number - b.number)[0];
      if (hit) return hit;
      if (builds.length < 100 || builds.some((b) => b.createdAt < oldest)) return null;
    }
    return null;
  }
}
