/**
 * Killed runs, through the real `cc-ci` command: SIGTERM mid-deploy tears down; SIGKILL leaves
 * objects that `cc-ci janitor` reaps while a concurrently live run is left alone. Hostile input
 * is refused with exit 2 before anything is deployed.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  cliMain,
  fixture,
  fixtureConfigDir,
  forceRemoveStack,
  recipeRepo,
  repoRoot,
  stackObjects,
} from '../support/fixtures.js';

const run = promisify(execFile);
const cleanup: string[] = [];
afterAll(async () => {
  for (const s of cleanup) await forceRemoveStack(s);
}, 120_000);

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  stack: Promise<string>;
}

/** Start `cc-ci run` and resolve `stack` once the swarm accepted the deploy. */
function startRun(args: string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(process.execPath, [cliMain, 'run', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let resolveStack: (s: string) => void;
  const stack = new Promise<string>((r) => (resolveStack = r));
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    const m = /stack (\S+) accepted by the swarm/.exec(out);
    if (m) resolveStack(m[1]!);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exited, stack };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, rej) =>
      setTimeout(() => rej(new Error(`${what} did not happen within ${ms} ms`)), ms).unref(),
    ),
  ]);
}

async function env() {
  const base = await mkdtemp(join(tmpdir(), 'ccci-cli-'));
  return {
    ...process.env,
    CCCI_RUNS_DIR: join(base, 'runs'),
    CCCI_STATE_DIR: join(base, 'state'),
    DRONE: '',
  };
}

/** `cc-ci run` arguments for an install-only run of the slow canary, janitor off. */
function slowInstallArgs(repo: { path: string; head: string }): string[] {
  return [
    repo.path,
    '--recipe',
    'canary-slow',
    '--ref',
    repo.head,
    '--stages',
    'install',
    '--config-dir',
    fixtureConfigDir,
    '--no-janitor',
  ];
}

/** The notes example with no generated secret: a volume and configs only. */
async function notesWithoutSecrets(): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'ccci-nosecret-')), 'notes');
  await cp(join(repoRoot, 'examples/recipes/notes'), dir, { recursive: true });
  const edit = async (file: string, from: string | RegExp, to: string) => {
    const text = await readFile(join(dir, file), 'utf8');
    const changed = text.replace(from, to);
    if (changed === text) throw new Error(`${file}: nothing to change for ${String(from)}`);
    await writeFile(join(dir, file), changed);
  };
  await edit('.env.sample', /^SECRET_ADMIN_PASSWORD_VERSION=.*$/m, '');
  await edit('compose.yml', '    secrets:\n      - admin_password\n', '');
  await edit('compose.yml', /^secrets:\n {2}admin_password:\n(?: {4}.*\n)+/m, '');
  await edit('entrypoint.sh', '[ ! -s /run/secrets/admin_password ]', 'false');
  return dir;
}

describe('cc-ci run under signals', () => {
  it('tears everything down and records the abort when SIGTERM arrives mid-deploy', async () => {
    const repo = await recipeRepo(fixture('canary-slow'));
    const e = await env();
    const r = startRun(
      [
        repo.path,
        '--recipe',
        'canary-slow',
        '--ref',
        repo.head,
        '--stages',
        'install',
        '--config-dir',
        fixtureConfigDir,
        '--run-id',
        `sigterm${Date.now()}`,
        '--no-janitor',
      ],
      e,
    );
    const stack = await withTimeout(r.stack, 60_000, 'deploy');
    cleanup.push(stack);
    r.child.kill('SIGTERM');
    const code = await withTimeout(r.exited, 90_000, 'exit after SIGTERM');
    expect(code).toBe(3);
    expect(r.output()).toMatch(/SIGTERM received: stopping the run and tearing down/);
    expect(r.output()).toMatch(/teardown verified: nothing of this run remains/);
    expect(await stackObjects(stack)).toEqual([]);
    const resultsPath = /run directory: (\S+)/.exec(r.output())![1]!;
    const results = JSON.parse(await readFile(join(resultsPath, 'results.json'), 'utf8'));
    expect(results.verdict).toBe('error');
    expect(results.stages.install.status).toBe('unver');
    expect(results.flags.clean_teardown).toBe(true);
  }, 180_000);

  it('reaps a SIGKILLed run with cc-ci janitor and leaves a concurrently live run alone', async () => {
    const repo = await recipeRepo(fixture('canary-slow'));
    const e = await env();
    const common = slowInstallArgs(repo);
    const live = startRun([...common, '--run-id', `live${Date.now()}`], e);
    const killed = startRun([...common, '--run-id', `killed${Date.now()}`], e);
    const [liveStack, killedStack] = await withTimeout(
      Promise.all([live.stack, killed.stack]),
      90_000,
      'both deploys',
    );
    cleanup.push(liveStack, killedStack);
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect((await stackObjects(killedStack)).length).toBeGreaterThan(0);

    const dry = await run(process.execPath, [cliMain, 'janitor', '--dry-run'], {
      env: e,
      timeout: 120_000,
    });
    expect(dry.stdout).toMatch(/would reap run killed/);
    expect((await stackObjects(killedStack)).length).toBeGreaterThan(0);

    const res = await run(process.execPath, [cliMain, 'janitor'], { env: e, timeout: 180_000 });
    expect(res.stdout).toMatch(/reaping run killed/);
    expect(res.stdout).not.toMatch(/run live/);
    expect(await stackObjects(killedStack)).toEqual([]);
    // The live run is untouched: its service still exists and the process is still running.
    const liveObjects = await stackObjects(liveStack);
    if (!liveObjects.some((o) => o.startsWith('service ')))
      throw new Error(
        `live run lost its service: ${liveObjects.join(', ')}\n${live.output()}\n--- janitor:\n${res.stdout}`,
      );
    expect(live.child.exitCode).toBeNull();

    live.child.kill('SIGTERM');
    await withTimeout(live.exited, 90_000, 'live run exit');
    expect(await stackObjects(liveStack)).toEqual([]);
  }, 300_000);

  // The example recipe without its generated secret (the one object cc-ci itself creates): after
  // `docker stack rm` its volume would carry only Docker's stack label, and nothing would lead the
  // janitor to it, unless cc-ci labelled it at creation.
  it.each(['undeploy', 'remove data', 'verify'])(
    'SIGKILL in the teardown step "%s": the next janitor leaves nothing of the run and no lock file',
    async (step) => {
      const repo = await recipeRepo(await notesWithoutSecrets());
      const e = await env();
      const r = startRun(
        [
          repo.path,
          '--recipe',
          'notes',
          '--ref',
          repo.head,
          '--stages',
          'install',
          '--config-dir',
          join(repoRoot, 'recipes'),
          '--run-id',
          `tdkill${Date.now()}`,
          '--no-janitor',
        ],
        e,
      );
      const stack = await withTimeout(r.stack, 90_000, 'deploy');
      cleanup.push(stack);
      await withTimeout(
        new Promise<void>((resolve) => {
          const timer = setInterval(() => {
            if (r.output().includes(`teardown: ${step}`)) {
              clearInterval(timer);
              resolve();
            }
          }, 5);
          r.exited.then(() => clearInterval(timer));
        }),
        120_000,
        `teardown step ${step}`,
      );
      r.child.kill('SIGKILL');
      await r.exited;
      expect(r.output()).not.toMatch(/teardown verified/);

      const res = await run(process.execPath, [cliMain, 'janitor'], { env: e, timeout: 180_000 });
      expect(await stackObjects(stack)).toEqual([]);
      // Volumes, secrets and configs of the run, whatever their names.
      for (const kind of ['volume', 'secret', 'config', 'network']) {
        const { stdout } = await run('docker', [
          kind,
          'ls',
          '-q',
          '--filter',
          `label=cc-ci.stack=${stack}`,
        ]);
        expect(`${kind}: ${stdout.trim()}`).toBe(`${kind}: `);
      }
      const locks = await readdir(join(e.CCCI_STATE_DIR, 'locks')).catch(() => []);
      expect({ locks, janitor: res.stdout }).toEqual({ locks: [], janitor: res.stdout });
    },
    300_000,
  );
});

describe('cc-ci janitor and warm canonicals', () => {
  it('never reaps a run marked warm (cc-ci.warm=true), and reaps it once the mark is gone', async () => {
    const repo = await recipeRepo(fixture('canary-slow'));
    const e = await env();
    const killed = startRun([...slowInstallArgs(repo), '--run-id', `warm${Date.now()}`], e);
    const stack = await withTimeout(killed.stack, 90_000, 'the deploy');
    cleanup.push(stack);
    killed.child.kill('SIGKILL');
    await killed.exited;
    const services = (
      await run('docker', [
        'service',
        'ls',
        '--quiet',
        '--filter',
        `label=com.docker.stack.namespace=${stack}`,
      ])
    ).stdout
      .split('\n')
      .filter(Boolean);
    expect(services.length).toBeGreaterThan(0);
    for (const svc of services)
      await run('docker', ['service', 'update', '--detach', '--label-add', 'cc-ci.warm=true', svc]);

    const kept = await run(process.execPath, [cliMain, 'janitor'], { env: e, timeout: 120_000 });
    expect(kept.stdout).toMatch(/reaped 0 run\(s\).*1 warm canonical\(s\) alone/);
    expect((await stackObjects(stack)).some((o) => o.startsWith('service '))).toBe(true);

    for (const svc of services)
      await run('docker', ['service', 'update', '--detach', '--label-rm', 'cc-ci.warm', svc]);
    const reaped = await run(process.execPath, [cliMain, 'janitor'], { env: e, timeout: 180_000 });
    expect(reaped.stdout).toMatch(/reaping run warm/);
    expect(await stackObjects(stack)).toEqual([]);
  }, 300_000);
});

describe('cc-ci run refuses hostile input with exit 2 before deploying anything', () => {
  const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
    [
      'a recipe name with a slash',
      ['--recipe', 'a/b', '--src', '/tmp', '--ref', 'abcdef1'],
      {},
      /recipe name "a\/b" is not valid/,
    ],
    [
      'a recipe name with ..',
      ['--recipe', '..', '--src', '/tmp', '--ref', 'abcdef1'],
      {},
      /recipe name "\.\." is not valid/,
    ],
    [
      'a recipe name with a space',
      ['--recipe', 'a b', '--src', '/tmp', '--ref', 'abcdef1'],
      {},
      /is not valid/,
    ],
    [
      'a recipe name with shell syntax',
      ['--recipe', 'x;rm', '--src', '/tmp', '--ref', 'abcdef1'],
      {},
      /is not valid/,
    ],
    [
      'a recipe name with $()',
      ['--recipe', '$(id)', '--src', '/tmp', '--ref', 'abcdef1'],
      {},
      /is not valid/,
    ],
    [
      'a ref with ;',
      ['--recipe', 'notes', '--src', '/tmp', '--ref', 'a;b'],
      {},
      /ref "a;b" is not a commit sha/,
    ],
    [
      'a ref that is a git option',
      ['--recipe', 'notes', '--src', '/tmp', '--ref', '--upload-pack=x'],
      {},
      /not a commit sha|ambiguous|option/,
    ],
    [
      'a ref expression',
      ['--recipe', 'notes', '--src', '/tmp', '--ref', 'HEAD~1'],
      {},
      /ref "HEAD~1" is not a commit sha/,
    ],
    [
      'RECIPE=../x from Drone',
      [],
      { DRONE: 'true', RECIPE: '../x', SRC: '/tmp', REF: 'abcdef1' },
      /recipe name "\.\.\/x" is not valid/,
    ],
    [
      'REF with ; from Drone',
      [],
      { DRONE: 'true', RECIPE: 'notes', SRC: '/tmp', REF: 'a;b' },
      /ref "a;b"/,
    ],
    [
      'a newline in SRC from Drone',
      [],
      { DRONE: 'true', RECIPE: 'notes', SRC: '/tmp\n--x', REF: 'abcdef1' },
      /SRC: contains a newline/,
    ],
    [
      'an overridden PATH param',
      [],
      {
        DRONE: 'true',
        RECIPE: 'notes',
        SRC: '/tmp',
        REF: 'abcdef1',
        CCCI_EXPECTED_PATH: '/usr/bin:/bin',
      },
      /PATH is set by a build param/,
    ],
    [
      'a NODE_OPTIONS param',
      [],
      {
        DRONE: 'true',
        RECIPE: 'notes',
        SRC: '/tmp',
        REF: 'abcdef1',
        NODE_OPTIONS: '--max-old-space-size=200',
      },
      /NODE_OPTIONS is set by a build param/,
    ],
  ];

  it.each(cases)('refuses %s', async (_name, args, extraEnv, message) => {
    const before = (await run('docker', ['stack', 'ls', '--format', '{{.Name}}'])).stdout;
    const e = { ...(await env()), ...extraEnv };
    const res = await run(process.execPath, [cliMain, 'run', ...args, '--no-janitor'], {
      env: e,
      timeout: 30_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect((await run('docker', ['stack', 'ls', '--format', '{{.Name}}'])).stdout).toBe(before);
  });
});
