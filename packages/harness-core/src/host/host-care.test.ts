import { describe, expect, it } from '@jest/globals';
import { parseReclaimed } from '../adapters/docker/docker-host.js';
import type { NetworkInfo, ServiceState } from '../ports/host.js';
import { DEFAULT_THRESHOLDS, decidePrune } from './prune.js';
import { isAllocationError, proxyProblems } from './vip-guard.js';

const GiB = 2 ** 30;
const disk = (freeGiB: number, totalGiB = 100) => ({
  path: '/var/lib/docker',
  freeBytes: freeGiB * GiB,
  totalBytes: totalGiB * GiB,
});
const steady: ServiceState[] = [{ name: 'app_web', desired: 1, running: 1, updating: false }];

describe('decidePrune', () => {
  it('does nothing while the disk is not short', () => {
    const d = decidePrune({
      disk: disk(50),
      thresholds: DEFAULT_THRESHOLDS,
      liveRuns: [],
      services: steady,
    });
    expect(d).toMatchObject({ prune: false, blocked: false });
    expect(d.reason).toMatch(/disk not short: 50\.0 GiB free \(50\.0%\)/);
  });

  it('prunes when free space is under either threshold', () => {
    expect(
      decidePrune({
        disk: disk(5, 1000),
        thresholds: DEFAULT_THRESHOLDS,
        liveRuns: [],
        services: steady,
      }).prune,
    ).toBe(true);
    expect(
      decidePrune({
        disk: disk(15, 1000),
        thresholds: DEFAULT_THRESHOLDS,
        liveRuns: [],
        services: steady,
      }).prune,
    ).toBe(true); // 1.5 %
  });

  it('never prunes while a run is live or a service converges, even when short', () => {
    const live = decidePrune({
      disk: disk(1),
      thresholds: DEFAULT_THRESHOLDS,
      liveRuns: ['r1'],
      services: steady,
    });
    expect(live).toMatchObject({ prune: false, blocked: true });
    expect(live.reason).toMatch(/1 run\(s\) are live: r1/);
    for (const s of [
      { name: 'a_b', desired: 2, running: 1, updating: false },
      { name: 'a_b', desired: 1, running: 1, updating: true },
    ]) {
      const d = decidePrune({
        disk: disk(1),
        thresholds: DEFAULT_THRESHOLDS,
        liveRuns: [],
        services: [s],
      });
      expect(d).toMatchObject({ prune: false, blocked: true });
      expect(d.reason).toMatch(/converging: a_b/);
    }
    // Global services (desired null) do not count as converging.
    expect(
      decidePrune({
        disk: disk(1),
        thresholds: DEFAULT_THRESHOLDS,
        liveRuns: [],
        services: [{ name: 'g', desired: null, running: 3, updating: false }],
      }).prune,
    ).toBe(true);
  });
});

describe('VIP guard rules', () => {
  it.each([
    ['could not allocate IP from IPAM', true],
    ["no available IPv4 addresses on this network's address pools: proxy", true],
    [
      'node is missing network attachments, ip addresses may be exhausted: could not allocate VIP',
      true,
    ],
    ['task: non-zero exit (1)', false],
    ['No such image: ccci/web:2', false],
  ])('%j is an allocation error: %s', (err, yes) => {
    expect(isAllocationError(err)).toBe(yes);
  });

  const net = (over: Partial<NetworkInfo>): NetworkInfo => ({
    id: 'n1',
    name: 'proxy',
    driver: 'overlay',
    scope: 'swarm',
    attachable: true,
    ingress: false,
    subnets: ['10.200.0.0/16'],
    labels: {},
    ...over,
  });

  it('accepts an attachable /16 overlay and names every problem otherwise', () => {
    expect(proxyProblems('proxy', net({}))).toEqual([]);
    expect(proxyProblems('proxy', net({ subnets: ['10.0.0.0/8'] }))).toEqual([]);
    expect(proxyProblems('proxy', undefined)[0]).toMatch(/does not exist/);
    const bad = proxyProblems(
      'proxy',
      net({ driver: 'bridge', attachable: false, subnets: ['10.0.1.0/24'] }),
    );
    expect(bad).toHaveLength(3);
    expect(bad.join('\n')).toMatch(/\/24 leaves too few VIPs/);
  });
});

describe('parseReclaimed', () => {
  it('reads docker prune totals', () => {
    expect(
      parseReclaimed('Deleted Images:\ndeleted: sha256:abc\n\nTotal reclaimed space: 1.5MB'),
    ).toBe(1_500_000);
    expect(parseReclaimed('Total reclaimed space: 0B')).toBe(0);
    expect(parseReclaimed('Total reclaimed space: 2.1GB')).toBe(2_100_000_000);
    expect(parseReclaimed('nothing')).toBe(0);
  });
});
