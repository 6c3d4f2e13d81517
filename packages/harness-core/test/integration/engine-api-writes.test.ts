/**
 * The Engine API writes behave as the CLI's, on the real daemon: exec (exit codes, both streams,
 * stdin, a refusal, a program that cannot start, a timeout), the volume helpers (same sandbox,
 * archives either way extract either way, a failed archive leaves no file), removing objects,
 * secrets, scaling and labelling a service, killing and removing a stack's containers.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerCli } from '../../src/adapters/docker/docker-cli.js';
import { EngineApiDocker } from '../../src/adapters/docker/engine-api.js';
import type { ExecResult, VolumeHelper } from '../../src/ports/docker.js';
import { swarmLocks } from '../../src/adapters/docker/swarm-locks.js';
import { docker, forceRemoveStack, stackService } from '../support/fixtures.js';

jest.setTimeout(90_000);

const stack = `ccci-apiw-${randomBytes(3).toString('hex')}`;
const ns = { 'com.docker.stack.namespace': stack };
const cli = new DockerCli();
const api = new EngineApiDocker('/var/run/docker.sock');
let container = '';
let stopped = '';
let dir = '';

const helperOn = (volume: string, timeoutMs?: number): VolumeHelper => ({
  image: 'ccci/web:1',
  volume: `${stack}_${volume}`,
  labels: ns,
  ...(timeoutMs ? { timeoutMs } : {}),
});
const both = async (
  f: (d: DockerCli) => Promise<ExecResult>,
): Promise<[ExecResult, ExecResult]> => [await f(cli), await f(api)];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccci-apiw-'));
  const label = ['--label', `com.docker.stack.namespace=${stack}`];
  container = (
    await docker('run', '-d', ...label, '--network', 'none', 'ccci/web:1', 'sh', '-c', 'sleep 600')
  ).trim();
  stopped = (await docker('create', ...label, 'ccci/web:1', 'true')).trim();
}, 60_000);

afterAll(async () => {
  await api.releaseVolumeHelpers();
  await cli.releaseVolumeHelpers();
  await forceRemoveStack(stack);
  await rm(dir, { recursive: true, force: true });
  api.close();
}, 90_000);

describe('exec over the Engine API', () => {
  it('reports what docker exec reports: exit code, stdout, stderr, stdin', async () => {
    const script = ['sh', '-c', 'echo out; echo err >&2; printf "%s" "$1" >&2; exit 3', 'sh', 'é'];
    const [c, a] = await both((d) => d.exec(container, script));
    expect(a).toEqual(c);
    expect(a).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\né' });
    const input = 'line one\nline two, no newline';
    const [ci, ai] = await both((d) => d.exec(container, ['cat'], { stdin: input }));
    expect(ai).toEqual(ci);
    expect(ai.stdout).toBe(input);
  });

  it('keeps a large output whole, frame by frame', async () => {
    const argv = ['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x; echo; echo done >&2'];
    const [c, a] = await both((d) => d.exec(container, argv));
    expect(a.stdout.length).toBe(3_000_001);
    expect(a).toEqual(c);
  });

  it('reports a refusal and a program that cannot start as the CLI does', async () => {
    const [missing, missingApi] = await both((d) => d.exec('ccci-no-such-container', ['true']));
    expect(missingApi).toEqual(missing);
    expect(missingApi.exitCode).toBe(1);
    expect(missingApi.stderr).toMatch(/^Error response from daemon: No such container/);
    const [down, downApi] = await both((d) => d.exec(stopped, ['true']));
    expect(downApi).toEqual(down);
    expect(downApi.stderr).toMatch(/is not running/);
    const [nobin, nobinApi] = await both((d) => d.exec(container, ['ccci-no-such-program']));
    expect(nobinApi).toEqual(nobin);
    expect(nobinApi.exitCode).toBe(126);
    expect(nobinApi.stdout).toMatch(/executable file not found/);
  });

  it('gives up after its timeout as an infrastructure error', async () => {
    for (const d of [cli, api])
      await expect(d.exec(container, ['sleep', '30'], { timeoutMs: 800 })).rejects.toMatchObject({
        name: 'InfraError',
        message: expect.stringMatching(/timed out after 800 ms/),
      });
  });
});

describe('volume helpers over the Engine API', () => {
  it('are the same sandbox the CLI creates', async () => {
    const seen = [];
    for (const [d, volume] of [
      [cli, 'sand-cli'],
      [api, 'sand-api'],
    ] as const) {
      const res = await d.volumeScript(helperOn(volume), 'cat /proc/self/status', []);
      expect(res.exitCode).toBe(0);
      const [id] = (
        await docker('ps', '-q', '--no-trunc', '--filter', `volume=${stack}_${volume}`)
      ).split('\n');
      const host = JSON.parse(await docker('inspect', '--format', '{{json .HostConfig}}', id!));
      seen.push({
        network: host.NetworkMode,
        capDrop: host.CapDrop,
        capAdd: [...host.CapAdd].sort(),
        securityOpt: host.SecurityOpt,
        binds: host.Binds.map((b: string) => b.replace(/sand-(cli|api)/, 'sand')),
        autoRemove: host.AutoRemove,
        noNewPrivs: /NoNewPrivs:\s+1/.test(res.stdout),
        // No capability but CHOWN, DAC_OVERRIDE, FOWNER (bits 0, 1, 3).
        capEff: /CapEff:\s+(\S+)/.exec(res.stdout)?.[1],
      });
    }
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[1]).toMatchObject({ network: 'none', autoRemove: true, noNewPrivs: true });
    expect(seen[1]!.capEff).toBe('000000000000000b');
  });

  it('archive and restore either way, streamed, and leave no failed archive behind', async () => {
    const content = randomBytes(256 * 1024).toString('base64');
    for (const d of [cli, api]) {
      const w = await d.volumeScript(
        helperOn('src'),
        'mkdir -p /volume/d && cat > /volume/d/f',
        [],
        content,
      );
      expect(w.exitCode).toBe(0);
    }
    for (const [from, to, name] of [
      [api, cli, 'a2c'],
      [cli, api, 'c2a'],
      [api, api, 'a2a'],
    ] as const) {
      const file = join(dir, `${name}.tar`);
      const archived = await from.archiveVolume(helperOn('src'), ['d'], file);
      expect(archived).toMatchObject({ exitCode: 0 });
      expect((await stat(file)).size).toBeGreaterThan(content.length);
      const restored = await to.restoreVolume(helperOn(`dst-${name}`), file);
      expect(restored).toMatchObject({ exitCode: 0 });
      const back = await to.volumeScript(helperOn(`dst-${name}`), 'cat /volume/d/f', []);
      expect([name, back.stdout === content]).toEqual([name, true]);
    }
    // What tar says about a path that is not there, and no half-written archive left behind.
    const file = join(dir, 'missing.tar');
    const [c, a] = await both((d) => d.archiveVolume(helperOn('src'), ['nope'], file));
    expect(a.exitCode).not.toBe(0);
    expect(a.exitCode).toBe(c.exitCode);
    expect(a.stderr).toMatch(/nope/);
    expect(existsSync(file)).toBe(false);
    // A restore from a file that is not there fails as an error, not as a silent success.
    await expect(api.restoreVolume(helperOn('dst-x'), join(dir, 'absent.tar'))).rejects.toThrow(
      /ENOENT/,
    );
    // The kept helpers (the archive's read-only one too) carry the run's labels.
    const left = await docker(
      'ps',
      '-a',
      '-q',
      '--filter',
      `label=com.docker.stack.namespace=${stack}`,
    );
    expect(left.split('\n').filter(Boolean).length).toBeGreaterThan(0);
    expect(await readFile(join(dir, 'a2a.tar'))).toBeTruthy();
  });

  it('replace a kept helper that something removed', async () => {
    const h = helperOn('gone');
    expect((await api.volumeScript(h, 'echo one', [])).stdout).toBe('one\n');
    const [id] = (await docker('ps', '-q', '--filter', `volume=${h.volume}`)).split('\n');
    await docker('rm', '-f', id!);
    expect(await api.volumeScript(h, 'echo two', [])).toMatchObject({
      exitCode: 0,
      stdout: 'two\n',
    });
  });
});

describe('object, secret and service writes over the Engine API', () => {
  it('remove what exists and say false for what does not, as the CLI', async () => {
    await api.createSecret(`${stack}_s_v1`, 'sécret\n', ns);
    await docker(
      'config',
      'create',
      '--label',
      `com.docker.stack.namespace=${stack}`,
      `${stack}_c_v1`,
      '/etc/hostname',
    );
    await docker(
      'network',
      'create',
      '--label',
      `com.docker.stack.namespace=${stack}`,
      `${stack}_net`,
    );
    const secret = (await api.listObjects('secret', ns))[0];
    expect(secret).toMatchObject({ name: `${stack}_s_v1`, labels: ns });
    for (const [kind, name] of [
      ['secret', `${stack}_s_v1`],
      ['config', `${stack}_c_v1`],
      ['network', `${stack}_net`],
    ] as const) {
      expect([kind, await api.removeObject(kind, name)]).toEqual([kind, true]);
      expect([kind, await api.removeObject(kind, name)]).toEqual([kind, false]);
      expect([kind, await cli.removeObject(kind, name)]).toEqual([kind, false]);
    }
    // A volume in use is refused, with the daemon's reason.
    await docker(
      'run',
      '-d',
      '--label',
      `com.docker.stack.namespace=${stack}`,
      '-v',
      `${stack}_busy:/x`,
      'ccci/web:1',
      'sh',
      '-c',
      'sleep 600',
    );
    await expect(api.removeObject('volume', `${stack}_busy`)).rejects.toThrow(/volume is in use/);
  });

  it('scale and label a service, and kill and remove its containers', async () => {
    await stackService(stack, 'app', '--replicas', '0', 'ccci/web:1');
    await api.addServiceLabels(`${stack}_app`, { 'coop-cloud.test': 'yes' });
    await api.scaleService(`${stack}_app`, 1);
    const svc = await api.inspectService(`${stack}_app`);
    expect(svc).toMatchObject({ replicas: 1 });
    expect(svc!.labels).toMatchObject({ 'coop-cloud.test': 'yes', ...ns });
    let running = 0;
    for (let i = 0; i < 120 && running === 0; i++) {
      running = (
        await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${stack}_app`)
      )
        .split('\n')
        .filter(Boolean).length;
      if (!running) await new Promise((r) => setTimeout(r, 250));
    }
    expect(running).toBe(1);
    await api.scaleService(`${stack}_app`, 0);
    expect(await api.killStackContainers(stack)).toBeGreaterThanOrEqual(1);
    expect(await api.removeStackContainers(stack)).toBeGreaterThanOrEqual(1);
    expect(await api.removeStackContainers(stack)).toBe(0);
    await expect(api.scaleService(`${stack}_nothing`, 1)).rejects.toThrow(/no such service/);
  }, 60_000);
});

/** An idle container of the test stack on the proxy network (so the network is in use here). */
const onProxy = (name: string) =>
  docker(
    'run',
    '-d',
    '--label',
    `com.docker.stack.namespace=${stack}`,
    '--name',
    `${stack}_${name}`,
    '--network',
    'proxy',
    'ccci/web:1',
    'sh',
    '-c',
    'sleep 600',
  );

describe('detached containers over the Engine API', () => {
  const spec = (name: string, network = 'proxy') => ({
    name: `${stack}_${name}`,
    image: 'ccci/node-base:20',
    network,
    labels: ns,
    entrypoint: 'node',
    args: ['-e', 'setInterval(() => {}, 1 << 30)'],
    memoryBytes: 128 * 2 ** 20,
  });

  it('start the same sandbox the CLI starts, and fail as it fails', async () => {
    // Each on a host where the network is in use, so that neither start races the daemon's
    // teardown of the network's local instance (openProxyProbe's retry covers that).
    await onProxy('holder');
    const seen = [];
    for (const [d, name] of [
      [cli, 'probe-cli'],
      [api, 'probe-api'],
    ] as const) {
      expect(await d.runDetached(spec(name))).toMatchObject({ exitCode: 0, stderr: '' });
      const raw = JSON.parse(await docker('inspect', `${stack}_${name}`))[0];
      seen.push({
        running: raw.State.Running,
        entrypoint: raw.Config.Entrypoint,
        cmd: raw.Config.Cmd,
        labels: raw.Config.Labels,
        network: raw.HostConfig.NetworkMode,
        readOnly: raw.HostConfig.ReadonlyRootfs,
        capDrop: raw.HostConfig.CapDrop,
        securityOpt: raw.HostConfig.SecurityOpt,
        memory: raw.HostConfig.Memory,
      });
      expect(await d.removeObject('container', `${stack}_${name}`)).toBe(true);
    }
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[1]).toMatchObject({ running: true, readOnly: true, memory: 128 * 2 ** 20 });
    for (const d of [cli, api]) {
      const res = await d.runDetached(spec('probe-nonet', `${stack}-no-such-network`));
      expect(res.exitCode).toBe(125);
      expect(res.stderr).toMatch(/^docker: Error response from daemon: .*not found/);
      await d.removeObject('container', `${stack}_probe-nonet`);
    }
  });

  it('start the probe right after the last container on the network left this host', async () => {
    // The daemon is then tearing down the network's local instance; a start fails with
    // "network <ID> not found" for a moment, and the probe is created again.
    await onProxy('last');
    // (Started while the holder is still on the network: this start must not race.)
    await docker('rm', '-f', `${stack}_holder`);
    await docker('rm', '-f', `${stack}_last`);
    const probe = await api.openProxyProbe({
      name: `${stack}_probe`,
      image: 'ccci/node-base:20',
      network: 'proxy',
      labels: ns,
    });
    expect(await api.containerRunning(`${stack}_probe`)).toBe(true);
    await probe.close();
    expect(await api.containerRunning(`${stack}_probe`)).toBeNull();
  });
});

describe('swarm locks over the Engine API', () => {
  it('are the same locks the CLI takes: one holder per domain, released by its holder', async () => {
    const [viaApi, viaCli] = [await swarmLocks(api), await swarmLocks(cli)];
    const lock = (runId: string) => ({
      domain: `${stack}.ci.localhost`,
      runId,
      started: new Date().toISOString(),
    });
    const held = await viaApi.acquire(lock('run-api'));
    try {
      expect(await viaCli.isHeld(`${stack}.ci.localhost`)).toBe(true);
      await expect(viaCli.acquire(lock('run-cli'))).rejects.toMatchObject({
        code: 'LOCKED',
        message: expect.stringMatching(/locked by run run-api/),
      });
      await expect(viaApi.acquire(lock('run-api-2'))).rejects.toMatchObject({ code: 'LOCKED' });
      const listed = (await viaCli.list()).filter((l) => l.domain === `${stack}.ci.localhost`);
      expect(listed).toEqual(
        (await viaApi.list()).filter((l) => l.domain === `${stack}.ci.localhost`),
      );
      expect(listed).toMatchObject([{ runId: 'run-api', pid: process.pid }]);
    } finally {
      await held.release();
    }
    expect(await viaApi.isHeld(`${stack}.ci.localhost`)).toBe(false);
    const again = await viaCli.acquire(lock('run-cli'));
    expect(await viaApi.isHeld(`${stack}.ci.localhost`)).toBe(true);
    await again.release();
    expect(await viaCli.isHeld(`${stack}.ci.localhost`)).toBe(false);
  });
});

describe('diagnostics over the Engine API', () => {
  it("read a service's logs and the stack's events as the CLI reads them", async () => {
    const since = new Date(Date.now() - 1000);
    await stackService(
      stack,
      'talk',
      'ccci/web:1',
      'sh',
      '-c',
      'echo out-1; echo err-1 >&2; echo out-2; sleep 600',
    );
    let logs = '';
    for (let i = 0; i < 120 && !/out-2/.test(logs); i++) {
      logs = await api.serviceLogs(`${stack}_talk`, 300);
      if (!/out-2/.test(logs)) await new Promise((r) => setTimeout(r, 250));
    }
    expect(logs).toMatch(/^\S+Z out-1\n\S+Z out-2\n\S+Z err-1\n$/);
    expect(logs).toBe(await cli.serviceLogs(`${stack}_talk`, 300));
    expect(await api.serviceLogs(`${stack}_nothing`, 10)).toMatch(/^Error response from daemon: /);
    const until = new Date();
    const [a, c] = [await api.events(ns, since, until), await cli.events(ns, since, until)];
    expect(a.length).toBeGreaterThan(0);
    expect(a.map((e) => JSON.parse(e))).toEqual(c.map((e) => JSON.parse(e)));
  });
});

describe('the proxy probe over an attached connection', () => {
  it('answers what the exec probe answers, many requests at once, with no exec', async () => {
    const since = new Date(Date.now() - 1000);
    await stackService(
      stack,
      'web',
      '--network',
      'proxy',
      '--endpoint-mode',
      'dnsrr',
      'ccci/web:1',
    );
    const endpoint = {
      service: `${stack}_web`,
      port: 80,
      network: 'proxy',
      hostHeader: `${stack}.ci.localhost`,
    };
    const open = (d: DockerCli, name: string) =>
      d.openProxyProbe({
        name: `${stack}_${name}`,
        image: 'ccci/node-base:20',
        network: 'proxy',
        labels: ns,
      });
    const [viaApi, viaCli] = [await open(api, 'probe-a'), await open(cli, 'probe-c')];
    try {
      const ask = { path: '/', timeoutMs: 3000, all: true };
      let first: Awaited<ReturnType<typeof viaApi.get>> = [];
      for (let i = 0; i < 120 && !first[0]?.answer; i++) {
        first = await viaApi.get(endpoint, ask);
        if (!first[0]?.answer) await new Promise((r) => setTimeout(r, 250));
      }
      expect(first).toHaveLength(1);
      expect(first[0]!.answer).toMatchObject({ status: expect.any(Number) });
      expect(await viaApi.get(endpoint, ask)).toEqual(await viaCli.get(endpoint, ask));
      // Ten at once over the one connection: each gets its own answer.
      const paths = Array.from({ length: 10 }, (_, i) => `/nothing-${i}`);
      const answers = await Promise.all(
        paths.map((path) => viaApi.get(endpoint, { path, timeoutMs: 3000, all: false })),
      );
      expect(answers.map((a) => a[0]!.answer!.status)).toEqual(paths.map(() => 404));
      // An unknown service: no task, no answer — the same both ways.
      const none = { ...endpoint, service: `${stack}_nothing` };
      expect(await viaApi.get(none, ask)).toEqual([]);
      expect(await viaCli.get(none, ask)).toEqual([]);
      // The attached probe started no process in its container; the exec one did, per request.
      const execs = async (name: string) =>
        (await api.events(ns, since, new Date()))
          .map((e) => JSON.parse(e) as { Action: string; Actor: { Attributes: { name?: string } } })
          .filter(
            (e) =>
              e.Action.startsWith('exec_create') && e.Actor.Attributes.name === `${stack}_${name}`,
          ).length;
      expect(await execs('probe-a')).toBe(0);
      expect(await execs('probe-c')).toBe(2);
    } finally {
      await viaApi.close();
      await viaCli.close();
    }
    expect(await api.containerRunning(`${stack}_probe-a`)).toBeNull();
  });
});
