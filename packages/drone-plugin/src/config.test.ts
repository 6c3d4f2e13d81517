import { describe, expect, it } from '@jest/globals';
import { imageEnvProblems } from './config.js';

const image = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  CCCI_EXPECTED_PATH: '/usr/local/bin:/usr/bin:/bin',
  CCCI_CONFIG_DIR: '/opt/cc-ci/recipes',
  CCCI_STATE_DIR: '/var/lib/cc-ci',
  CCCI_RUNS_DIR: '/drone/src/runs',
  NODE_ENV: 'production',
};
const drone = { DRONE: 'true', CI: 'true', DRONE_BUILD_NUMBER: '7', CI_BUILD_NUMBER: '7' };
const names = (env: NodeJS.ProcessEnv) => imageEnvProblems(env, image).map((p) => p.name);

describe('imageEnvProblems', () => {
  it('accepts the image env, Drone variables, build params and cc-ci settings', () => {
    expect(
      names({
        ...image,
        ...drone,
        HOSTNAME: 'a1b2',
        HOME: '/root',
        RECIPE: 'notes',
        REF: 'abc1234',
        CCCI_TRIGGER: 'gitea-comment:1',
        CCCI_RUN_TOKEN: `ccci-run.1.${'A'.repeat(43)}`,
        PLUGIN_BRIDGE_URL: 'https://ci.example.org',
        PLUGIN_RESULTS_TOKEN: 't',
        HTTPS_PROXY: 'http://proxy:3128',
      }),
    ).toEqual([]);
  });

  it.each([
    ['PATH', { PATH: '/tmp/evil:/usr/bin:/bin' }],
    ['CCCI_EXPECTED_PATH and PATH together', { PATH: '/x', CCCI_EXPECTED_PATH: '/x' }],
    ['CCCI_STATE_DIR', { CCCI_STATE_DIR: '/tmp/state' }],
    ['CCCI_CONFIG_DIR', { CCCI_CONFIG_DIR: '/tmp/config' }],
  ])('names an image variable changed by a param: %s', (_n, changed) => {
    expect(names({ ...image, ...drone, ...changed }).sort()).toEqual(Object.keys(changed).sort());
  });

  it('refuses unknown names and PLUGIN_* names that are not settings', () => {
    expect(
      names({
        ...image,
        ...drone,
        PLUGIN_CONFIG_DIR: '/tmp/c',
        LD_PRELOAD: '/tmp/x.so',
        FOO: '1',
      }).sort(),
    ).toEqual(['FOO', 'LD_PRELOAD', 'PLUGIN_CONFIG_DIR']);
  });

  it('accepts a name the operator listed in allowed_env, never a PLUGIN_* or image name', () => {
    const env = { ...image, ...drone, PLUGIN_ALLOWED_ENV: 'SENTRY_DSN,PLUGIN_CONFIG_DIR' };
    expect(names({ ...env, SENTRY_DSN: 'x' })).toEqual([]);
    expect(names({ ...env, PLUGIN_CONFIG_DIR: '/x' })).toEqual(['PLUGIN_CONFIG_DIR']);
  });

  it('checks nothing outside Drone or outside the plugin image', () => {
    expect(imageEnvProblems({ FOO: '1', PATH: '/x' }, image)).toEqual([]);
    expect(imageEnvProblems({ ...drone, FOO: '1' }, null)).toEqual([]);
  });
});
