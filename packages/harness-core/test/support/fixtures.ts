/**
 * Test support: fixture recipes turned into real git repositories, run directories, a logger
 * that records lines, and a check that nothing of a run is left on the swarm.
 */
import { execFile } from 'node:child_process';
import { appendFile, cp, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunLogger } from '../../src/tiers/types.js';
import type { Results, TierName } from '../../src/domain/results.js';
import { runLifecycle, type LifecycleAdapters } from '../../src/lifecycle/run-lifecycle.js';

const run = promisify(execFile);
export const repoRoot = new URL('../../../../', import.meta.url).pathname;
export const fixturesDir = join(repoRoot, 'packages/harness-core/test/fixtures');
export const fixtureConfigDir = join(fixturesDir, 'config');
export const cliMain = join(repoRoot, 'packages/drone-plugin/dist/main.js');

/** `cc-ci <args>` as a newcomer runs it (the built CLI, its own process): exit code and output. */
export async function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 300_000,
): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [cliMain, ...args], {
      env,
      timeout: timeoutMs,
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

/**
 * A CI config directory (`recipes/`) with the notes example enrolled for a warm canonical. It
 * sits inside the repository so the recipe's own tests resolve @cc-ci/harness-core/testing from
 * its node_modules, as they do from recipes/; the caller removes `join(dir, '..')`.
 */
export async function enrolledNotesConfig(prefix: string): Promise<string> {
  await mkdir(join(repoRoot, 'test-artifacts'), { recursive: true });
  const dir = join(await mkdtemp(join(repoRoot, 'test-artifacts', `${prefix}-`)), 'recipes');
  await cp(join(repoRoot, 'recipes', 'notes'), join(dir, 'notes'), { recursive: true });
  await appendFile(join(dir, 'notes', 'cc-ci.yml'), '\nwarm_canonical: true\n');
  return dir;
}

/** Make a git repo of a fixture (or example) recipe dir with the given release tags. */
export async function recipeRepo(
  dir: string,
  releases: string[] = [],
): Promise<{ path: string; head: string }> {
  const parent = await mkdtemp(join(tmpdir(), 'ccci-fixture-'));
  const path = join(parent, 'repo');
  const { stdout } = await run('bash', [
    join(repoRoot, 'scripts/make-recipe-repo.sh'),
    dir,
    path,
    ...releases,
  ]);
  return { path, head: stdout.trim() };
}

/**
 * A canary made from a good recipe: `base` with the files of the fixture dir `over` laid over
 * it, so the canary differs from the recipe in exactly the files that break it.
 */
export async function variantRepo(
  base: string,
  over: string,
  releases: string[] = [],
): Promise<{ path: string; head: string }> {
  const src = join(await mkdtemp(join(tmpdir(), 'ccci-variant-')), 'recipe');
  await cp(base, src, { recursive: true });
  await cp(over, src, { recursive: true, force: true });
  return recipeRepo(src, releases);
}

export function fixture(name: string): string {
  return join(fixturesDir, 'recipes', name);
}

export async function runDir(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'ccci-run-')), 'out');
}

export interface RecordingLogger extends RunLogger {
  readonly lines: string[];
}

export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const make = (tier?: string): RunLogger => ({
    info: (m) => void lines.push(`${tier ? `[${tier}] ` : ''}${m}`),
    warn: (m) => void lines.push(`WARN ${tier ? `[${tier}] ` : ''}${m}`),
    error: (m) => void lines.push(`ERROR ${tier ? `[${tier}] ` : ''}${m}`),
    child: (b) => make(typeof b.tier === 'string' ? b.tier : tier),
  });
  return Object.assign(make(), { lines });
}

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { timeout: 60_000 });
  return stdout.trim();
}

/** Create a service of a test stack, its namespace label on it and on its containers. */
export function stackService(stack: string, name: string, ...rest: string[]): Promise<string> {
  const ns = `com.docker.stack.namespace=${stack}`;
  return docker(
    'service',
    'create',
    '--detach',
    '--quiet',
    '--name',
    `${stack}_${name}`,
    '--label',
    ns,
    '--container-label',
    ns,
    ...rest,
  );
}

/** The ids of a stack's services (by namespace label). */
export async function stackServiceIds(stack: string): Promise<string[]> {
  const out = await docker(
    'service',
    'ls',
    '-q',
    '--filter',
    `label=com.docker.stack.namespace=${stack}`,
  );
  return out.split('\n').filter(Boolean);
}

/** Every object on the daemon that belongs to a stack (by namespace label or name prefix). */
export async function stackObjects(stack: string): Promise<string[]> {
  const found: string[] = [];
  for (const [kind, args] of [
    [
      'service',
      [
        'service',
        'ls',
        '--filter',
        `label=com.docker.stack.namespace=${stack}`,
        '--format',
        '{{.Name}}',
      ],
    ],
    [
      'container',
      [
        'ps',
        '-a',
        '--filter',
        `label=com.docker.stack.namespace=${stack}`,
        '--format',
        '{{.Names}}',
      ],
    ],
    ['network', ['network', 'ls', '--filter', `name=${stack}_`, '--format', '{{.Name}}']],
    ['volume', ['volume', 'ls', '--filter', `name=${stack}_`, '--format', '{{.Name}}']],
    ['secret', ['secret', 'ls', '--filter', `name=${stack}_`, '--format', '{{.Name}}']],
    ['config', ['config', 'ls', '--filter', `name=${stack}_`, '--format', '{{.Name}}']],
  ] as const) {
    const out = await docker(...args);
    for (const name of out.split('\n').filter(Boolean)) found.push(`${kind} ${name}`);
  }
  return found;
}

/** Remove a stack and its data whatever state it is in (afterAll safety net). */
export async function forceRemoveStack(stack: string): Promise<void> {
  await run('docker', ['stack', 'rm', stack]).catch(() => undefined);
  for (let i = 0; i < 60; i++) {
    const left = await stackObjects(stack);
    if (left.length === 0) return;
    for (const entry of left) {
      const [kind, name] = entry.split(' ') as [string, string];
      const rm: Record<string, string[]> = {
        volume: ['volume', 'rm', '-f', name],
        container: ['rm', '-f', name],
        secret: ['secret', 'rm', name],
        config: ['config', 'rm', name],
        network: ['network', 'rm', name],
      };
      if (rm[kind]) await run('docker', rm[kind]!).catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface RecipeRunInput {
  readonly src: string;
  readonly ref?: string | undefined;
  readonly recipe: string;
  readonly stages: TierName[];
  readonly pr?: number | null;
  readonly configDir?: string;
  readonly adapters?: LifecycleAdapters;
  /** Stacks of the runs, for an afterAll safety net (forceRemoveStack). */
  readonly stacks: string[];
}

/** One lifecycle run of a recipe repository on the local swarm, in a fresh run directory. */
export async function runRecipe(input: RecipeRunInput) {
  const outDir = await runDir();
  const log = recordingLogger();
  const runId = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const outcome = await runLifecycle(
    {
      recipe: input.recipe,
      src: input.src,
      ...(input.ref ? { ref: input.ref } : {}),
      pr: input.pr ?? null,
      stages: input.stages,
      quick: false,
      outDir,
      runId,
      configDir: input.configDir ?? fixtureConfigDir,
      deployer: 'docker',
      domainSuffix: 'ci.localhost',
    },
    { log, signal: new AbortController().signal },
    { stateDir: join(outDir, '..', 'state'), ...input.adapters },
  );
  const stack = outcome.results.domain.replace(/\./g, '_');
  input.stacks.push(stack);
  return { outcome, outDir, log, r: outcome.results, stack };
}

/**
 * What a run's verdict rests on, for an assertion that names each failing stage, its reason and
 * its failing rows instead of only "expected pass, received fail".
 */
export function verdictOf(r: Results): {
  verdict: string;
  failing: Record<string, { reason: string | null; rows: string[] }>;
} {
  const failing: Record<string, { reason: string | null; rows: string[] }> = {};
  for (const [name, stage] of Object.entries(r.stages)) {
    if (stage?.status !== 'fail') continue;
    failing[name] = {
      reason: stage.reason ?? null,
      rows: stage.tests
        .filter((t) => t.status === 'fail' || t.status === 'unver')
        .map((t) => `${t.name}: ${t.message ?? ''}`),
    };
  }
  return { verdict: r.verdict, failing };
}
