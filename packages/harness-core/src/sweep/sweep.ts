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
import { DockerCli } from '../adapters/docker/docker-cli.js';
import { createGit, type Git } from '../adapters/git/git.js';
import { loadRecipeConfig } from '../config/recipe-config.js';
import { DockerDeployer } from '../deployers/docker-deployer.js';
import { TIER_NAMES, type Results } from '../domain/results.js';
import { LABEL_WARM } from '../lifecycle/labels.js';
import { runLifecycle } from '../lifecycle/run-lifecycle.js';
import type { RunLocks } from '../lifecycle/locks.js';
import { teardown } from '../lifecycle/teardown.js';
import type { RunLogger } from '../tiers/types.js';
import { canonicalStore } from './canonicals.js';
import { promotionDecision, sweepDecision, type Canonical } from './decisions.js';

export interface SweepRecipe {
  readonly recipe: string;
  /** Git URL or path of the recipe repository (release tags are read from it). */
  readonly src: string;
}

export type SweepLabel =
  'promoted' | 'up to date' | 'not promoted' | 'promote failed' | 'failed' | 'error' | 'would test';

export interface SweepOutcome {
  readonly recipe: string;
  readonly label: SweepLabel;
  readonly detail: string;
  readonly tag: string | null;
  readonly results: Results | null;
  /** The canonical record after the sweep handled this recipe. */
  readonly canonical: Canonical | null;
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
  readonly docker?: DockerCli;
}

/** Does the warm stack exist, marked warm, running exactly `version`? */
async function warmStackAt(docker: DockerCli, stack: string, version: string): Promise<boolean> {
  const services = await docker.listServices(stack);
  return (
    services.length > 0 &&
    services.every((s) => s.labels[LABEL_WARM] === 'true') &&
    services.some((s) => s.labels[`coop-cloud.${stack}.version`] === version)
  );
}

export async function runSweep(input: SweepInput): Promise<SweepOutcome[]> {
  const git = input.git ?? createGit();
  const docker = input.docker ?? new DockerCli();
  const store = canonicalStore(input.stateDir);
  const now = input.now ?? (() => new Date());
  const deployer = new DockerDeployer({ docker, workDir: join(tmpdir(), 'cc-ci-sweep') });
  const outcomes: SweepOutcome[] = [];
  for (const { recipe, src } of input.recipes) {
    if (input.signal.aborted) break;
    const log = input.log.child({ recipe });
    const out = (label: SweepLabel, detail: string, extra: Partial<SweepOutcome> = {}) => {
      log.info(`${label}: ${detail}`);
      return { recipe, label, detail, tag: null, results: null, canonical: null, ...extra };
    };
    const clone = await mkdtemp(join(tmpdir(), `cc-ci-sweep-${recipe}-`));
    try {
      const config = await loadRecipeConfig(input.configDir, recipe);
      await git.clone(src, join(clone, 'repo'), input.signal);
      const tags = await git.tags(join(clone, 'repo'));
      const before = await store.get(recipe);
      const decision = sweepDecision(before, tags);
      if (decision.action === 'error') {
        outcomes.push(out('error', decision.reason, { canonical: before }));
        continue;
      }
      if (decision.action === 'skip') {
        outcomes.push(out('up to date', decision.reason, { canonical: before }));
        continue;
      }
      const tag = decision.tag;
      const tagCommit = await git.resolveCommit(join(clone, 'repo'), tag);
      if (input.dryRun || !tagCommit) {
        outcomes.push(
          tagCommit
            ? out('would test', decision.reason, { tag, canonical: before })
            : out('error', `cannot resolve ${tag}`, { tag, canonical: before }),
        );
        continue;
      }
      log.info(`${decision.reason}: testing ${tag} cold`);
      const stamp = now().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
      const runId = `sweep-${recipe}-${stamp}`;
      const { results } = await runLifecycle(
        {
          recipe,
          src,
          ref: tag,
          pr: null,
          stages: TIER_NAMES,
          quick: false,
          outDir: join(input.runsDir, runId),
          runId,
          configDir: input.configDir,
          deployer: input.deployer,
          domainSuffix: input.domainSuffix,
          keepWarm: config.warmCanonical,
        },
        { log, signal: input.signal },
        {
          stateDir: input.stateDir,
          docker,
          ...(input.locks ? { locks: input.locks } : {}),
          ...(input.probeImage ? { probeImage: input.probeImage } : {}),
        },
      );
      const kept = results.meta?.kept_warm;
      const promotion = promotionDecision({
        results,
        enrolled: config.warmCanonical,
        tag,
        tagCommit,
      });
      if (!promotion.promote) {
        if (kept) await teardown(deployer, docker, runId, kept.stack);
        const label: SweepLabel = results.verdict === 'pass' ? 'not promoted' : 'failed';
        outcomes.push(
          out(label, `${tag}: ${results.verdict}, level ${results.level}; ${promotion.reason}`, {
            tag,
            results,
            canonical: before,
          }),
        );
        continue;
      }
      const next: Canonical = {
        recipe,
        version: tag,
        commit: tagCommit,
        domain: kept!.domain,
        stack: kept!.stack,
        run_id: runId,
        ts: now().toISOString(),
      };
      await store.put(next);
      // The label comes from the state: the record says the tag, and the stack runs it, warm.
      const recorded = await store.get(recipe);
      const verified =
        recorded?.version === tag &&
        recorded.stack === next.stack &&
        (await warmStackAt(docker, next.stack, tag));
      if (!verified) {
        if (before) await store.put(before);
        else await store.remove(recipe);
        await teardown(deployer, docker, runId, next.stack);
        outcomes.push(
          out(
            'promote failed',
            `${tag} passed but the warm stack ${next.stack} is not running it`,
            { tag, results, canonical: before },
          ),
        );
        continue;
      }
      if (before && before.stack !== next.stack) {
        const td = await teardown(deployer, docker, before.run_id, before.stack);
        log.info(
          td.clean
            ? `retired the previous canonical ${before.version} (${before.stack})`
            : `the previous canonical ${before.stack} left ${td.leftovers.length} object(s)`,
        );
      }
      outcomes.push(
        out(
          'promoted',
          `${tag}: pass, level ${results.level}; canonical now ${tag} at ${next.domain}`,
          { tag, results, canonical: next },
        ),
      );
    } catch (err) {
      outcomes.push(
        out('error', err instanceof Error ? err.message : String(err), {
          canonical: await store.get(recipe).catch(() => null),
        }),
      );
    } finally {
      await rm(clone, { recursive: true, force: true });
    }
  }
  return outcomes;
}
