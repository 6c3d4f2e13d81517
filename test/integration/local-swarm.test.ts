/**
 * The foundation scripts against the real daemon: scripts/local-swarm.sh must be idempotent and
 * never touch a daemon, swarm or network that is already right; docker/build-local-images.sh
 * must rebuild only when inputs change and produce an image that serves HTTP on a host-mode port.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { timeout: 60_000 });
  return stdout.trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A fingerprint of everything the swarm script could change. */
async function swarmState() {
  return {
    dockerdPid: (await run('pgrep', ['-x', 'dockerd']).catch(() => ({ stdout: '' }))).stdout.trim(),
    nodeId: await docker('info', '--format', '{{.Swarm.NodeID}}'),
    // The id alone says the network was not recreated: an overlay's Created is when this node
    // last instantiated it, which changes whenever a container of another test attaches to it.
    proxyId: await docker('network', 'inspect', '--format', '{{.Id}}', 'proxy'),
  };
}

describe('scripts/local-swarm.sh', () => {
  it('changes nothing and reports every step as ok when run on a ready swarm', async () => {
    // First run brings the machine to the ready state (it may or may not change anything).
    await run('bash', [`${root}scripts/local-swarm.sh`], { timeout: 300_000 });
    const before = await swarmState();

    const { stdout } = await run('bash', [`${root}scripts/local-swarm.sh`], { timeout: 120_000 });
    const after = await swarmState();

    expect(after).toEqual(before);
    const stepLines = stdout
      .split('\n')
      .filter((l) => l.startsWith('local-swarm:') && !/ ready /.test(l));
    expect(stepLines).toHaveLength(4);
    for (const line of stepLines) expect(line).toMatch(/\s ok\b/);
    expect(stdout).not.toMatch(/\bdone\b|\bstarted\b|installing/);
  });

  it('creates a missing proxy network once, then reports it ok without touching it', async () => {
    const network = `ccci-proxytest-${randomBytes(3).toString('hex')}`;
    const env = { ...process.env, CCCI_PROXY_NETWORK: network, CCCI_PROXY_SUBNET: '10.201.0.0/16' };
    try {
      const first = await run('bash', [`${root}scripts/local-swarm.sh`], { env, timeout: 120_000 });
      expect(first.stdout).toMatch(new RegExp(`network ${network}\\s+done \\(overlay, attachable`));
      const id = await docker('network', 'inspect', '--format', '{{.Id}}', network);
      const second = await run('bash', [`${root}scripts/local-swarm.sh`], {
        env,
        timeout: 120_000,
      });
      expect(second.stdout).toMatch(new RegExp(`network ${network}\\s+ok`));
      expect(await docker('network', 'inspect', '--format', '{{.Id}}', network)).toBe(id);
    } finally {
      await run('docker', ['network', 'rm', network]).catch(() => undefined);
    }
  });

  it('leaves the node an active manager with an attachable overlay proxy network', async () => {
    expect(
      await docker('info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'),
    ).toBe('active true');
    expect(
      await docker('network', 'inspect', '--format', '{{.Driver}} {{.Attachable}}', 'proxy'),
    ).toBe('overlay true');
  });
});

describe('docker/build-local-images.sh', () => {
  it('does not rebuild an image whose inputs did not change', async () => {
    await run('bash', [`${root}docker/build-local-images.sh`, 'web'], { timeout: 300_000 });
    const idBefore = await docker('image', 'inspect', '--format', '{{.Id}}', 'ccci/web:1');
    const { stdout } = await run('bash', [`${root}docker/build-local-images.sh`, 'web'], {
      timeout: 120_000,
    });
    expect(stdout).toMatch(/ccci\/web:1\s+ok \(inputs unchanged\)/);
    expect(await docker('image', 'inspect', '--format', '{{.Id}}', 'ccci/web:1')).toBe(idBefore);
  });

  it('refuses an unknown image name with a clear error', async () => {
    await expect(
      run('bash', [`${root}docker/build-local-images.sh`, 'no-such-image'], { timeout: 30_000 }),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("unknown image 'no-such-image'"),
    });
  });

  it('gives a web image that serves HTTP on loopback through a host-mode published port', async () => {
    const port = await freePort();
    const name = `ccci-imgtest-${randomBytes(3).toString('hex')}`;
    await docker(
      'service',
      'create',
      '--detach',
      '--name',
      name,
      '--label',
      'cc-ci.test=foundation',
      '--publish',
      `mode=host,target=80,published=${port}`,
      '--stop-grace-period',
      '1s',
      'ccci/web:1',
    );
    try {
      let body = '';
      let status = 0;
      for (let attempt = 0; attempt < 60 && status !== 200; attempt++) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/`, {
            signal: AbortSignal.timeout(2000),
          });
          status = res.status;
          body = await res.text();
        } catch {
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      expect(status).toBe(200);
      expect(body).toBe('ok\n');
    } finally {
      await docker('service', 'rm', name);
      for (let i = 0; i < 60; i++) {
        const left = await docker(
          'ps',
          '-aq',
          '--filter',
          `label=com.docker.swarm.service.name=${name}`,
        );
        if (!left) break;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    expect(
      await docker('ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${name}`),
    ).toBe('');
  }, 90_000);
});
