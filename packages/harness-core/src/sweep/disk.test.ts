import { describe, expect, it } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDockerSize } from '../adapters/docker/docker-cli.js';
import type { DockerPort } from '../ports/docker.js';
import { canonicalStore } from './canonicals.js';
import { formatBytes, warmDiskUsage } from './disk.js';

describe('parseDockerSize (docker system df)', () => {
  it.each([
    ['0B', 0],
    ['307.2kB', 307_200],
    ['1.5GB', 1_500_000_000],
    ['12MB', 12_000_000],
    ['N/A', 0],
  ])('%s → %i bytes', (text, bytes) => {
    expect(parseDockerSize(text)).toBe(bytes);
  });
});

describe('warmDiskUsage', () => {
  it('sums each canonical’s stack volumes and nothing else', async () => {
    const state = await mkdtemp(join(tmpdir(), 'ccci-disk-'));
    await canonicalStore(state).put({
      recipe: 'notes',
      version: '0.2.0+1.35.0',
      commit: 'a'.repeat(40),
      domain: 'warm-notes-abc123.ci.localhost',
      stack: 'warm-notes-abc123_ci_localhost',
      run_id: 'sweep-notes-1',
      ts: '2026-12-03T07:00:00.000Z',
    });
    const ns = 'com.docker.stack.namespace';
    const docker = {
      volumeUsage: async () => [
        {
          name: 'warm-notes-abc123_ci_localhost_notes',
          labels: { [ns]: 'warm-notes-abc123_ci_localhost' },
          bytes: 1_200_000,
        },
        {
          name: 'warm-notes-abc123_ci_localhost_db',
          labels: { [ns]: 'warm-notes-abc123_ci_localhost' },
          bytes: 300_000,
        },
        {
          name: 'note-1a2b3c_ci_localhost_notes',
          labels: { [ns]: 'note-1a2b3c_ci_localhost' },
          bytes: 9_000_000,
        },
      ],
    } as unknown as DockerPort;
    expect(await warmDiskUsage(docker, state)).toEqual([
      { recipe: 'notes', stack: 'warm-notes-abc123_ci_localhost', volumes: 2, bytes: 1_500_000 },
    ]);
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
    expect(formatBytes(512)).toBe('512 B');
  });
});
