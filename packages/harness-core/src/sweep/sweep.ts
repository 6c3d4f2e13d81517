/**
 * The weekly sweep (`cc-ci sweep`): strictly one recipe at a time, for each recipe enrolled for a
 * warm canonical (`warm_canonical: true` in its cc-ci.yml), test its latest release tag cold when
 * that tag is newer than the canonical, and promote it when green. Every label in the report is
 * derived from the resulting state — the canonical record and the warm stack as they are after
 * the promotion — never from an exit code.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDocker } from '../adapters/docker/engine-api.js';
import type { DockerPort } from '../ports/docker.js';
import { createGit, type Git } from '../adapters/git/git.js';
import { loadRecipeConfig } from '../config/recipe-config.js';
import { DockerDeployer } from '../deployers/docker-deployer.js';
import { TIER_NAMES, type Results } from '../domain/results.js';
import { LABEL_WARM } from '../lifecycle/labels.js';
import { runWithIsolation } from '../lifecycle/isolation.js';
import type { IsolationPolicy } from '../domain/isolation.js';
import { fileLocks, type RunLocks } from '../lifecycle/locks.js';
import { InputError } from '../errors.js';
import { teardown } from '../lifecycle/teardown.js';
import { runsAsRecorded, unfinishedSnapshot } from '../lifecycle/quick.js';
import type { RunLogger } from '../tiers/types.js';
import { canonicalStore, warmSecretStore } from './canonicals.js';
import { promotionDecision, sweepDecision, type Canonical } from './decisions.js';
import { syncMirror, type MirrorGiteaConfig, type MirrorSyncOutcome } from './mirror-sync.js';

export interface SweepRecipe {
  readonly recipe: string;
  /** Git URL or path of the recipe repository (release tags are read from it). */
  readonly src: string;
  /**
   * `src` is a mirror of this upstream: before anything else the mirror's main and tags are
   * synced from it (mirror-sync.ts); a failed sync stops the recipe (`sync failed`).
   */
  readonly mirror?: { readonly upstream: string; readonly gitea?: MirrorGiteaConfig };
}

export type SweepLabel =
  | 'promoted'
  | 'up to date'
  | 'not promoted'
  | 'promote failed'
  | 'failed'
  | 'error'
  | 'would test'
  | 'sync failed';

export interface SweepOutcome {
  readonly recipe: string;
  readonly label: SweepLabel;
  readonly detail: string;
  readonly tag: string | null;
  readonly results: Results | null;
  /** The canonical record after the sweep handled this recipe. */
  readonly canonical: Canonical | null;
  /** The mirror sync that ran first, when the recipe has an upstream. */
  readonly sync?: MirrorSyncOutcome;
}

export interface SweepInput {
  readonly recipes: readonly SweepRecipe[];
  readonly stateDir: string;
  /** The run locks (default: files under stateDir); the plugin passes swarm locks. */
  readonly locks?: RunLocks;
  /** Image of the probe container that reaches the apps (run-lifecycle.ts). */
  readonly probeImage?: string;
  readonly configDir: string;
  readonly runsDir: string;
  readonly deployer: 'docker' | 'abra';
  readonly domainSuffix: string;
  readonly dryRun: boolean;
  readonly log: RunLogger;
  readonly signal: AbortSignal;
  readonly now?: () => Date;
  readonly git?: Git;
  readonly docker?: DockerPort;
  /** When a failed release run is re-run alone (docs/isolation.md); default on-failure. */
  readonly isolation?: IsolationPolicy;
}

/** ", isolation re-run: flaky" when the run was re-run alone. */
const isolationNote = (r: Results) =>
  r.isolation
    ? `; isolation re-run: ${r.isolation.label} (first run in ${r.isolation.first_dir}/)`
    : '';

/** Does the warm stack exist, marked warm, running exactly `version`? */
async function warmStackAt(docker: DockerPort, stack: string, version: string): Promise<boolean> {
  const services = await docker.listServices(stack);
  return (
    services.length > 0 &&
    services.every((s) => s.labels[LABEL_WARM] === 'true') &&
    services.some((s) => s.labels[`coop-cloud.${stack}.version`] === version)
  );
}

/** What every step of one sweep shares. */
interface SweepContext {
  readonly input: SweepInput;
  readonly git: Git;
  readonly docker: DockerPort;
  readonly store: ReturnType<typeof canonicalStore>;
  readonly deployer: DockerDeployer;
  readonly now: () => Date;
}

/** One recipe's outcome, logged as it is decided. */
type Outcome = (label: SweepLabel, detail: string, extra?: Partial<SweepOutcome>) => SweepOutcome;

export async function runSweep(input: SweepInput): Promise<SweepOutcome[]> {
  const docker = input.docker ?? createDocker();
  const ctx: SweepContext = {
    input,
    git: input.git ?? createGit(),
    docker,
    store: canonicalStore(input.stateDir),
    now: input.now ?? (() => new Date()),
    deployer: new DockerDeployer({ docker, workDir: join(tmpdir(), 'cc-ci-sweep') }),
  };
  const outcomes: SweepOutcome[] = [];
  for (const entry of input.recipes) {
    if (input.signal.aborted) break;
    outcomes.push(await sweepRecipe(ctx, entry));
  }
  return outcomes;
}

/**
 * Sync the recipe's mirror from upstream, when it has one. Returns the sync, and the outcome
 * that stops the recipe when the sync failed (it is never tested against an unsynced mirror).
 */
async function syncFirst(
  ctx: SweepContext,
  entry: SweepRecipe,
  workDir: string,
  log: RunLogger,
  out: Outcome,
): Promise<{ sync?: MirrorSyncOutcome; stop?: SweepOutcome }> {
  if (!entry.mirror) return {};
  const { input } = ctx;
  const sync = await syncMirror({
    recipe: entry.recipe,
    upstream: entry.mirror.upstream,
    mirror: entry.src,
    ...(entry.mirror.gitea ? { gitea: entry.mirror.gitea } : {}),
    workDir,
    signal: input.signal,
    log,
    dryRun: input.dryRun,
  });
  if (sync.synced) return { sync };
  const canonical = await ctx.store.get(entry.recipe).catch(() => null);
  const why = sync.error?.message ?? 'the mirror does not follow upstream';
  return { sync, stop: out('sync failed', `${why}; not tested`, { canonical, sync }) };
}

/** Decide, test cold and promote one recipe; any error becomes its `error` outcome. */
async function sweepRecipe(ctx: SweepContext, entry: SweepRecipe): Promise<SweepOutcome> {
  const { input, git, store } = ctx;
  const { recipe, src } = entry;
  const log = input.log.child({ recipe });
  let sync: MirrorSyncOutcome | undefined;
  const out: Outcome = (label, detail, extra = {}) => {
    log.info(`${label}: ${detail}`);
    const base = { recipe, label, detail, tag: null, results: null, canonical: null };
    return { ...base, ...(sync ? { sync } : {}), ...extra };
  };
  const clone = await mkdtemp(join(tmpdir(), `cc-ci-sweep-${recipe}-`));
  try {
    const synced = await syncFirst(ctx, entry, clone, log, out);
    if (synced.stop) return synced.stop;
    sync = synced.sync;
    const config = await loadRecipeConfig(input.configDir, recipe);
    const repo = join(clone, 'repo');
    // A dry run pushed nothing to the mirror: read the tags the sync would have given it.
    await git.clone(input.dryRun && entry.mirror ? entry.mirror.upstream : src, repo, input.signal);
    const before = await recordedCanonical(ctx, recipe, log);
    const decision = sweepDecision(before, await git.tags(repo));
    if (decision.action === 'error') return out('error', decision.reason, { canonical: before });
    if (decision.action === 'skip')
      return out('up to date', decision.reason, { canonical: before });
    const tag = decision.tag;
    const tagCommit = await git.resolveCommit(repo, tag);
    if (!tagCommit) return out('error', `cannot resolve ${tag}`, { tag, canonical: before });
    if (input.dryRun) return out('would test', decision.reason, { tag, canonical: before });
    log.info(`${decision.reason}: testing ${tag} cold`);
    const runId = `sweep-${recipe}-${stampOf(ctx.now())}`;
    const results = await testCold(ctx, { recipe, src, tag, runId, log }, config.warmCanonical);
    const promotion = promotionDecision({
      results,
      enrolled: config.warmCanonical,
      tag,
      tagCommit,
    });
    const kept = results.meta?.kept_warm;
    if (!promotion.promote || !kept) {
      if (kept) await retire(ctx, runId, kept.stack);
      const label: SweepLabel = results.verdict === 'pass' ? 'not promoted' : 'failed';
      const why = promotion.promote ? 'the run kept no warm deploy' : promotion.reason;
      return out(
        label,
        `${tag}: ${results.verdict}, level ${results.level}; ${why}${isolationNote(results)}`,
        {
          tag,
          results,
          canonical: before,
        },
      );
    }
    const next: Canonical = {
      recipe,
      version: tag,
      commit: tagCommit,
      domain: kept.domain,
      stack: kept.stack,
      run_id: runId,
      ts: ctx.now().toISOString(),
    };
    return await promote(ctx, { before, next, results, log, out });
  } catch (err) {
    return out('error', err instanceof Error ? err.message : String(err), {
      canonical: await store.get(recipe).catch(() => null),
    });
  } finally {
    await rm(clone, { recursive: true, force: true });
  }
}

/**
 * The canonical record, when its stack runs it as recorded. One that does not (a quick run was
 * killed on it, someone removed it) is retired — its stack torn down, the record removed — so
 * the sweep tests and promotes a fresh one instead of calling a broken deploy up to date.
 */
async function recordedCanonical(
  ctx: SweepContext,
  recipe: string,
  log: RunLogger,
): Promise<Canonical | null> {
  const before = await ctx.store.get(recipe);
  if (!before) return null;
  // A quick run on it deploys the head over it for a while: not broken, busy.
  const locks = ctx.input.locks ?? fileLocks(ctx.input.stateDir);
  if (await locks.isHeld(before.domain)) return before;
  const unfinished = await unfinishedSnapshot(ctx.input.stateDir, before.stack);
  if (
    !unfinished &&
    runsAsRecorded(await ctx.docker.listServices(before.stack), before.stack, before.version)
  )
    return before;
  if (ctx.input.dryRun) {
    log.info(
      `the canonical ${before.version} (${before.stack}) is not running as recorded: would retire it`,
    );
    return null;
  }
  const td = await retireCanonical(ctx, before, log);
  if (!td) return before; // still in use by a run: judged on the next sweep
  await ctx.store.remove(recipe);
  // A killed quick run's snapshot of it is of no use once it is retired.
  if (unfinished) await rm(unfinished, { recursive: true, force: true });
  log.warn(
    `the canonical ${before.version} (${before.stack}) was not running as recorded${unfinished ? ` (a quick run did not finish putting it back)` : ''}: retired it${td.clean ? '' : ` (${td.leftovers.length} object(s) left)`}`,
  );
  return null;
}

/** `20261203-054700` for run ids. */
const stampOf = (d: Date) =>
  d.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');

/** The full lifecycle of the release tag, cold, keeping the deploy warm when enrolled. */
async function testCold(
  ctx: SweepContext,
  run: { recipe: string; src: string; tag: string; runId: string; log: RunLogger },
  keepWarm: boolean,
): Promise<Results> {
  const { input } = ctx;
  const { results } = await runWithIsolation(
    {
      recipe: run.recipe,
      src: run.src,
      ref: run.tag,
      pr: null,
      stages: TIER_NAMES,
      quick: false,
      outDir: join(input.runsDir, run.runId),
      runId: run.runId,
      configDir: input.configDir,
      deployer: input.deployer,
      domainSuffix: input.domainSuffix,
      keepWarm,
    },
    { log: run.log, signal: input.signal },
    {
      stateDir: input.stateDir,
      docker: ctx.docker,
      ...(input.locks ? { locks: input.locks } : {}),
      ...(input.probeImage ? { probeImage: input.probeImage } : {}),
    },
    input.isolation ?? 'on-failure',
  );
  return results;
}

/** How long retiring a canonical waits for a quick run on it to finish. */
const RETIRE_WAIT_MS = 20 * 60_000;

/**
 * Retire a recorded canonical once no run holds its domain (a quick run on it puts it back
 * first): its lock is taken for the teardown. Null when it stayed busy for RETIRE_WAIT_MS.
 */
async function retireCanonical(
  ctx: SweepContext,
  c: Canonical,
  log: RunLogger,
): Promise<Awaited<ReturnType<typeof teardown>> | null> {
  const locks = ctx.input.locks ?? fileLocks(ctx.input.stateDir);
  const info = { domain: c.domain, runId: `retire-${c.run_id}`, started: ctx.now().toISOString() };
  const deadline = Date.now() + RETIRE_WAIT_MS;
  for (let waited = false; ; waited = true) {
    try {
      const lock = await locks.acquire(info);
      try {
        return await retire(ctx, c.run_id, c.stack);
      } finally {
        await lock.release();
      }
    } catch (err) {
      if (!(err instanceof InputError && err.code === 'LOCKED')) throw err;
      if (Date.now() >= deadline || ctx.input.signal.aborted) return null;
      if (!waited) log.info(`the canonical ${c.stack} is in use by a run: waiting to retire it`);
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
}

/** Tear a warm deploy down, and forget its secrets' values (canonicals.ts). */
async function retire(ctx: SweepContext, runId: string, stack: string) {
  const td = await teardown(ctx.deployer, ctx.docker, runId, stack);
  await warmSecretStore(ctx.input.stateDir).remove(stack);
  return td;
}

/**
 * Record the new canonical, then verify it from the state (the record says the tag and the
 * stack runs it, warm); on a mismatch put the old record back and remove the new stack. A
 * verified promotion retires the previous canonical's stack.
 */
async function promote(
  ctx: SweepContext,
  p: {
    before: Canonical | null;
    next: Canonical;
    results: Results;
    log: RunLogger;
    out: Outcome;
  },
): Promise<SweepOutcome> {
  const { store, docker } = ctx;
  const { before, next, results, log, out } = p;
  const tag = next.version;
  await store.put(next);
  const recorded = await store.get(next.recipe);
  const verified =
    recorded?.version === tag &&
    recorded.stack === next.stack &&
    (await warmStackAt(docker, next.stack, tag));
  if (!verified) {
    if (before) await store.put(before);
    else await store.remove(next.recipe);
    await retire(ctx, next.run_id, next.stack);
    return out(
      'promote failed',
      `${tag} passed but the warm stack ${next.stack} is not running it`,
      {
        tag,
        results,
        canonical: before,
      },
    );
  }
  if (before && before.stack !== next.stack) {
    const td = await retireCanonical(ctx, before, log);
    log.info(
      !td
        ? `the previous canonical ${before.stack} stayed in use by a run for ${RETIRE_WAIT_MS / 60_000} min: not retired (remove it by hand: docker stack rm ${before.stack})`
        : td.clean
          ? `retired the previous canonical ${before.version} (${before.stack})`
          : `the previous canonical ${before.stack} left ${td.leftovers.length} object(s)`,
    );
  }
  return out(
    'promoted',
    `${tag}: pass, level ${results.level}; canonical now ${tag} at ${next.domain}, a clean deploy of the release (never an in-place advance)${isolationNote(results)}`,
    {
      tag,
      results,
      canonical: next,
    },
  );
}
