/**
 * The lifecycle's phases without Docker: a fake deployer and fake tiers record what happens, an
 * in-memory Docker port answers teardown's verification, and readiness is replaced. A real git
 * repository of the notes example is checked out (git is local and fast). What is checked:
 * phase order, the one fresh deploy and its retry, gating after a failed install, the fresh
 * head deploy after a failed upgrade, and teardown and lock release exactly once — also when
 * bad input is found before anything was deployed.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { DockerPort } from '../../src/ports/docker.js';
import { InfraError, InputError, RecipeError } from '../../src/errors.js';
import type { TierName } from '../../src/domain/results.js';
import { runLifecycle, type LifecycleAdapters } from '../../src/lifecycle/run-lifecycle.js';
import type { RunLocks } from '../../src/lifecycle/locks.js';
import type { DeployRequest, DeployedApp, Deployer } from '../../src/ports/deployer.js';
import type { TierRegistry } from '../../src/tiers/index.js';
import type { RunLogger, TierOutcome } from '../../src/tiers/types.js';

const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;

const quiet: RunLogger = { info() {}, warn() {}, error() {}, child: () => quiet };

async function notesRepo(): Promise<{ path: string; head: string }> {
  const path = join(await mkdtemp(join(tmpdir(), 'ccci-unit-')), 'repo');
  const { stdout } = await run('bash', [
    join(root, 'scripts/make-recipe-repo.sh'),
    join(root, 'examples/recipes/notes'),
    path,
    '0.1.0+1.35.0',
  ]);
  return { path, head: stdout.trim() };
}

interface Script {
  validate?: () => Promise<void>;
  deploy?: (n: number) => Promise<void>;
  ready?: (n: number) => Promise<void>;
  upgrade?: TierOutcome;
  /** The upgrade paths' bases (default one: 0.1.0+1.35.0) and each path's outcome. */
  bases?: string[];
  upgrades?: TierOutcome[];
  /**
   * When set, an upgrade asked to overlap swarm's update monitor leaves one; it settles to the
   * n-th answer: 'ok', or why what ran over it is void.
   */
  monitor?: (n: number) => string;
  /** The custom tier starts early (Tier.prestart) and hands its run what it started. */
  prestart?: boolean;
}

function world(script: Script = {}) {
  const events: string[] = [];
  let deploys = 0;
  let readies = 0;
  let upgrades = 0;
  let settles = 0;
  const app = (req: DeployRequest): DeployedApp => ({
    domain: req.domain,
    stack: req.stack,
    services: [{ name: 'app', fullName: `${req.stack}_app` }],
    endpoint: { network: 'proxy', service: `${req.stack}_app`, port: 80, hostHeader: req.domain },
    secrets: [],
  });
  const deployer: Deployer = {
    kind: 'docker',
    async validate() {
      events.push('validate');
      await script.validate?.();
    },
    async createSecrets() {
      events.push('createSecrets');
      return [];
    },
    async deploy(req) {
      events.push(`deploy ${req.recipe.version}${req.chaos ? ' chaos' : ''}`);
      await script.deploy?.(++deploys);
      return app(req);
    },
    async undeploy() {
      events.push('undeploy');
    },
    async removeData() {
      events.push('removeData');
    },
  };
  const tier = (name: TierName, outcome: TierOutcome = { status: 'pass', tests: [] }) => ({
    name,
    async run() {
      events.push(name);
      return outcome;
    },
  });
  const tiers: TierRegistry = {
    upgrade: {
      name: 'upgrade',
      async resolveBases(ctx) {
        events.push('resolveBases');
        return {
          kind: 'bases',
          value: (script.bases ?? ['0.1.0+1.35.0']).map((version) => ({
            base: { ...ctx.head, version },
            env: {},
          })),
        };
      },
      async seed() {
        events.push('seed');
      },
      async upgrade(ctx, _base, opts) {
        events.push(
          opts?.overlapMonitor && script.monitor ? 'upgrade (monitor pending)' : 'upgrade',
        );
        await ctx.deployer.deploy({ ...ctx.headRequest, chaos: true });
        if (opts?.overlapMonitor && script.monitor)
          ctx.shared.updateMonitor = {
            async settle() {
              events.push('settle');
              const answer = script.monitor!(++settles);
              return answer === 'ok'
                ? { rows: [{ name: 'no rollback', status: 'pass', ms: 0 }] }
                : { void: answer };
            },
          };
        return script.upgrades?.[upgrades++] ?? script.upgrade ?? { status: 'pass', tests: [] };
      },
    },
    others: {
      backup: tier('backup'),
      restore: tier('restore'),
      custom: script.prestart
        ? {
            name: 'custom',
            async prestart(ctx) {
              events.push('prestart custom');
              ctx.shared.recipeTests = {
                ended: false,
                release: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false }),
                discard: async () => void events.push('discard custom'),
              };
            },
            async run(ctx) {
              events.push(ctx.shared.recipeTests ? 'custom (started early)' : 'custom');
              delete ctx.shared.recipeTests;
              return { status: 'pass', tests: [] };
            },
          }
        : tier('custom'),
      lint: tier('lint'),
    },
  };
  // In-memory Docker: nothing of the run is left, no service carries the head's label.
  const docker = {
    listServices: async () => [],
    listObjects: async () => [],
    listObjectsByPrefix: async () => [],
    releaseVolumeHelpers: async () => 0,
    warmVolumeHelper: async () => false,
  } as unknown as DockerPort;
  const locks: RunLocks = {
    scope: 'unit',
    async acquire() {
      events.push('lock');
      return {
        async release() {
          events.push('release');
        },
      };
    },
    // No other run and no isolation re-run on this in-memory host.
    isHeld: async () => false,
    list: async () => [],
    removeStale: async () => [],
  };
  const adapters: LifecycleAdapters = {
    docker,
    deployer: () => deployer,
    tiers,
    locks,
    readiness: async () => {
      events.push('ready');
      await script.ready?.(++readies);
    },
  };
  return { events, adapters };
}

async function lifecycle(
  adapters: LifecycleAdapters,
  stages: TierName[],
  quick = false,
  onTier?: (tier: TierName, status: string) => void,
) {
  const repo = await notesRepo();
  const dir = await mkdtemp(join(tmpdir(), 'ccci-unit-run-'));
  return runLifecycle(
    {
      recipe: 'notes',
      src: repo.path,
      ref: repo.head,
      pr: null,
      stages,
      quick,
      outDir: join(dir, 'out'),
      runId: 'unit1',
      configDir: join(dir, 'recipes'),
      deployer: 'docker',
      domainSuffix: 'ci.localhost',
    },
    { log: quiet, signal: new AbortController().signal, ...(onTier ? { onTier } : {}) },
    adapters,
  );
}

const ALL: TierName[] = ['install', 'upgrade', 'backup', 'restore', 'custom', 'lint'];

describe('runLifecycle phases (no Docker)', () => {
  it('runs the phases in order with one fresh deploy, and tears down once', async () => {
    const { events, adapters } = world();
    const { results } = await lifecycle(adapters, ALL);
    expect(events).toEqual([
      'lock',
      'validate',
      'createSecrets',
      'resolveBases',
      'deploy 0.1.0+1.35.0',
      'ready',
      'seed',
      'upgrade',
      'deploy 0.3.0+1.35.0 chaos',
      'ready',
      'backup',
      'restore',
      'custom',
      'lint',
      'undeploy',
      'removeData',
      'release',
    ]);
    expect(results).toMatchObject({ verdict: 'pass', level: 5, deploy_count: 1 });
    expect(results.base_version).toBe('0.1.0+1.35.0');
  });

  it('runs install and the app’s tiers over swarm’s update monitor, and decides the upgrade when it ends', async () => {
    const progress: string[] = [];
    const { events, adapters } = world({ monitor: () => 'ok' });
    const { results } = await lifecycle(adapters, ALL, false, (tier, status) =>
      progress.push(`${tier} ${status}`),
    );
    expect(events.slice(events.indexOf('seed'))).toEqual([
      'seed',
      'upgrade (monitor pending)',
      'deploy 0.3.0+1.35.0 chaos',
      'ready',
      'backup',
      'restore',
      'custom',
      'settle',
      'lint',
      'undeploy',
      'removeData',
      'release',
    ]);
    // The upgrade's verdict is said only once the monitor ended, after the tiers that ran over it.
    expect(progress.indexOf('upgrade pass')).toBeGreaterThan(progress.indexOf('custom pass'));
    expect(results.stages.upgrade).toMatchObject({ status: 'pass' });
    expect(results.stages.upgrade!.tests.map((t) => `${t.name}:${t.status}`)).toEqual([
      'no rollback:pass',
    ]);
    expect(results).toMatchObject({ verdict: 'pass', level: 5, deploy_count: 1 });
  });

  it('voids what ran over a monitor that ended badly and runs the upgrade again without the overlap', async () => {
    const { events, adapters } = world({
      monitor: (n) => (n === 1 ? 'service app: swarm rollback started the upgrade' : 'ok'),
    });
    const { results } = await lifecycle(adapters, ALL);
    expect(events.slice(events.indexOf('settle'))).toEqual([
      'settle',
      'undeploy',
      'removeData',
      'createSecrets',
      'deploy 0.1.0+1.35.0',
      'ready',
      'seed',
      'upgrade',
      'deploy 0.3.0+1.35.0 chaos',
      'ready',
      'backup',
      'restore',
      'custom',
      'lint',
      'undeploy',
      'removeData',
      'release',
    ]);
    expect(events.filter((e) => e === 'settle')).toHaveLength(1);
    // The bases resolved (and checked out) once are the ones the upgrade runs again from.
    expect(events.filter((e) => e === 'resolveBases')).toHaveLength(1);
    expect(results).toMatchObject({ verdict: 'pass', level: 5, deploy_count: 2 });
    expect(results.upgrade_paths).toHaveLength(1);
  });

  it('retries the fresh deploy once after an infrastructure problem and says so', async () => {
    const { events, adapters } = world({
      deploy: async (n) => {
        if (n === 1) throw new InfraError('DOCKER_FAILED', 'daemon hiccup');
      },
    });
    const { results } = await lifecycle(adapters, ['install']);
    expect(events.filter((e) => e.startsWith('deploy') || e === 'undeploy')).toEqual([
      'deploy 0.3.0+1.35.0',
      'undeploy',
      'deploy 0.3.0+1.35.0',
      'undeploy',
    ]);
    expect(results.stages.install).toMatchObject({ status: 'pass', retried: true });
  });

  it('gates every tier but lint on a failed install', async () => {
    const { events, adapters } = world({
      ready: async () => {
        throw new RecipeError('HTTP_FAILED', '/ answered 500');
      },
    });
    const { results } = await lifecycle(adapters, [
      'install',
      'backup',
      'restore',
      'custom',
      'lint',
    ]);
    expect(results.stages.install).toMatchObject({ status: 'fail', reason: '/ answered 500' });
    for (const tier of ['backup', 'restore', 'custom'] as const)
      expect(results.stages[tier]).toMatchObject({
        status: 'unver',
        reason: 'the app is not running (install did not pass)',
      });
    expect(events).toContain('lint');
    expect(events).not.toContain('backup');
    expect(results).toMatchObject({ verdict: 'fail', level: 0 });
  });

  it('starts the custom tier early, before the first deploy, and hands its run what it started', async () => {
    const { events, adapters } = world({ prestart: true });
    await lifecycle(adapters, ALL);
    expect(events.slice(0, 5)).toEqual([
      'lock',
      'validate',
      'createSecrets',
      'prestart custom',
      'resolveBases',
    ]);
    expect(events).toContain('custom (started early)');
    expect(events).not.toContain('discard custom');
  });

  it('stops what the custom tier started early when it never runs, and starts nothing for a tier not asked for', async () => {
    const failing = world({
      prestart: true,
      ready: async () => {
        throw new RecipeError('HTTP_FAILED', '/ answered 500');
      },
    });
    const { results } = await lifecycle(failing.adapters, ['install', 'custom']);
    expect(results.stages.custom).toMatchObject({ status: 'unver' });
    expect(failing.events).toContain('prestart custom');
    expect(failing.events.indexOf('discard custom')).toBeLessThan(
      failing.events.indexOf('release'),
    );

    const without = world({ prestart: true });
    await lifecycle(without.adapters, ['install', 'backup']);
    expect(without.events).not.toContain('prestart custom');
  });

  it('after a failed upgrade that left the base running, verifies install on a fresh head deploy', async () => {
    const { events, adapters } = world({
      upgrade: { status: 'fail', reason: 'rolled back', tests: [] },
    });
    const { results } = await lifecycle(adapters, ['install', 'upgrade']);
    expect(events.slice(events.indexOf('upgrade'))).toEqual([
      'upgrade',
      'deploy 0.3.0+1.35.0 chaos',
      'undeploy',
      'removeData',
      'createSecrets',
      'deploy 0.3.0+1.35.0',
      'ready',
      'undeploy',
      'removeData',
      'release',
    ]);
    expect(results.stages.upgrade).toMatchObject({ status: 'fail', reason: 'rolled back' });
    expect(results.stages.install?.status).toBe('pass');
    expect(results.deploy_count).toBe(2);
  });

  it('tests each upgrade path from a fresh deploy of its base, and fails the upgrade naming the path that failed', async () => {
    const { events, adapters } = world({
      bases: ['0.1.0+1.35.0', '0.2.0+1.35.0'],
      upgrades: [
        {
          status: 'fail',
          reason: 'the seeded rows are gone',
          tests: [{ name: 'rows survived', status: 'fail', ms: 1 }],
        },
        { status: 'pass', tests: [{ name: 'rows survived', status: 'pass', ms: 1 }] },
      ],
    });
    const { results } = await lifecycle(adapters, ['install', 'upgrade']);
    expect(events.slice(events.indexOf('resolveBases'))).toEqual([
      'resolveBases',
      'deploy 0.1.0+1.35.0',
      'ready',
      'seed',
      'upgrade',
      'deploy 0.3.0+1.35.0 chaos',
      'undeploy',
      'removeData',
      'createSecrets',
      'deploy 0.2.0+1.35.0',
      'ready',
      'seed',
      'upgrade',
      'deploy 0.3.0+1.35.0 chaos',
      'ready',
      'undeploy',
      'removeData',
      'release',
    ]);
    expect(results.stages.upgrade).toMatchObject({
      status: 'fail',
      reason: 'from 0.1.0+1.35.0: the seeded rows are gone',
      code: 'UPGRADE_FAILED',
    });
    expect(results.stages.upgrade!.tests.map((t) => [t.name, t.status])).toEqual([
      ['from 0.1.0+1.35.0: rows survived', 'fail'],
      ['from 0.2.0+1.35.0: rows survived', 'pass'],
    ]);
    expect(results.upgrade_paths).toEqual([
      expect.objectContaining({ base_version: '0.1.0+1.35.0', status: 'fail' }),
      expect.objectContaining({ base_version: '0.2.0+1.35.0', status: 'pass' }),
    ]);
    expect(results.base_version).toBe('0.2.0+1.35.0');
    expect(results.rungs.upgrade.status).toBe('fail');
    expect(results.stages.install?.status).toBe('pass'); // the newest path left the head running
  });

  it('says a quick run with no canonical on the host runs cold, why, and records what ran', async () => {
    const { adapters } = world();
    const { results, resultsPath } = await lifecycle(adapters, ['install'], true);
    expect(results.mode).toBe('cold');
    expect(results.quick).toEqual({
      canonical: null,
      cold_reason:
        'there is no warm canonical of notes on this host (the weekly sweep keeps one when cc-ci.yml sets warm_canonical: true)',
      snapshot_restored: null,
    });
    const log = await readFile(join(dirname(resultsPath), 'run.log'), 'utf8');
    expect(log).toContain('quick run asked for, running cold: there is no warm canonical of notes');
  });

  it('bad input found before the first deploy: rethrown, torn down and unlocked exactly once', async () => {
    const { events, adapters } = world({
      validate: async () => {
        throw new InputError('COMPOSE_INVALID', 'compose.yml does not parse');
      },
    });
    await expect(lifecycle(adapters, ['install'])).rejects.toThrow('compose.yml does not parse');
    expect(events).toEqual(['lock', 'validate', 'undeploy', 'removeData', 'release']);
  });
});
