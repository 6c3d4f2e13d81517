/**
 * `cc-ci prune` and `cc-ci vip-guard` against the real Docker host: the gate (disk not short, a
 * live run), dangling images removed but tagged ones kept, the proxy network's size checked, and
 * unused networks removed while networks in use are kept. Network removal runs on a view of the
 * host limited to this test's networks, so parallel tests' stacks are never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DockerCli,
  DockerHost,
  fileLocks,
  runVipGuard,
  swarmLocks,
  type HostPort,
} from '@cc-ci/harness-core';

const exec = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const cli = join(root, 'packages/drone-plugin/dist/main.js');
const tag = Math.random().toString(16).slice(2, 8);
let stateDir: string;
let dangling: string;

async function ccci(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await exec(process.execPath, [cli, ...args], {
      env: { ...process.env, CCCI_STATE_DIR: stateDir },
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

async function docker(args: string[], allowFail = false): Promise<string> {
  try {
    return (await exec('docker', args)).stdout.trim();
  } catch (err) {
    if (allowFail) return '';
    throw err;
  }
}

const imageExists = async (id: string) =>
  (await docker(['image', 'inspect', '--format', '{{.Id}}', id], true)) !== '';

/** Run a forced prune, waiting (bounded) while other tests' services converge. */
async function forcedPrune(extra: string[] = []): Promise<{ code: number; out: string }> {
  let last = { code: -1, out: '' };
  for (let i = 0; i < 40; i++) {
    last = await ccci([
      'prune',
      '--min-free-percent',
      '100',
      '--image-min-age-hours',
      '0',
      ...extra,
    ]);
    if (!/converging/.test(last.out)) return last;
    await new Promise((r) => setTimeout(r, 3000));
  }
  return last;
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'ccci-hostcare-'));
  // A dangling image: an import without a repository name.
  const fs = join(stateDir, 'rootfs');
  await mkdir(fs);
  await writeFile(join(fs, 'marker'), `prune test ${tag}\n`);
  await exec('tar', ['-C', fs, '-cf', join(stateDir, 'rootfs.tar'), '.']);
  dangling = (await exec('docker', ['import', join(stateDir, 'rootfs.tar')])).stdout.trim();
}, 60_000);

afterAll(async () => {
  await docker(['image', 'rm', '--force', dangling], true);
});

describe('cc-ci prune', () => {
  it('does nothing when the disk is not short', async () => {
    const r = await ccci(['prune', '--min-free-gib', '0', '--min-free-percent', '0']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/prune: nothing to do: disk not short/);
  });

  it('refuses to prune while a run is live, even when the disk is short', async () => {
    const lock = await (
      await swarmLocks(new DockerCli())
    ).acquire({
      domain: `live-${tag}.ci.localhost`,
      runId: `live-${tag}`,
      started: new Date().toISOString(),
    });
    try {
      const r = await forcedPrune();
      expect(r.code).toBe(1);
      expect(r.out).toMatch(new RegExp(`not pruning \\(unsafe now\\).*live-${tag}`));
      expect(await imageExists(dangling)).toBe(true);
    } finally {
      await lock.release();
    }
  }, 180_000);

  it('dry run counts without removing; the real run removes dangling images and keeps tagged ones', async () => {
    const dry = await forcedPrune(['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/would remove [1-9]\d* dangling image\(s\)/);
    expect(await imageExists(dangling)).toBe(true);
    const real = await forcedPrune();
    expect(real.code).toBe(0);
    expect(real.out).toMatch(
      /removed [1-9]\d* dangling image\(s\).*volumes, networks and tagged images are never pruned/,
    );
    expect(await imageExists(dangling)).toBe(false);
    expect(await imageExists('ccci/web:1')).toBe(true);
  }, 180_000);
});

describe('cc-ci vip-guard', () => {
  it('finds this host healthy (the proxy network is an attachable /16 overlay)', async () => {
    const r = await ccci(['vip-guard', '--dry-run']);
    expect(r.out).toMatch(/vip-guard: healthy — proxy network ok/);
    expect(r.code).toBe(0);
  });

  it('reports a proxy network too small for its VIPs', async () => {
    const name = `ccci-vg-small-${tag}`;
    await docker(['network', 'create', '--driver', 'overlay', '--attachable', name]); // default pool: a /24
    try {
      const r = await ccci(['vip-guard', '--dry-run', '--proxy-network', name]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/\/24 leaves too few VIPs/);
      expect(r.out).toMatch(/vip-guard: PROBLEMS/);
    } finally {
      await docker(['network', 'rm', name], true);
    }
  });

  it('removes unused overlay networks and keeps those in use or marked keep', async () => {
    const unused = `ccci-vg-unused-${tag}`;
    const used = `ccci-vg-used-${tag}`;
    const keep = `ccci-vg-keep-${tag}`;
    const svc = `ccci-vg-svc-${tag}`;
    await docker(['network', 'create', '--driver', 'overlay', unused]);
    await docker(['network', 'create', '--driver', 'overlay', used]);
    await docker(['network', 'create', '--driver', 'overlay', '--label', 'cc-ci.keep=true', keep]);
    await docker(['service', 'create', '--detach', '--name', svc, '--network', used, 'ccci/web:1']);
    try {
      const real = new DockerHost(new DockerCli());
      const mine = (n: { name: string }) => n.name.endsWith(tag);
      const scoped: HostPort = {
        ...bind(real),
        networks: async () => (await real.networks()).filter(mine),
      };
      const dry = await runVipGuard({
        host: scoped,
        locks: fileLocks(stateDir),
        dryRun: true,
        proxyNetwork: 'proxy',
        pruneNetworks: true,
      });
      expect(dry.removedNetworks).toEqual([]);
      const report = await runVipGuard({
        host: scoped,
        locks: fileLocks(stateDir),
        dryRun: false,
        proxyNetwork: 'proxy',
        pruneNetworks: true,
      });
      expect(report.removedNetworks).toEqual([unused]);
      expect(report.keptInUse).toEqual([used]);
      const left = (await docker(['network', 'ls', '--format', '{{.Name}}'])).split('\n');
      expect(left).toContain(used);
      expect(left).toContain(keep);
      expect(left).not.toContain(unused);
    } finally {
      await docker(['service', 'rm', svc], true);
      for (let i = 0; i < 30; i++) {
        if (
          (await docker(['network', 'rm', used], true)) !== '' ||
          !(await docker(['network', 'ls', '-q', '--filter', `name=${used}`]))
        )
          break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      await docker(['network', 'rm', keep, unused], true);
    }
  }, 120_000);
});

/** The methods of a HostPort bound to it (so a spread copy keeps working). */
function bind(h: DockerHost): HostPort {
  return {
    disk: () => h.disk(),
    services: () => h.services(),
    taskProblems: () => h.taskProblems(),
    networks: () => h.networks(),
    removeNetwork: (id) => h.removeNetwork(id),
    pruneDanglingImages: (d, a) => h.pruneDanglingImages(d, a),
    pruneStoppedContainers: (d, a) => h.pruneStoppedContainers(d, a),
  };
}
