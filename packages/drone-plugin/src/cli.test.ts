import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError, outDirProblem, parseCommand } from './cli.js';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  parseCommand(['run', ...argv], { PATH: '/nonexistent', ...env });

describe('cc-ci run command line', () => {
  it('re-runs failed runs alone: when shared in Drone, on every failure when asked, never when told', () => {
    const drone = { DRONE: 'true', RECIPE: 'notes', SRC: '/srv/r/notes' };
    expect(run(['/srv/r/notes'])).toMatchObject({ isolation: 'off' });
    expect(run([], drone)).toMatchObject({ isolation: 'when-shared' });
    expect(run(['--isolate-on-failure', '/srv/r/notes'])).toMatchObject({
      isolation: 'on-failure',
    });
    expect(run(['--no-isolation'], drone)).toMatchObject({ isolation: 'off' });
    expect(run([], { ...drone, PLUGIN_ISOLATION_RERUN: 'off' })).toMatchObject({
      isolation: 'off',
    });
    expect(run([], { ...drone, PLUGIN_ISOLATION_RERUN: 'on-failure' })).toMatchObject({
      isolation: 'on-failure',
    });
    expect(() => run(['--isolate-on-failure', '--no-isolation', '/srv/r/notes'])).toThrow(
      /contradict each other/,
    );
    expect(() => run([], { ...drone, PLUGIN_ISOLATION_RERUN: 'sometimes' })).toThrow(
      /PLUGIN_ISOLATION_RERUN/,
    );
    const sweep = (argv: string[]) =>
      parseCommand(['sweep', '--src-base', '/srv/r', ...argv], { PATH: '/nonexistent' });
    expect(sweep([])).toMatchObject({ isolation: 'on-failure' });
    expect(sweep(['--no-isolation'])).toMatchObject({ isolation: 'off' });
  });
  it('takes everything from Drone params when no flags are given', () => {
    const cmd = run([], {
      DRONE: 'true',
      RECIPE: 'notes',
      SRC: 'https://git.example.org/r/notes.git',
      REF: 'abcdef1',
      PR: '12',
      STAGES: 'install,lint',
      CCCI_QUICK: '1',
      DRONE_BUILD_NUMBER: '42',
      DRONE_BUILD_LINK: 'https://drone/x/42',
      PLUGIN_BRIDGE_URL: 'http://127.0.0.1:8080',
      PLUGIN_RESULTS_TOKEN: 't',
    });
    expect(cmd).toMatchObject({
      kind: 'run',
      recipe: 'notes',
      ref: 'abcdef1',
      pr: 12,
      stages: ['install', 'lint'],
      quick: true,
      runId: '42',
      buildLink: 'https://drone/x/42',
      bridgeUrl: 'http://127.0.0.1:8080',
      deployer: 'docker',
      domainSuffix: 'ci.localhost',
    });
  });
  it("uploads with the build's CCCI_RUN_TOKEN when the bridge gave one, else PLUGIN_RESULTS_TOKEN", () => {
    const runToken = `ccci-run.7.${'A'.repeat(43)}`;
    const base = {
      PLUGIN_BRIDGE_URL: 'http://127.0.0.1:8080',
      PLUGIN_RESULTS_TOKEN: 'shared-token',
    };
    expect(run(['/srv/r/notes'], { ...base, CCCI_RUN_TOKEN: runToken })).toMatchObject({
      uploadToken: runToken,
    });
    expect(run(['/srv/r/notes'], base)).toMatchObject({ uploadToken: 'shared-token' });
    expect(run(['/srv/r/notes'], { ...base, CCCI_RUN_TOKEN: '' })).toMatchObject({
      uploadToken: 'shared-token',
    });
    expect(run(['/srv/r/notes'], {})).toMatchObject({ uploadToken: undefined });
  });
  it('refuses a CCCI_RUN_TOKEN with a newline or a character outside the token charset, without printing it', () => {
    for (const bad of ['run-token-SECRET\nPATH=/tmp', 'run-token-SECRET;id']) {
      try {
        run(['/srv/r/notes'], { CCCI_RUN_TOKEN: bad });
        throw new Error('expected a UsageError');
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        expect((e as Error).message).toContain('CCCI_RUN_TOKEN');
        expect((e as Error).message).not.toContain('SECRET');
      }
    }
  });
  it('lets flags win over params', () => {
    const cmd = run(['--recipe', 'other', '--ref', 'abcdef2', '--stages', 'install'], {
      RECIPE: 'notes',
      SRC: '/tmp',
      REF: 'abcdef1',
    });
    expect(cmd).toMatchObject({ recipe: 'other', ref: 'abcdef2', stages: ['install'] });
  });
  it('names a local checkout after its directory', () => {
    expect(run(['/srv/recipes/my-recipe'])).toMatchObject({
      recipe: 'my-recipe',
      src: '/srv/recipes/my-recipe',
      ref: undefined,
    });
  });
  it('reports every problem at once', () => {
    try {
      run([
        '--recipe',
        'A/B',
        '--ref',
        'a;b',
        '--pr',
        'x',
        '--stages',
        'install,nope',
        '--deployer',
        'k8s',
      ]);
      throw new Error('expected a UsageError');
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      const msg = (e as Error).message;
      for (const part of [
        'recipe name "A/B"',
        'ref "a;b"',
        '--pr "x"',
        'nope',
        '--deployer must be docker or abra',
      ])
        expect(msg).toContain(part);
    }
  });
  it('needs a ref for a git URL', () => {
    expect(() => run(['--recipe', 'n', '--src', 'https://x/y.git'])).toThrow(/needs --ref/);
  });
  it('refuses unknown flags', () => {
    expect(() => run(['--recipe', 'n', '--frobnicate'])).toThrow(UsageError);
  });
});

describe('host-care commands', () => {
  const env = { CCCI_STATE_DIR: '/tmp/state' };
  it('parses prune with its defaults and thresholds', () => {
    expect(parseCommand(['prune'], env)).toEqual({
      kind: 'prune',
      dryRun: false,
      stateDir: '/tmp/state',
      minFreeGiB: 10,
      minFreePercent: 10,
      imageMinAgeHours: 1,
    });
    expect(
      parseCommand(
        ['prune', '--dry-run', '--min-free-gib', '2.5', '--min-free-percent', '100'],
        env,
      ),
    ).toMatchObject({
      dryRun: true,
      minFreeGiB: 2.5,
      minFreePercent: 100,
    });
    for (const bad of [
      ['--min-free-percent', '101'],
      ['--min-free-gib', '-1'],
      ['--min-free-gib', 'lots'],
      ['--all'],
    ])
      expect(() => parseCommand(['prune', ...bad], env)).toThrow(UsageError);
  });
  it('parses vip-guard; the restart command comes from the operator environment only', () => {
    expect(parseCommand(['vip-guard'], env)).toMatchObject({
      kind: 'vip-guard',
      proxyNetwork: 'proxy',
      pruneNetworks: false,
      restartDaemon: null,
    });
    expect(
      parseCommand(['vip-guard', '--restart-daemon'], {
        ...env,
        CCCI_DOCKER_RESTART_CMD: 'service docker restart',
      }),
    ).toMatchObject({
      restartDaemon: ['service', 'docker', 'restart'],
    });
    expect(parseCommand(['vip-guard', '--restart-daemon'], env)).toMatchObject({
      restartDaemon: ['systemctl', 'restart', 'docker'],
    });
    expect(() => parseCommand(['vip-guard', '--proxy-network', 'x;rm -rf /'], env)).toThrow(
      UsageError,
    );
  });
});

describe('sweep command', () => {
  it('needs a source base and valid recipe names', () => {
    expect(() => parseCommand(['sweep'], {})).toThrow(/no --src-base/);
    expect(() => parseCommand(['sweep', '--src-base', '/srv', '--recipe', '../x'], {})).toThrow(
      /not valid/,
    );
    expect(
      parseCommand(['sweep', '--recipe', 'notes', '--recipe', 'keycloak', '--dry-run'], {
        CCCI_SWEEP_SRC_BASE: 'https://git.example/coop-cloud',
        CCCI_STATE_DIR: '/s',
      }),
    ).toMatchObject({
      kind: 'sweep',
      dryRun: true,
      srcBase: 'https://git.example/coop-cloud',
      only: ['notes', 'keycloak'],
      stateDir: '/s',
    });
  });

  it("takes the mirrors' upstream and Gitea, the token from CCCI_SWEEP_GITEA_TOKEN(_FILE)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccci-cli-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 's3cret\n');
    const env = {
      CCCI_SWEEP_SRC_BASE: 'https://git.example/coop-cloud',
      CCCI_SWEEP_UPSTREAM_BASE: 'https://upstream.example/recipes',
      CCCI_SWEEP_GITEA_URL: 'https://git.example',
    };
    expect(
      parseCommand(['sweep'], { ...env, CCCI_SWEEP_GITEA_TOKEN_FILE: tokenFile }),
    ).toMatchObject({
      upstreamBase: 'https://upstream.example/recipes',
      gitea: { url: 'https://git.example', owner: 'coop-cloud', token: 's3cret' },
    });
    expect(
      parseCommand(['sweep', '--gitea-owner', 'mirrors'], { ...env, CCCI_SWEEP_GITEA_TOKEN: 't' }),
    ).toMatchObject({ gitea: { owner: 'mirrors', token: 't' } });
    // Without a Gitea: the mirrors are synced, no PR is looked at.
    expect(
      parseCommand(['sweep', '--upstream-base', '/srv/up'], { CCCI_SWEEP_SRC_BASE: '/srv/m' }),
    ).toMatchObject({ upstreamBase: '/srv/up', gitea: undefined });
    expect(() => parseCommand(['sweep'], env)).toThrow(/CCCI_SWEEP_GITEA_TOKEN_FILE/);
    expect(() =>
      parseCommand(['sweep'], {
        ...env,
        CCCI_SWEEP_GITEA_TOKEN: 't',
        CCCI_SWEEP_GITEA_TOKEN_FILE: tokenFile,
      }),
    ).toThrow(/both set/);
    expect(() =>
      parseCommand(['sweep', '--gitea-url', 'https://git.example'], {
        CCCI_SWEEP_SRC_BASE: '/srv/m',
        CCCI_SWEEP_GITEA_TOKEN: 't',
      }),
    ).toThrow(/without --upstream-base[\s\S]*--gitea-owner/);
    // The token is never in a message.
    try {
      parseCommand(['sweep', '--gitea-url', 'ftp://x'], { ...env, CCCI_SWEEP_GITEA_TOKEN: 'zz9' });
    } catch (err) {
      expect((err as Error).message).toMatch(/not an http/);
      expect((err as Error).message).not.toMatch(/zz9/);
    }
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('operator commands refuse unknown flags with the usage', () => {
  it.each(['janitor', 'prune', 'vip-guard', 'sweep'])('%s --frobnicate', (sub) => {
    expect(() => parseCommand([sub, '--frobnicate'], { CCCI_SWEEP_SRC_BASE: '/srv' })).toThrow(
      /usage:/,
    );
  });
});

describe('outDirProblem', () => {
  it.each([
    ['/proc/x', /kernel file system/],
    ['/sys/fs/x', /kernel file system/],
    ['/dev/null/run', /kernel file system/],
    ['/etc/hostname/run', /is not a directory/],
  ])('refuses --out %s', (out, message) => {
    expect(outDirProblem(out)).toMatch(message);
  });
  it('accepts a new directory under an existing one', () => {
    expect(outDirProblem('/tmp/ccci-out-test/a/b')).toBeNull();
  });
});
