/**
 * The Engine API reads answer exactly what the CLI answers, on the real daemon: a service with
 * labels, a volume, a secret and a config, running one task, read both ways through the Docker
 * port. Then both agree on "gone" once it is removed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { DockerCli } from '../../src/adapters/docker/docker-cli.js';
import { EngineApiDocker } from '../../src/adapters/docker/engine-api.js';
import type { SwarmObjectKind } from '../../src/ports/docker.js';
import { docker, forceRemoveStack, stackService } from '../support/fixtures.js';

const stack = `ccci-api-${randomBytes(3).toString('hex')}`;
const cli = new DockerCli();
const api = new EngineApiDocker('/var/run/docker.sock');
const byId = <T extends { id: string }>(xs: readonly T[]) =>
  [...xs].sort((a, b) => a.id.localeCompare(b.id));

beforeAll(async () => {
  const ns = `com.docker.stack.namespace=${stack}`;
  await docker('secret', 'create', '--label', ns, `${stack}_s_v1`, '/etc/hostname');
  await docker('config', 'create', '--label', ns, `${stack}_c_v1`, '/etc/hostname');
  await docker('volume', 'create', '--label', ns, `${stack}_data`);
  await stackService(
    stack,
    'app',
    '--label',
    `coop-cloud.${stack}.version=0.1.0+1.0`,
    '--secret',
    `${stack}_s_v1`,
    '--config',
    `${stack}_c_v1`,
    '--mount',
    `type=volume,source=${stack}_data,target=/data`,
    'ccci/web:1',
  );
  for (let i = 0; i < 120; i++) {
    const tasks = await cli.listTasks(`${stack}_app`);
    if (tasks.some((t) => t.state === 'running')) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the test service did not start');
}, 90_000);

afterAll(async () => {
  await forceRemoveStack(stack);
  api.close();
}, 90_000);

describe('Engine API reads', () => {
  it('answer what the CLI answers: services, tasks, objects, mounts, images', async () => {
    expect(await api.listServices(stack)).toEqual(await cli.listServices(stack));
    expect(await api.inspectService(`${stack}_app`)).toEqual(
      await cli.inspectService(`${stack}_app`),
    );
    expect(await api.listTasks(`${stack}_app`)).toEqual(await cli.listTasks(`${stack}_app`));
    const kinds: SwarmObjectKind[] = ['service', 'container', 'volume', 'secret', 'config'];
    for (const kind of kinds) {
      const labels = { 'com.docker.stack.namespace': stack };
      const [a, c] = [await api.listObjects(kind, labels), await cli.listObjects(kind, labels)];
      expect([kind, byId(a)]).toEqual([kind, byId(c)]);
      expect(a.length).toBeGreaterThan(0);
      expect([kind, byId(await api.listObjectsByPrefix(kind, `${stack}_`))]).toEqual([
        kind,
        byId(await cli.listObjectsByPrefix(kind, `${stack}_`)),
      ]);
    }
    // A label filter without a value matches on the key alone, as the CLI's does.
    expect(byId(await api.listObjects('volume', { 'com.docker.stack.namespace': '' }))).toEqual(
      byId(await cli.listObjects('volume', { 'com.docker.stack.namespace': '' })),
    );
    const [task] = (await cli.listTasks(`${stack}_app`)).filter((t) => t.containerId);
    expect(await api.containerMounts(task!.containerId!)).toEqual(
      await cli.containerMounts(task!.containerId!),
    );
    expect(await api.containerImage(task!.containerId!)).toEqual(
      await cli.containerImage(task!.containerId!),
    );
    const started = await api.containerStartedAt(task!.containerId!);
    expect(Date.parse(started!)).toBeGreaterThan(0);
    expect(started).toEqual(await cli.containerStartedAt(task!.containerId!));
    expect(await api.containerRunning(task!.containerId!)).toBe(true);
    expect(await cli.containerRunning(task!.containerId!)).toBe(true);
  });

  it('agree on what does not exist', async () => {
    expect(await api.inspectService(`${stack}_nothing`)).toBeNull();
    expect(await api.listTasks(`${stack}_nothing`)).toEqual([]);
    expect(await cli.listTasks(`${stack}_nothing`)).toEqual([]);
    expect(await api.containerImage('ccci-no-such-container')).toBeNull();
    expect(await api.containerStartedAt('ccci-no-such-container')).toBeNull();
    expect(await cli.containerStartedAt('ccci-no-such-container')).toBeNull();
    expect(await api.containerRunning('ccci-no-such-container')).toBeNull();
    expect(await cli.containerRunning('ccci-no-such-container')).toBeNull();
    expect(await api.listServices(`${stack}-none`)).toEqual([]);
  });

  it('fail as infrastructure errors when the daemon cannot be reached', async () => {
    const nowhere = new EngineApiDocker('/nonexistent/docker.sock');
    await expect(nowhere.listServices(stack)).rejects.toMatchObject({
      name: 'InfraError',
      code: 'DOCKER_FAILED',
    });
    nowhere.close();
  });
});
