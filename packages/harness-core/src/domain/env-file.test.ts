import { describe, expect, it } from '@jest/globals';
import {
  composeFiles,
  expandVars,
  parseAbraShExports,
  parseEnvFile,
  secretSpecs,
} from './env-file.js';

describe('parseEnvFile', () => {
  it('reads keys, quoted values, comments and length hints like abra', () => {
    const entries = parseEnvFile(
      [
        'TYPE=notes',
        '# a comment',
        '#DISABLED=1',
        'DOMAIN=notes.example.com  # trailing comment',
        'COMPOSE_FILE="compose.yml:compose.smtp.yml"',
        "TITLE='Our notes'",
        'SECRET_ADMIN_PASSWORD_VERSION=v1 # length=32',
        'SECRET_API_KEY_VERSION=v2',
        'export EXPORTED=yes',
        'not a line',
        '',
      ].join('\n'),
    );
    expect(Object.fromEntries(entries.map((e) => [e.key, e.value]))).toEqual({
      TYPE: 'notes',
      DOMAIN: 'notes.example.com',
      COMPOSE_FILE: 'compose.yml:compose.smtp.yml',
      TITLE: 'Our notes',
      SECRET_ADMIN_PASSWORD_VERSION: 'v1',
      SECRET_API_KEY_VERSION: 'v2',
      EXPORTED: 'yes',
    });
    expect(secretSpecs(entries)).toEqual([
      { name: 'admin_password', version: 'v1', length: 32 },
      { name: 'api_key', version: 'v2', length: 32 },
    ]);
  });
});

describe('parseAbraShExports', () => {
  it('takes only static export lines and never anything executable', () => {
    const text =
      'export ENTRYPOINT_VERSION=v2\nfoo() { rm -rf /; }\nexport X=$(id)\necho hi\n  export NGINX_CONF_VERSION="v3"';
    expect(parseAbraShExports(text).map((e) => [e.key, e.value])).toEqual([
      ['ENTRYPOINT_VERSION', 'v2'],
      ['X', '$(id)'],
      ['NGINX_CONF_VERSION', 'v3'],
    ]);
  });
});

describe('composeFiles', () => {
  it.each([
    [{}, ['compose.yml']],
    [{ COMPOSE_FILE: 'compose.yml:compose.mail.yml' }, ['compose.yml', 'compose.mail.yml']],
    [
      { COMPOSE_FILE: 'compose.yml:$EXTRA', EXTRA: 'compose.x.yml' },
      ['compose.yml', 'compose.x.yml'],
    ],
    [{ COMPOSE_FILE: 'compose.yml::${NONE}' }, ['compose.yml']],
  ])('expands %j as a shell would', (env, files) => {
    expect(composeFiles(env as Record<string, string>)).toEqual(files);
  });
  it('expands ${VAR} and $VAR, unknown to empty', () => {
    expect(expandVars('a-${X}-$Y-$Z', { X: '1', Y: '2' })).toBe('a-1-2-');
  });
});
