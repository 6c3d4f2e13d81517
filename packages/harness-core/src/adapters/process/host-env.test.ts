import { describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HOST_ENV_PASSED,
  findOnPath,
  hostEnv,
  isReservedEnvName,
  reservedEnvNames,
} from './host-env.js';
import { runProcess } from './run-process.js';

describe('findOnPath', () => {
  it('finds a program in the first directory that has it, else null', () => {
    const a = mkdtempSync(join(tmpdir(), 'ccci-path-a-'));
    const b = mkdtempSync(join(tmpdir(), 'ccci-path-b-'));
    writeFileSync(join(b, 'abra'), '#!/bin/sh\n');
    chmodSync(join(b, 'abra'), 0o755);
    expect(findOnPath('abra', [a, b])).toBe(join(b, 'abra'));
    expect(findOnPath('abra', [a])).toBeNull();
    expect(findOnPath('abra', [])).toBeNull();
  });
});

describe('hostEnv', () => {
  const source = {
    PATH: '/opt/bin:/usr/bin',
    HOME: '/home/ci',
    DOCKER_HOST: 'unix:///run/docker.sock',
    PLUGIN_RESULTS_TOKEN: 'secret-token',
    CCCI_RUN_TOKEN: 'run-token',
    NODE_OPTIONS: '--require /tmp/evil.js',
    LD_PRELOAD: '/tmp/evil.so',
    GIT_DIR: '/elsewhere',
    RECIPE: 'notes',
  };

  it('passes only the listed names of cc-ci’s own environment, then what cc-ci adds', () => {
    const env = hostEnv({ GIT_TERMINAL_PROMPT: '0' }, source);
    expect(env).toEqual({
      PATH: '/opt/bin:/usr/bin',
      HOME: '/home/ci',
      DOCKER_HOST: 'unix:///run/docker.sock',
      LANG: 'C.UTF-8',
      GIT_TERMINAL_PROMPT: '0',
    });
    for (const name of Object.keys(env))
      expect([...HOST_ENV_PASSED, 'LANG', 'GIT_TERMINAL_PROMPT']).toContain(name);
  });

  it('gives a PATH even when cc-ci has none', () => {
    expect(hostEnv({}, {}).PATH).toMatch(/\/usr\/bin/);
  });

  it('is what a child process sees by default (no token, no build param reaches it)', async () => {
    const saved = { ...process.env };
    try {
      process.env.PLUGIN_RESULTS_TOKEN = 'secret-token';
      process.env.NODE_OPTIONS = '--no-warnings';
      process.env.RECIPE = 'notes';
      const res = await runProcess('env', [], { timeoutMs: 10_000 });
      expect(res.exitCode).toBe(0);
      const names = res.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('=')[0]);
      expect(names).not.toContain('PLUGIN_RESULTS_TOKEN');
      expect(names).not.toContain('NODE_OPTIONS');
      expect(names).not.toContain('RECIPE');
      expect(names).toContain('PATH');
    } finally {
      for (const k of ['PLUGIN_RESULTS_TOKEN', 'NODE_OPTIONS', 'RECIPE']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });
});

describe('reserved names', () => {
  it.each([
    'PATH',
    'HOME',
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'NODE_OPTIONS',
    'DOCKER_HOST',
    'DOCKER_CONFIG',
    'GIT_DIR',
    'GIT_SSH_COMMAND',
    'ABRA_DIR',
    'CCCI_STATE_DIR',
    'PLUGIN_DEPLOYER',
    'https_proxy',
    'Path',
    'BASH_ENV',
    'PYTHONPATH',
  ])('%s is reserved', (name) => expect(isReservedEnvName(name)).toBe(true));

  it.each([
    'DOMAIN',
    'STACK_NAME',
    'COMPOSE_FILE',
    'SECRET_DB_PASSWORD_VERSION',
    'LETS_ENCRYPT_ENV',
    'TZ',
    'APP_PATH',
    'TYPE',
  ])('%s is a recipe’s own name', (name) => expect(isReservedEnvName(name)).toBe(false));

  it('lists each reserved name once, in order', () => {
    expect(reservedEnvNames(['DOMAIN', 'PATH', 'LD_PRELOAD', 'PATH'])).toEqual([
      'PATH',
      'LD_PRELOAD',
    ]);
  });
});
