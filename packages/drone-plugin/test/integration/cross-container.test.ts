/**
 * Builds in separate plugin containers, as drone-runner-docker runs them (the faithful runner in
 * ../kit): each has its own hostname and pid namespace, so liveness is decided by the run lock
 * and lease kept in the swarm itself (swarm-locks.ts), never by a pid or a hostname.
 *
 * (1) a build SIGKILLed mid-deploy (Drone's cancel) is reaped completely by the next build's
 *     janitor, and (5) meanwhile `cc-ci prune --dry-run` in a container is not blocked by it;
 * (2) a live build is never reaped by a janitor in another container;
 * (3) two builds of the same app domain started together: one deploys, the other is refused;
 * (4) a cancel with a 3 s grace ends clean, or what it left is reaped by the next janitor.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runDroneStep, type DroneStep, type StepResult } from '../kit/local-drone-runner.js';

const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const IMAGE = 'ccci/plugin:test';
const MAIN = '/opt/cc-ci/node_modules/@cc-ci/drone-plugin/dist/main.js';
const NO_SUCH_COMMIT = 'f'.repeat(40);

let notes: { repo: string; head: string };
let slow: { repo: string; head: string };
const stacks: string[] = [];

async function repoOf(dir: string): Promise<{ repo: string; head: string }> {
  const repo = join(await mkdtemp(join(tmpdir(), 'ccci-xc-')), 'recipe');
  const head = (await run('bash', [join(root, 'scripts/make-recipe-repo.sh'), dir, repo])).stdout;
  return { repo, head: head.trim() };
}

/** Names of everything left of a stack (services, containers, volumes, secrets, configs, networks). */
async function leftOf(stack: string): Promise<string[]> {
  const found: string[] = [];
  for (const kind of ['service', 'volume', 'secret', 'config', 'network']) {
    const { stdout } = await run('docker', [kind, 'ls', '--format', '{{.Name}}']);
    found.push(...stdout.split('\n').filter((n) => n.startsWith(`${stack}_`) || n === stack));
  }
  const { stdout } = await run('docker', [
    'ps',
    '-a',
    '--filter',
    `label=cc-ci.stack=${stack}`,
    '--format',
    '{{.Names}}',
  ]);
  return [...found, ...stdout.split('\n').filter(Boolean)];
}

async function lockServices(): Promise<string[]> {
  const { stdout } = await run('docker', [
    'service',
    'ls',
    '--filter',
    'label=cc-ci.lock=true',
    '--format',
    '{{.Name}}',
  ]);
  return stdout.split('\n').filter(Boolean);
}

const step = (mounts: string[], extra: Partial<DroneStep> = {}): DroneStep => ({
  name: 'lifecycle',
  image: IMAGE,
  settings: { stages: ['install'] },
  mounts: [
    ...mounts,
    // The test fixtures' recipe configs (canary-slow probes a path that never answers).
    `${join(root, 'packages/harness-core/test/fixtures/config')}:/opt/cc-ci/recipes:ro`,
  ],
  ...extra,
});

/** A build whose janitor runs and which then stops at once (its commit does not exist). */
async function janitorBuild(number: number): Promise<StepResult> {
  const ws = await mkdtemp(join(tmpdir(), 'ccci-xc-ws-'));
  return runDroneStep({
    build: { number, params: { RECIPE: 'notes', SRC: '/recipe', REF: NO_SUCH_COMMIT } },
    step: step([`${notes.repo}:/recipe:ro`]),
    workspace: ws,
  });
}

/** `cc-ci prune --dry-run` as the host-care pipeline runs it (the daemon's root dir mounted). */
async function pruneBuild(number: number): Promise<StepResult> {
  return runDroneStep({
    build: { number, params: {} },
    step: step(['/var/lib/docker:/var/lib/docker:ro'], {
      entrypoint: ['node', MAIN],
      args: ['prune', '--dry-run', '--min-free-percent', '100', '--image-min-age-hours', '0'],
    }),
    workspace: await mkdtemp(join(tmpdir(), 'ccci-xc-ws-')),
  });
}

/** Start a build of the slow canary; resolves its stack once deployed, and its end. */
function slowBuild(
  number: number,
  opts: { graceMs?: number } = {},
): { stack: Promise<string>; done: Promise<StepResult>; cancel(): void } {
  const ac = new AbortController();
  let resolveStack: (s: string) => void = () => undefined;
  const stack = new Promise<string>((r) => (resolveStack = r));
  let log = '';
  const done = mkdtemp(join(tmpdir(), 'ccci-xc-ws-')).then((ws) =>
    runDroneStep({
      build: {
        number,
        params: { RECIPE: 'canary-slow', SRC: '/recipe', REF: slow.head },
      },
      step: step([`${slow.repo}:/recipe:ro`]),
      workspace: ws,
      signal: ac.signal,
      ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}),
      onLog: (t) => {
        log += t;
        const m = /stack (\S+) accepted by the swarm/.exec(log);
        if (m) {
          stacks.push(m[1]!);
          resolveStack(m[1]!);
        }
      },
    }),
  );
  return { stack, done, cancel: () => ac.abort() };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref(),
    ),
  ]);
}

beforeAll(async () => {
  await run(
    'bash',
    [join(root, 'docker/build-plugin-image.sh'), '--base', 'ccci/plugin-base:20', '--tag', IMAGE],
    { timeout: 300_000 },
  );
  notes = await repoOf(join(root, 'examples/recipes/notes'));
  slow = await repoOf(join(root, 'packages/harness-core/test/fixtures/recipes/canary-slow'));
}, 360_000);

afterAll(async () => {
  // Safety net only: each test asserts that nothing is left.
  for (const s of stacks) await run('docker', ['stack', 'rm', s]).catch(() => undefined);
}, 60_000);

describe('builds in separate plugin containers share liveness through the swarm', () => {
  it('(1, 5) a SIGKILLed build is reaped by the next build’s janitor; prune meanwhile is not blocked by it', async () => {
    const a = slowBuild(201);
    const stack = await within(a.stack, 120_000, 'deploy of build 201');
    a.cancel(); // Drone's cancel: SIGKILL, then the container is removed
    const killed = await a.done;
    expect(killed).toMatchObject({ cancelled: true, killed: true });
    expect((await leftOf(stack)).length).toBeGreaterThan(0);
    expect((await lockServices()).length).toBeGreaterThan(0);

    const prune = await pruneBuild(202);
    expect(prune.log).not.toMatch(/unsafe now/);
    expect(prune.log).toMatch(/prune: would remove \d+ dangling image/);

    const next = await janitorBuild(203);
    expect(next.log).toMatch(/janitor: reaping run 201/);
    expect(next.exitCode).toBe(2); // then its own (missing) commit stops it
    expect(await leftOf(stack)).toEqual([]);
    expect(await lockServices()).toEqual([]);
  }, 400_000);

  it('(2) a live build is never reaped by a janitor in another container', async () => {
    const a = slowBuild(211, { graceMs: 30_000 });
    const stack = await within(a.stack, 120_000, 'deploy of build 211');
    // The lease is what prune sees, from another container: the live build blocks it.
    expect((await pruneBuild(213)).log).toMatch(/not pruning \(unsafe now\).*211/);
    const other = await janitorBuild(212);
    expect(other.log).toMatch(/left 1 live run\(s\)/);
    expect(other.log).not.toMatch(/reaping run 211/);
    expect((await leftOf(stack)).some((n) => n === `${stack}_app`)).toBe(true);
    a.cancel(); // with a grace: the build tears down itself
    const res = await a.done;
    expect(res.killed).toBe(false);
    expect(res.log).toMatch(/teardown verified: nothing of this run remains/);
    expect(await leftOf(stack)).toEqual([]);
    expect(await lockServices()).toEqual([]);
  }, 400_000);

  it('(3) two builds of the same app domain started together: one deploys, the other is refused', async () => {
    // The same build number and params give the same run id, hence the same app domain.
    const build = { number: 221, params: { RECIPE: 'notes', SRC: '/recipe', REF: notes.head } };
    const both = await Promise.all(
      [0, 1].map(async () =>
        runDroneStep({
          build,
          step: step([`${notes.repo}:/recipe:ro`]),
          workspace: await mkdtemp(join(tmpdir(), 'ccci-xc-ws-')),
        }),
      ),
    );
    const deployed = both.filter((r) => /accepted by the swarm/.test(r.log));
    const refused = both.filter((r) => /is locked by run 221/.test(r.log));
    expect({ deployed: deployed.length, refused: refused.length }).toEqual({
      deployed: 1,
      refused: 1,
    });
    expect(refused[0]!.exitCode).toBe(2);
    expect(deployed[0]!.log).toMatch(/verdict PASS/);
    const stack = /stack (\S+) accepted by the swarm/.exec(deployed[0]!.log)![1]!;
    expect(await leftOf(stack)).toEqual([]);
    expect(await lockServices()).toEqual([]);
  }, 400_000);

  it('(4) a cancel with a 3 s grace ends clean, or the next janitor reaps what it left', async () => {
    const a = slowBuild(231, { graceMs: 3_000 });
    const stack = await within(a.stack, 120_000, 'deploy of build 231');
    a.cancel();
    const res = await a.done;
    expect(res.cancelled).toBe(true);
    if (!res.killed) expect(res.log).toMatch(/teardown verified: nothing of this run remains/);
    const next = await janitorBuild(232);
    expect(next.exitCode).toBe(2);
    expect(await leftOf(stack)).toEqual([]);
    expect(await lockServices()).toEqual([]);
  }, 400_000);
});
