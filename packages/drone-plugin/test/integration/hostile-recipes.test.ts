/**
 * Hostile recipes, through `cc-ci run` on the real swarm: a recipe PR may come from anyone's fork,
 * so none of its files may choose a host binary, reach a host process's environment or ask the
 * daemon for host privileges. Each case ends with exit 2 before any object exists, or — for the
 * clean child environment — proves that nothing of cc-ci's own environment reaches the recipe's
 * processes. Each case leaves the swarm as it found it.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { appendFile, chmod, cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const cli = join(root, 'packages/drone-plugin/dist/main.js');
const notes = join(root, 'examples/recipes/notes');

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A copy of the notes example, changed by `edit`, committed as a git repository named `name`. */
async function hostileRecipe(
  name: string,
  edit: (dir: string) => Promise<void>,
): Promise<{ repo: string; parent: string }> {
  const parent = await mkdtemp(join(tmpdir(), 'ccci-hostile-'));
  const src = join(parent, 'src');
  await cp(notes, src, { recursive: true });
  await edit(src);
  const repo = join(parent, name);
  await run('bash', [join(root, 'scripts/make-recipe-repo.sh'), src, repo]);
  return { repo, parent };
}

async function ccci(args: string[], env: Record<string, string>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      env,
      timeout: 240_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every service, volume, secret, config, network and container on the daemon, by kind and name. */
async function swarmObjects(): Promise<string[]> {
  const found: string[] = [];
  for (const kind of ['service', 'volume', 'secret', 'config', 'network']) {
    const { stdout } = await run('docker', [kind, 'ls', '--format', '{{.Name}}']);
    found.push(
      ...stdout
        .split('\n')
        .filter(Boolean)
        .map((n) => `${kind} ${n}`),
    );
  }
  const { stdout } = await run('docker', ['ps', '-a', '--format', '{{.Names}}']);
  found.push(
    ...stdout
      .split('\n')
      .filter(Boolean)
      .map((n) => `container ${n}`),
  );
  return found.sort();
}

/** What is left of a run's stack (its objects are named `<stack>_...`). */
async function objectsOfStack(stack: string): Promise<string[]> {
  return (await swarmObjects()).filter((o) => o.split(' ')[1]!.startsWith(stack));
}

/** A directory holding a fake `docker` (and `git`) that records that it ran. */
async function fakeBinDir(parent: string): Promise<{ dir: string; marker: string }> {
  const dir = join(parent, 'evil-bin');
  const marker = join(parent, 'fake-ran');
  await mkdir(dir);
  for (const bin of ['docker', 'git']) {
    await writeFile(join(dir, bin), `#!/bin/sh\necho "$0 $*" >> ${marker}\nexit 0\n`);
    await chmod(join(dir, bin), 0o755);
  }
  return { dir, marker };
}

describe('a recipe cannot steer a host process through its env', () => {
  const baseEnv = (parent: string) => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: parent,
    CCCI_STATE_DIR: join(parent, 'state'),
  });

  it.each([
    ['PATH', '.env.sample', (bin: string) => bin],
    ['LD_PRELOAD', '.env.sample', (bin: string) => join(bin, 'evil.so')],
    ['NODE_OPTIONS', '.env.sample', (bin: string) => `--require ${join(bin, 'evil.js')}`],
    ['DOCKER_HOST', '.env.sample', () => 'tcp://127.0.0.1:1'],
    ['PATH', 'abra.sh', (bin: string) => bin],
    ['GIT_SSH_COMMAND', 'abra.sh', (bin: string) => join(bin, 'git')],
  ])(
    '%s set in %s: exit 2 naming it, the fake binary never runs, nothing is created',
    async (name, file, value) => {
      const word = `hostile-env-${name.toLowerCase().replace(/_/g, '')}`;
      let marker = '';
      const { repo, parent } = await hostileRecipe(word, async (dir) => {
        const fake = await fakeBinDir(dir);
        marker = fake.marker;
        const line =
          file === 'abra.sh'
            ? `\nexport ${name}=${value(fake.dir)}\n`
            : `\n${name}="${value(fake.dir)}"\n`;
        await appendFile(join(dir, file), line);
      });
      const before = await swarmObjects();
      const res = await ccci(['run', repo, '--stages', 'install', '--out', join(parent, 'out')], {
        ...baseEnv(parent),
      });
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(new RegExp(`${file.replace('.', '\\.')} sets [^:]*\\b${name}\\b`));
      expect(res.stderr).toContain('cc-ci: RECIPE_ENV_RESERVED: ');
      expect(res.stderr).toContain('how to fix: rename the variable');
      expect(existsSync(marker)).toBe(false);
      expect(await swarmObjects()).toEqual(before);
    },
    60_000,
  );

  it('the recipe’s own tests see none of cc-ci’s environment: no token, no build param', async () => {
    const { repo, parent } = await hostileRecipe('hostile-env-tests', async () => undefined);
    // The operator-owned config dir for this recipe, with a test that reports its environment.
    const configDir = join(parent, 'config');
    await mkdir(join(configDir, 'hostile-env-tests', 'tests'), { recursive: true });
    await cp(join(root, 'recipes/notes/cc-ci.yml'), join(configDir, 'hostile-env-tests/cc-ci.yml'));
    const seen = join(parent, 'seen-env.json');
    await writeFile(
      join(configDir, 'hostile-env-tests', 'tests', 'env.test.mjs'),
      [
        "import { it } from '@jest/globals';",
        "import { writeFileSync } from 'node:fs';",
        `it('records its environment', () => writeFileSync(${JSON.stringify(seen)}, JSON.stringify(Object.keys(process.env))));`,
        '',
      ].join('\n'),
    );
    const res = await ccci(
      [
        'run',
        repo,
        '--stages',
        'install,custom',
        '--config-dir',
        configDir,
        '--out',
        join(parent, 'out'),
      ],
      {
        ...baseEnv(parent),
        PLUGIN_RESULTS_TOKEN: 'shared-results-token-value',
        CCCI_RUN_TOKEN: `ccci-run.7.${'R'.repeat(43)}`,
        NODE_OPTIONS: '--no-deprecation',
      },
    );
    expect({ code: res.code, stdout: res.stdout, stderr: res.stderr }).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/verdict PASS/),
    });
    const names = JSON.parse(await readFile(seen, 'utf8')) as string[];
    expect(names).toContain('CCCI_CONTEXT');
    for (const leaked of ['PLUGIN_RESULTS_TOKEN', 'CCCI_RUN_TOKEN', 'NODE_OPTIONS'])
      expect(names).not.toContain(leaked);
    const log = await readFile(join(parent, 'out', 'run.log'), 'utf8');
    expect(log).not.toContain('shared-results-token-value');
    expect(log).not.toContain('R'.repeat(43));
    const stack = /stack (\S+) accepted by the swarm/.exec(res.stdout + res.stderr)?.[1];
    expect(stack).toBeDefined();
    expect(await objectsOfStack(stack!)).toEqual([]);
  }, 240_000);
});

describe('a recipe cannot ask the daemon for the host: the compose policy', () => {
  const baseEnv = (parent: string) => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: parent,
    CCCI_STATE_DIR: join(parent, 'state'),
  });
  /** Add `lines` (YAML, 4-space indented) to the notes app service. */
  const addToApp = (lines: string) => async (dir: string) => {
    const file = join(dir, 'compose.yml');
    const text = await readFile(file, 'utf8');
    await writeFile(
      file,
      text.replace('    image: ccci/web:1\n', `    image: ccci/web:1\n${lines}`),
    );
  };
  const socketMount =
    '    volumes:\n      - notes:/data\n      - /var/run/docker.sock:/var/run/docker.sock\n';
  const withoutAppVolumes = (extra: string) => async (dir: string) => {
    const file = join(dir, 'compose.yml');
    const text = await readFile(file, 'utf8');
    await writeFile(
      file,
      text
        .replace('    volumes:\n      - notes:/data\n', '')
        .replace('    image: ccci/web:1\n', `    image: ccci/web:1\n${extra}`),
    );
  };

  it.each([
    [
      'a docker socket bind mount',
      withoutAppVolumes(socketMount),
      /service "app", key "volumes.*docker socket/i,
    ],
    [
      '/ mounted',
      withoutAppVolumes('    volumes:\n      - notes:/data\n      - /:/host\n'),
      /service "app", key "volumes/,
    ],
    ['privileged: true', addToApp('    privileged: true\n'), /service "app", key "privileged"/],
    ['cap_add', addToApp('    cap_add: [SYS_ADMIN]\n'), /service "app", key "cap_add/],
    [
      'network_mode: host',
      addToApp('    network_mode: host\n'),
      /service "app", key "network_mode"/,
    ],
    [
      'a COMPOSE_FILE entry outside the checkout',
      async (dir: string) =>
        appendFile(
          join(dir, '.env.sample'),
          '\nCOMPOSE_FILE="compose.yml:../../../../../etc/hostname"\n',
        ),
      /COMPOSE_FILE/,
    ],
  ])(
    '%s: exit 2 naming the key, before any object exists',
    async (_what, edit, message) => {
      const word = `hostile-compose-${Math.random().toString(36).slice(2, 8)}`;
      const { repo, parent } = await hostileRecipe(word, edit);
      const before = await swarmObjects();
      const res = await ccci(
        ['run', repo, '--stages', 'install', '--out', join(parent, 'out')],
        baseEnv(parent),
      );
      expect({ code: res.code, stderr: res.stderr }).toEqual({
        code: 2,
        stderr: expect.stringMatching(message),
      });
      expect(res.stderr).toMatch(/compose policy refuses|outside the checkout/);
      expect(await swarmObjects()).toEqual(before);
    },
    60_000,
  );

  it('the same socket mount deploys when the operator allows it in recipes/<name>/cc-ci.yml', async () => {
    const name = 'hostile-compose-allowed';
    const { repo, parent } = await hostileRecipe(name, withoutAppVolumes(socketMount));
    const configDir = join(parent, 'config');
    await mkdir(join(configDir, name), { recursive: true });
    await writeFile(
      join(configDir, name, 'cc-ci.yml'),
      [
        await readFile(join(root, 'recipes/notes/cc-ci.yml'), 'utf8'),
        'compose_policy_exceptions:',
        '  - service: app',
        '    key: bind_mount',
        '    value: /var/run/docker.sock',
        '    reason: a test of the exception mechanism',
        '',
      ].join('\n'),
    );
    const res = await ccci(
      ['run', repo, '--stages', 'install', '--config-dir', configDir, '--out', join(parent, 'out')],
      baseEnv(parent),
    );
    expect({ code: res.code, out: res.stdout }).toEqual({
      code: 0,
      out: expect.stringMatching(/verdict PASS/),
    });
    expect(res.stdout + res.stderr).toMatch(
      /allowed by .*cc-ci\.yml: .*service "app".*a test of the exception mechanism/,
    );
    const stack = /stack (\S+) accepted by the swarm/.exec(res.stdout + res.stderr)?.[1];
    expect(stack).toBeDefined();
    expect(await objectsOfStack(stack!)).toEqual([]);
  }, 240_000);
});
