/**
 * The tiers on the real local swarm: the example recipe climbs to level 4 with one deploy, and
 * each canary turns red in the right tier for the right reason.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DockerDeployer } from '../../src/deployers/docker-deployer.js';
import type { TierName } from '../../src/domain/results.js';
import type { Deployer } from '../../src/ports/deployer.js';
import {
  fixture,
  forceRemoveStack,
  recipeRepo,
  repoRoot,
  runRecipe,
  stackObjects,
  type RecipeRunInput,
  verdictOf,
} from '../support/fixtures.js';

const stacks: string[] = [];
afterAll(async () => {
  for (const s of stacks) await forceRemoveStack(s);
}, 180_000);

async function lifecycle(opts: Omit<RecipeRunInput, 'stacks' | 'pr'>) {
  const run = await runRecipe({ ...opts, pr: 3, stacks });
  expect(await stackObjects(run.stack)).toEqual([]);
  expect(run.r.flags.clean_teardown).toBe(true);
  return run;
}

const ALL: TierName[] = ['install', 'upgrade', 'backup', 'restore', 'custom', 'lint'];

describe('the example recipe through every tier', () => {
  it('reaches level 4 with one deploy: upgrade proven, data restored, custom tests green, lint unver without abra', async () => {
    const repo = await recipeRepo(join(repoRoot, 'examples/recipes/notes'), [
      '0.1.0+1.35.0',
      '0.2.0+1.35.0',
    ]);
    const { r } = await lifecycle({
      src: repo.path,
      ref: repo.head,
      recipe: 'notes',
      stages: ALL,
      configDir: join(repoRoot, 'recipes'),
    });
    expect(verdictOf(r)).toEqual({ verdict: 'pass', failing: {} });
    expect(r.level).toBeGreaterThanOrEqual(4);
    expect(r.deploy_count).toBe(1);
    expect(r.base_version).toBe('0.2.0+1.35.0');
    expect(r.version).toBe('0.3.0+1.35.0');
    const upgradeRows = r.stages.upgrade!.tests.map((t) => `${t.name}:${t.status}`);
    expect(upgradeRows).toEqual(
      expect.arrayContaining([
        `head is deployed (chaos-version = ${repo.head.slice(0, 8)}):pass`,
        'version label moved from the base:pass',
        'no rollback:pass',
        'seeded data survived:pass',
      ]),
    );
    expect(r.stages.backup!.status).toBe('pass');
    expect(r.stages.restore!.status).toBe('pass');
    expect(
      r.stages.custom!.tests.some(
        (t) => t.name === 'notes stores a note and lists it back' && t.status === 'pass',
      ),
    ).toBe(true);
    expect(r.rungs.lint).toMatchObject({
      status: 'unver',
      reason: expect.stringMatching(/abra not installed/),
    });
  }, 300_000);

  it('never upgrades from the head’s own version: testing release 0.2.0 steps back to 0.1.0', async () => {
    const repo = await recipeRepo(join(repoRoot, 'examples/recipes/notes'), [
      '0.1.0+1.35.0',
      '0.2.0+1.35.0',
    ]);
    const { r } = await lifecycle({
      src: repo.path,
      ref: '0.2.0+1.35.0',
      recipe: 'notes',
      stages: ['install', 'upgrade'],
      configDir: join(repoRoot, 'recipes'),
    });
    expect(r.version).toBe('0.2.0+1.35.0');
    expect(r.base_version).toBe('0.1.0+1.35.0');
    expect(r.stages.upgrade!.status).toBe('pass');
  }, 300_000);

  it('skips the upgrade structurally when there is no older release', async () => {
    const repo = await recipeRepo(join(repoRoot, 'examples/recipes/notes'), ['0.1.0+1.35.0']);
    const { r } = await lifecycle({
      src: repo.path,
      ref: '0.1.0+1.35.0',
      recipe: 'notes',
      stages: ['install', 'upgrade'],
      configDir: join(repoRoot, 'recipes'),
    });
    expect(r.stages.upgrade).toMatchObject({
      status: 'skip',
      reason: 'no previous release older than 0.1.0+1.35.0',
    });
    // A skip is climbed past but proves nothing: the level stays at the highest passed rung.
    expect(r.level).toBe(1);
    expect(verdictOf(r)).toEqual({ verdict: 'pass', failing: {} });
  }, 300_000);
});

describe('canaries that must turn red', () => {
  it('fails the upgrade when the head crash-loops and start-first rollback keeps the base serving', async () => {
    const repo = await recipeRepo(fixture('tier-rollback'), ['1.0.0+1.35.0']);
    const { r } = await lifecycle({
      src: repo.path,
      ref: repo.head,
      recipe: 'tier-rollback',
      stages: ['install', 'upgrade'],
    });
    expect(r.stages.upgrade!.status).toBe('fail');
    expect(r.stages.upgrade!.reason).toMatch(/rollback|reverted/);
    expect(r.verdict).toBe('fail');
    // The head alone crash-loops: install, proven on a fresh head deploy, fails too.
    expect(r.stages.install!.status).toBe('fail');
    expect(r.level).toBe(0);
  }, 300_000);

  it('fails an "upgrade" whose head was never actually deployed', async () => {
    const repo = await recipeRepo(join(repoRoot, 'examples/recipes/notes'), [
      '0.1.0+1.35.0',
      '0.2.0+1.35.0',
    ]);
    // A deployer that silently ignores the head's chaos redeploy: the base keeps running.
    const lazy = (
      workDir: string,
      docker: ConstructorParameters<typeof DockerDeployer>[0]['docker'],
    ): Deployer => {
      const real = new DockerDeployer({ docker, workDir });
      let first: Awaited<ReturnType<Deployer['deploy']>> | null = null;
      return {
        kind: 'docker',
        validate: (req) => real.validate(req),
        createSecrets: (req) => real.createSecrets(req),
        deploy: async (req) => (req.chaos && first ? first : (first = await real.deploy(req))),
        undeploy: (s) => real.undeploy(s),
        removeData: (s) => real.removeData(s),
      };
    };
    const { r } = await lifecycle({
      src: repo.path,
      ref: repo.head,
      recipe: 'notes',
      stages: ['install', 'upgrade'],
      configDir: join(repoRoot, 'recipes'),
      adapters: { deployer: lazy },
    });
    expect(r.stages.upgrade!.status).toBe('fail');
    expect(r.stages.upgrade!.reason).toMatch(/the head was never deployed/);
    expect(r.stages.upgrade!.reason).toMatch(/version/);
  }, 300_000);

  it('fails the backup when the pre-hook silently produces nothing', async () => {
    const repo = await recipeRepo(fixture('tier-backup-empty-hook'));
    const { r } = await lifecycle({
      src: repo.path,
      ref: repo.head,
      recipe: 'tier-backup-empty-hook',
      stages: ['install', 'backup', 'restore'],
    });
    expect(r.stages.backup!.status).toBe('fail');
    expect(r.stages.backup!.reason).toMatch(
      /dump\.sql missing from the archive \(did the pre-hook produce them\?\)/,
    );
    expect(r.rungs.backup_restore.status).toBe('fail');
  }, 300_000);

  it('fails the restore when the restore post-hook wipes the data', async () => {
    const repo = await recipeRepo(fixture('tier-restore-wipe'));
    const { r } = await lifecycle({
      src: repo.path,
      ref: repo.head,
      recipe: 'tier-restore-wipe',
      stages: ['install', 'backup', 'restore'],
    });
    expect(r.stages.backup!.status).toBe('pass');
    expect(r.stages.restore!.status).toBe('fail');
    expect(r.stages.restore!.reason).toMatch(/db\/records\.txt/);
  }, 300_000);

  it('fails when the backup paths exclude the app’s data', async () => {
    const repo = await recipeRepo(fixture('tier-backup-excludes'));
    const { r } = await lifecycle({
      src: repo.path,
      ref: repo.head,
      recipe: 'tier-backup-excludes',
      stages: ['install', 'backup', 'restore'],
    });
    expect(r.rungs.backup_restore.status).toBe('fail');
    expect(r.stages.restore!.reason).toMatch(
      /lost, not covered by the backup paths \(cache\): db\/records\.txt/,
    );
  }, 300_000);

  it('fails the custom tier with the test’s failure text in JUnit', async () => {
    const repo = await recipeRepo(fixture('tier-custom-fail'));
    const { r, outDir } = await lifecycle({
      src: repo.path,
      ref: repo.head,
      recipe: 'tier-custom-fail',
      stages: ['install', 'custom'],
    });
    expect(r.stages.custom!.status).toBe('fail');
    expect(r.stages.custom!.reason).toMatch(/finds the welcome text on the front page/);
    const junit = await readFile(join(outDir, 'junit', 'custom.xml'), 'utf8');
    expect(junit).toMatch(/<failure message="[^"]*Welcome to the canary/);
    expect(r.level).toBe(1);
    expect(r.verdict).toBe('fail');
  }, 300_000);

  it('retries a backup the verify probe rejects, and passes when a later attempt is accepted', async () => {
    const repo = await recipeRepo(fixture('tier-backup-excludes'));
    const { r } = await lifecycle({
      src: repo.path,
      ref: repo.head,
      recipe: 'tier-verify-flaky',
      stages: ['install', 'backup'],
    });
    expect(r.stages.backup!.status).toBe('pass');
    const probes = r.stages.backup!.tests.filter((t) => t.name.startsWith('backup verify probe'));
    expect(probes.map((t) => t.status)).toEqual(['skip', 'pass']);
    expect(probes[0]!.message).toMatch(/first backup looks truncated.*taking the backup again/);
  }, 300_000);

  it('fails the backup after 3 attempts the verify probe rejects', async () => {
    const repo = await recipeRepo(fixture('tier-backup-excludes'));
    const { r } = await lifecycle({
      src: repo.path,
      ref: repo.head,
      recipe: 'tier-verify-broken',
      stages: ['install', 'backup'],
    });
    expect(r.stages.backup!.status).toBe('fail');
    expect(r.stages.backup!.reason).toMatch(
      /rejected 3 backups in a row: exit 1: dump is truncated/,
    );
  }, 300_000);
});

describe('swarm’s update monitor', () => {
  const rowsOf = (r: {
    stages: { upgrade?: { tests: readonly { name: string; status: string }[] } };
  }) => r.stages.upgrade!.tests.map((t) => `${t.name}:${t.status}`);
  const at = (lines: readonly string[], re: RegExp) => lines.findIndex((l) => re.test(l));

  it('runs install over the monitor of a head that is ready, and passes the upgrade once the monitor ended', async () => {
    const repo = await recipeRepo(fixture('tier-monitor'), ['1.0.0+1.35.0']);
    const { r, log } = await lifecycle({
      src: repo.path,
      ref: repo.head,
      recipe: 'tier-monitor',
      stages: ['install', 'upgrade'],
    });
    expect(verdictOf(r)).toEqual({ verdict: 'pass', failing: {} });
    expect(rowsOf(r)).toEqual(
      expect.arrayContaining([
        'no rollback:pass',
        'the ready head ran unchanged through the update monitor:pass',
      ]),
    );
    const pending = at(log.lines, /ready while swarm still monitors its update/);
    const installed = at(log.lines, /^install: pass/);
    const ended = at(log.lines, /^upgrade: pass — swarm's update monitor ended/);
    expect(pending).toBeGreaterThanOrEqual(0);
    expect(installed).toBeGreaterThan(pending);
    expect(ended).toBeGreaterThan(installed);
    expect(r.deploy_count).toBe(1);
  }, 300_000);

  it('canary: a head that crashes while swarm monitors its update fails the upgrade for the rollback, and what ran over the monitor is void', async () => {
    const repo = await recipeRepo(fixture('tier-late-rollback'), ['1.0.0+1.35.0']);
    const { r, log } = await lifecycle({
      src: repo.path,
      ref: repo.head,
      recipe: 'tier-late-rollback',
      stages: ['install', 'upgrade'],
    });
    // Install ran over the monitor, then swarm rolled the head back: void, and started over.
    const installed = at(log.lines, /^install: pass/);
    const voided = at(log.lines, /update monitor ended badly .*what they found is void/);
    expect(installed).toBeGreaterThanOrEqual(0);
    expect(voided).toBeGreaterThan(installed);
    // The upgrade run again without the overlap sees swarm roll the head back.
    expect(r.stages.upgrade!.status).toBe('fail');
    expect(r.stages.upgrade!.reason).toMatch(/rollback|reverted/);
    expect(r.verdict).toBe('fail');
    expect(r.upgrade_paths).toHaveLength(1);
    // The base, the base again after the void, and the head fresh after the failed upgrade.
    expect(r.deploy_count).toBe(3);
  }, 300_000);
});
