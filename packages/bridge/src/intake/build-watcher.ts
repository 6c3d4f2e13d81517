/**
 * The Drone build watcher: follows every unfinished run's build, ends runs whose build ended
 * without results (after a grace period for the upload) or waited too long for approval, and
 * tracks builds of the CI repository the bridge did not start.
 */
import { isRecipeName } from '@cc-ci/harness-core';
import type { Build, DroneBuilds } from '../adapters/drone/translate.js';
import { DRONE_CURSOR, cursorOf } from './cursors.js';
import type { IntakeStore } from './intake-store.js';
import type { Logger } from './logger.js';

type UnfinishedRun = ReturnType<IntakeStore['unfinishedRuns']>[number];

export interface BuildWatcherDeps {
  readonly drone: Pick<DroneBuilds, 'getBuild' | 'listBuilds'>;
  readonly store: Pick<
    IntakeStore,
    | 'unfinishedRuns'
    | 'failRun'
    | 'updateRunDrone'
    | 'setDroneWaitingSince'
    | 'bumpRunCard'
    | 'contact'
    | 'hasRun'
    | 'insertForeignRun'
    | 'cursor'
    | 'setCursor'
  >;
  readonly log: Pick<Logger, 'info' | 'warn'>;
  readonly now: () => number;
  /** Enrolled recipe repositories, owner/name. */
  readonly repos: readonly string[];
  /** How long a finished build may wait for its results. */
  readonly noResultsGraceMs: number;
  /** How long a build may stay `blocked` or `waiting_on_dependencies` before its run ends. */
  readonly blockedTimeoutMs: number;
}

export class BuildWatcher {
  constructor(private readonly deps: BuildWatcherDeps) {}

  async watchRuns(): Promise<void> {
    await this.discoverBuilds();
    for (const r of this.deps.store.unfinishedRuns()) {
      const build = await this.deps.drone.getBuild(Number(r.run_id));
      this.follow(r, build);
    }
    this.deps.store.contact('drone', true);
  }

  private follow(r: UnfinishedRun, build: Build | null): void {
    const { store, log } = this.deps;
    if (!build) {
      store.failRun(r.run_id, 'missing', 'the Drone build no longer exists');
      return;
    }
    if (build.status === 'declined' || build.status === 'skipped') {
      // Nothing ran and nothing will: no results can come, so no grace period.
      store.failRun(r.run_id, build.status, endedMessage(build));
      return;
    }
    if (!build.done) {
      this.followWaiting(r, build);
      return;
    }
    const finishedAt = r.drone_finished_at ?? this.isoNow();
    if (!r.drone_finished_at) store.updateRunDrone(r.run_id, build.status, 'running', finishedAt);
    if (this.deps.now() - Date.parse(finishedAt) >= this.deps.noResultsGraceMs) {
      store.failRun(r.run_id, build.status, endedMessage(build));
      log.warn({ run: r.run_id, drone: build.status }, 'build ended without results');
    }
  }

  /** A build not done yet: keep its status, and time how long it waits for approval. */
  private followWaiting(r: UnfinishedRun, build: Build): void {
    const { store, log } = this.deps;
    const status = build.status === 'running' ? 'running' : 'queued';
    if (status !== r.status || build.status !== r.drone_status)
      store.updateRunDrone(r.run_id, build.status, status, null);
    if (isWaiting(build.status)) {
      const since = r.drone_waiting_since ?? this.isoNow();
      if (!r.drone_waiting_since) store.setDroneWaitingSince(r.run_id, since);
      const waitedMs = this.deps.now() - Date.parse(since);
      if (waitedMs >= this.deps.blockedTimeoutMs) {
        store.failRun(r.run_id, build.status, waitedTooLong(build, waitedMs));
        log.warn(
          { run: r.run_id, drone: build.status, waitedMs },
          'build waited too long; its slot is freed',
        );
      } else if (!r.drone_waiting_since) store.bumpRunCard(r.run_id);
    } else if (r.drone_waiting_since) {
      store.setDroneWaitingSince(r.run_id, null);
      store.bumpRunCard(r.run_id);
    }
  }

  /** Builds of the CI repository the bridge did not start (UI re-runs, curl) become runs too. */
  private async discoverBuilds(): Promise<void> {
    const { drone, store, log } = this.deps;
    const since = cursorOf(store, this.deps.now, DRONE_CURSOR);
    // Drone times are whole seconds; a minute of slack keeps builds made just before the first start.
    const sinceMs = (Math.floor(Date.parse(since) / 1000) - 60) * 1000;
    const builds = await drone.listBuilds(1, 25);
    for (const b of builds) {
      if (b.createdAt < sinceMs || b.event !== 'custom' || store.hasRun(String(b.number))) continue;
      const recipe = b.params.RECIPE;
      if (!recipe || !isRecipeName(recipe)) continue;
      const repo = this.deps.repos.find((r) => r.split('/')[1]!.toLowerCase() === recipe) ?? null;
      const pr = b.params.PR && /^\d{1,9}$/.test(b.params.PR) ? Number(b.params.PR) : null;
      store.insertForeignRun({
        runId: String(b.number),
        recipe,
        repo,
        pr,
        ref: b.params.REF ?? null,
        quick: b.params.CCCI_QUICK === '1',
        status: b.done || b.status === 'running' ? 'running' : 'queued',
        droneStatus: b.status,
        link: b.link,
        created: new Date(b.createdAt).toISOString(),
      });
      log.info(
        { build: b.number, recipe, parent: b.parent ?? undefined },
        'tracking a build the bridge did not start',
      );
    }
  }

  private isoNow(): string {
    return new Date(this.deps.now()).toISOString();
  }
}

const isWaiting = (s: string) => s === 'blocked' || s === 'waiting_on_dependencies';

function waitedTooLong(build: Build, waitedMs: number): string {
  const minutes = Math.round(waitedMs / 60_000);
  const what =
    build.status === 'blocked'
      ? 'was blocked (awaiting approval in Drone)'
      : 'was waiting on dependencies';
  return `the Drone build #${build.number} ${what} for ${minutes} min, longer than CCCI_BLOCKED_TIMEOUT_S; cc-ci stopped waiting and freed its slot. Approve or decline it in Drone, then comment !testme again`;
}

/** The final message of a build that ended without results. */
function endedMessage(build: Build): string {
  switch (build.status) {
    case 'declined':
      return `the Drone build #${build.number} was declined by a Drone admin; nothing ran`;
    case 'skipped':
      return `the Drone build #${build.number} was skipped by Drone; nothing ran`;
    case 'killed':
      return `the Drone build #${build.number} was cancelled (killed); no results uploaded`;
    default:
      return `no results uploaded (the Drone build ended: ${build.status}${build.error ? `: ${build.error}` : ''})`;
  }
}
