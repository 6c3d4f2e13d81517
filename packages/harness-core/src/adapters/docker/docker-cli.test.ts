/**
 * How DockerCli maps what the docker CLI answers. The answers are the real CLI's (captured from
 * Docker 20.10 on this machine): a missing object is "nothing", anything else is an
 * infrastructure error — never an empty list a caller would read as "no tasks yet".
 */
import { describe, expect, it } from '@jest/globals';
import type { ProcessRunner } from '../process/run-process.js';
import { DockerCli } from './docker-cli.js';

const DAEMON_DOWN =
  'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n';

/** A runner answering by the first two argv words; records every call. */
function cli(answers: Record<string, { exitCode: number; stdout?: string; stderr?: string }>) {
  const calls: string[][] = [];
  const run: ProcessRunner = async (_bin, args) => {
    calls.push([...args]);
    const a = answers[args.slice(0, 2).join(' ')];
    if (!a) throw new Error(`unexpected docker ${args.join(' ')}`);
    return { stdout: '', stderr: '', timedOut: false, ...a };
  };
  return { docker: new DockerCli({ run }), calls };
}

describe('DockerCli.listTasks', () => {
  it('gives no tasks for a service that does not exist', async () => {
    const { docker } = cli({
      'service ps': { exitCode: 1, stderr: 'no such service: nosuchsvc\n' },
    });
    expect(await docker.listTasks('nosuchsvc')).toEqual([]);
  });

  it('is an infrastructure error when the daemon stops answering', async () => {
    const { docker } = cli({ 'service ps': { exitCode: 1, stderr: DAEMON_DOWN } });
    await expect(docker.listTasks('app')).rejects.toMatchObject({
      name: 'InfraError',
      code: 'DOCKER_FAILED',
      message: expect.stringContaining('Cannot connect to the Docker daemon'),
    });
  });

  it('inspects one by one when a task vanished between the list and the inspect', async () => {
    const task = {
      ID: 't2',
      ServiceID: 's',
      DesiredState: 'running',
      Status: { State: 'running', Timestamp: '2026-12-03T05:00:00Z' },
    };
    const { calls } = cli({});
    const run: ProcessRunner = async (_bin, args) => {
      calls.push([...args]);
      if (args[0] === 'service')
        return { exitCode: 0, stdout: 't1\nt2\n', stderr: '', timedOut: false };
      if (args.length > 4)
        return {
          exitCode: 1,
          stdout: '[]',
          stderr: 'Error response from daemon: task t1 not found',
          timedOut: false,
        };
      return args[3] === 't2'
        ? { exitCode: 0, stdout: JSON.stringify([task]), stderr: '', timedOut: false }
        : {
            exitCode: 1,
            stdout: '[]',
            stderr: 'Error response from daemon: task t1 not found',
            timedOut: false,
          };
    };
    const tasks = await new DockerCli({ run }).listTasks('app');
    expect(tasks.map((t) => [t.id, t.state])).toEqual([['t2', 'running']]);
    expect(calls).toHaveLength(4);
  });
});

describe('DockerCli.inspectService', () => {
  it('is null for a missing service and an error when the daemon is down', async () => {
    expect(
      await cli({
        'service inspect': { exitCode: 1, stdout: '[]', stderr: 'Error: no such service: x\n' },
      }).docker.inspectService('x'),
    ).toBeNull();
    await expect(
      cli({ 'service inspect': { exitCode: 1, stderr: DAEMON_DOWN } }).docker.inspectService('x'),
    ).rejects.toMatchObject({ code: 'DOCKER_FAILED' });
  });
});

describe('DockerCli typed commands', () => {
  it('creates a secret from stdin with its labels, never the value in argv', async () => {
    const seen: Array<{ args: string[]; stdin: unknown }> = [];
    const run: ProcessRunner = async (_bin, args, opts) => {
      seen.push({ args: [...args], stdin: opts?.stdin });
      return { exitCode: 0, stdout: 'id\n', stderr: '', timedOut: false };
    };
    await new DockerCli({ run }).createSecret('s_v1', 'hunter2-value', { 'cc-ci.run-id': 'r1' });
    expect(seen).toEqual([
      {
        args: ['secret', 'create', '--label', 'cc-ci.run-id=r1', 's_v1', '-'],
        stdin: 'hunter2-value',
      },
    ]);
  });

  it('calls a refused compose file bad input and any other deploy failure infrastructure', async () => {
    const refused = cli({
      'stack deploy': {
        exitCode: 1,
        stderr: 'services.app Additional property bogus is not allowed\n',
      },
    });
    await expect(
      refused.docker.deployStack('s', ['compose.yml'], { env: {} }),
    ).rejects.toMatchObject({ name: 'InputError', code: 'COMPOSE_INVALID' });
    const down = cli({ 'stack deploy': { exitCode: 1, stderr: DAEMON_DOWN } });
    await expect(down.docker.deployStack('s', ['compose.yml'], { env: {} })).rejects.toMatchObject({
      name: 'InfraError',
      code: 'DOCKER_FAILED',
    });
  });

  it('names the version to bump when a config changed under the same name', async () => {
    // Captured from a CI run: the head's migrate.sql changed, its config name did not.
    const { docker } = cli({
      'stack deploy': {
        exitCode: 1,
        stderr:
          'Since --detach=false was not specified, tasks will be created in the background.\n' +
          'In a future release, --detach=false will become the default.\n' +
          'failed to update config ledg-e783b1_ci_localhost_migrate_sql_v1: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed\n',
      },
    });
    await expect(
      docker.deployStack('ledg-e783b1_ci_localhost', ['compose.yml'], { env: {} }),
    ).rejects.toMatchObject({
      name: 'RecipeError',
      code: 'IMMUTABLE_CHANGED',
      message: expect.stringMatching(
        /config ledg-e783b1_ci_localhost_migrate_sql_v1 already exists with other content.*MIGRATE_SQL_VERSION/,
      ),
    });
  });

  it('treats removing a stack that is already gone as done', async () => {
    const { docker } = cli({
      'stack rm': { exitCode: 0, stderr: 'Nothing found in stack: nosuchstack\n' },
    });
    await expect(docker.removeStack('nosuchstack')).resolves.toBeUndefined();
  });

  it('knows no image for a container that does not exist', async () => {
    const { docker } = cli({
      'container inspect': {
        exitCode: 1,
        stderr: 'Error response from daemon: No such container: nosuchctr\n',
      },
    });
    expect(await docker.containerImage('nosuchctr')).toBeNull();
  });
});
