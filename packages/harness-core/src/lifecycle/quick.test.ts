import { describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceInfo } from '../ports/docker.js';
import { runsAsRecorded, stateDifferences, unfinishedSnapshot } from './quick.js';

const service = (labels: Record<string, string>, replicas: number | null = 1): ServiceInfo => ({
  id: 'x',
  name: 's_app',
  labels,
  previousLabels: null,
  image: 'ccci/web:1',
  replicas,
  updateStatus: null,
});

describe('runsAsRecorded', () => {
  const warm = { 'cc-ci.warm': 'true', 'coop-cloud.s.version': '0.2.0' };
  it('is the recorded release, warm, with every service scaled up', () => {
    expect(runsAsRecorded([service(warm)], 's', '0.2.0')).toBe(true);
  });
  it('is not: another version, not warm, no services, or a service at 0 replicas', () => {
    expect(runsAsRecorded([service(warm)], 's', '0.3.0')).toBe(false);
    expect(runsAsRecorded([service({ ...warm, 'cc-ci.warm': 'false' })], 's', '0.2.0')).toBe(false);
    expect(runsAsRecorded([], 's', '0.2.0')).toBe(false);
    // A quick run killed while it had the canonical stopped leaves its labels as they were.
    expect(runsAsRecorded([service(warm, 0)], 's', '0.2.0')).toBe(false);
  });
});

describe('unfinishedSnapshot', () => {
  it('finds the snapshot a quick run left for the stack, and only for that stack', async () => {
    const state = await mkdtemp(join(tmpdir(), 'ccci-snap-'));
    expect(await unfinishedSnapshot(state, 's')).toBeNull();
    await mkdir(join(state, 'snapshots', 'run-1'), { recursive: true });
    await writeFile(join(state, 'snapshots', 'run-1', 'stack'), 'other\n');
    expect(await unfinishedSnapshot(state, 's')).toBeNull();
    await mkdir(join(state, 'snapshots', 'run-2'));
    await writeFile(join(state, 'snapshots', 'run-2', 'stack'), 's\n');
    expect(await unfinishedSnapshot(state, 's')).toBe(join(state, 'snapshots', 'run-2'));
  });
});

describe('stateDifferences', () => {
  const before = {
    services: ['s_app ccci/web:1 version=0.2.0 chaos-version= warm=true'],
    objects: ['config s_notes_cgi_v1', 'volume s_notes'],
  };

  it('is empty when the canonical is as it was', () => {
    expect(stateDifferences(before, { ...before })).toEqual([]);
  });

  it('names a service spec that changed and objects added or gone', () => {
    const after = {
      services: ['s_app ccci/web:1 version=0.3.0 chaos-version=abc warm=true'],
      objects: ['config s_notes_cgi_v2', 'volume s_notes'],
    };
    expect(stateDifferences(before, after)).toEqual([
      'services missing: s_app ccci/web:1 version=0.2.0 chaos-version= warm=true',
      'services not there before: s_app ccci/web:1 version=0.3.0 chaos-version=abc warm=true',
      'objects missing: config s_notes_cgi_v1',
      'objects not there before: config s_notes_cgi_v2',
    ]);
  });
});
