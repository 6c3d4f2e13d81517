import { describe, expect, it } from '@jest/globals';
import { UsageError, parseCommand } from './cli.js';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  parseCommand(['run', ...argv], { PATH: '/nonexistent', ...env });

describe('cc-ci run command line', () => {
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
