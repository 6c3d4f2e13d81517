import { describe, expect, it } from '@jest/globals';
import { parseRecipeConfig } from './recipe-config.js';

describe('parseRecipeConfig', () => {
  it('fills defaults for an empty file', () => {
    expect(parseRecipeConfig({}, 'f.yml')).toMatchObject({
      health_path: '/',
      accepted_codes: [200, 301, 302],
      deploy_timeout_s: 300,
      http_timeout_s: 60,
      extra_env: {},
      skip: {},
      warm_canonical: false,
      compose_policy_exceptions: [],
    });
  });
  it('accepts compose policy exceptions with and without a value', () => {
    const exceptions = [
      {
        service: 'app',
        key: 'bind_mount',
        value: '/var/run/docker.sock',
        reason: 'a proxy recipe',
      },
      { service: 'vpn', key: 'cap_add', reason: 'needs NET_ADMIN' },
    ];
    expect(
      parseRecipeConfig({ compose_policy_exceptions: exceptions }, 'f.yml')
        .compose_policy_exceptions,
    ).toEqual(exceptions);
  });
  it('accepts a data probe as argument arrays', () => {
    const probe = {
      service: 'db',
      write: ['sh', '-c', 'echo "$1" >> /t', 'x'],
      read: ['cat', '/t'],
    };
    expect(parseRecipeConfig({ data_probe: probe }, 'f.yml').data_probe).toEqual(probe);
  });
  it.each([
    [
      { data_probe: { service: 'db', write: 'psql -c insert', read: ['cat'] } },
      /data_probe\.write/,
    ],
    [{ data_probe: { service: 'db', write: ['x'], read: [] } }, /data_probe\.read/],
    [
      { data_probe: { service: '../db', write: ['x'], read: ['y'] } },
      /a service name of the recipe/,
    ],
    [
      { data_probe: { service: 'db', write: ['x'], read: ['y'], user: 'root' } },
      /unknown key "data_probe\.user"/,
    ],
    [{ helth_path: '/' }, /f\.yml: unknown key "helth_path"/],
    [{ health_path: 42 }, /f\.yml: "health_path": .*string/],
    [{ deploy_timeout_s: 'soon' }, /"deploy_timeout_s"/],
    [{ skip: { upgrad: 'typo tier' } }, /skip/],
    [{ skip: { lint: '' } }, /give a reason/],
    [{ extra_env: { 'BAD-NAME': 'x' } }, /extra_env/],
    [{ install_hook: 'sh -c x' }, /"install_hook"/],
    [
      { compose_policy_exceptions: [{ service: 'app', key: 'root', reason: 'why' }] },
      /compose_policy_exceptions\.0\.key/,
    ],
    [
      { compose_policy_exceptions: [{ service: 'app', key: 'cap_add', reason: '' }] },
      /give a reason/,
    ],
    [
      { compose_policy_exceptions: [{ service: 'app', key: 'cap_add', reason: 'vpn', extra: 1 }] },
      /unknown key "compose_policy_exceptions\.0\.extra"/,
    ],
  ])('rejects %j naming the file and key', (value, message) => {
    expect(() => parseRecipeConfig(value, 'f.yml')).toThrow(message);
  });
});
