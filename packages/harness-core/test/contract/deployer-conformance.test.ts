/**
 * One conformance suite for both deployers. The docker deployer runs for real; the abra deployer
 * runs against `test/fixtures/fake-abra/abra`, which accepts only the command lines recorded in
 * test/contract/abra-cli.md and performs their effects on the real swarm. The same assertions
 * must hold for both, and the abra deployer's exact argv sequence is checked against the contract.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerCli } from '../../src/adapters/docker/docker-cli.js';
import { runProcess } from '../../src/adapters/process/run-process.js';
import { AbraDeployer, fatalLine, parseSecretsTable } from '../../src/deployers/abra-deployer.js';
import { openProxyProbe } from '../../src/adapters/docker/proxy-probe.js';
import { DockerDeployer } from '../../src/deployers/docker-deployer.js';
import { PROXY_NETWORK } from '../../src/domain/traefik.js';
import { DEFAULT_PROBE_IMAGE } from '../../src/lifecycle/run-lifecycle.js';
import { appDomain, stackName } from '../../src/domain/naming.js';
import type { DeployRequest, Deployer } from '../../src/ports/deployer.js';
import {
  docker,
  forceRemoveStack,
  recipeRepo,
  repoRoot,
  stackObjects,
} from '../support/fixtures.js';

const fakeAbra = join(repoRoot, 'packages/harness-core/test/fixtures/fake-abra/abra');
const stacks: string[] = [];
afterAll(async () => {
  for (const s of stacks) await forceRemoveStack(s);
}, 120_000);

async function request(): Promise<DeployRequest> {
  const repo = await recipeRepo(join(repoRoot, 'examples/recipes/notes'), ['0.1.0+1.35.0']);
  const domain = appDomain({
    recipe: 'notes',
    pr: null,
    ref: repo.head,
    runId: `conf${Date.now()}${Math.random()}`,
    suffix: 'ci.localhost',
  });
  const stack = stackName(domain);
  stacks.push(stack);
  return {
    recipe: {
      name: 'notes',
      dir: repo.path,
      commit: repo.head,
      dirty: false,
      version: '0.3.0+1.35.0',
      releases: ['0.1.0+1.35.0'],
    },
    domain,
    stack,
    env: {
      TYPE: 'notes',
      DOMAIN: domain,
      STACK_NAME: stack,
      LETS_ENCRYPT_ENV: 'staging',
      NOTES_TITLE: 'conformance',
      SECRET_ADMIN_PASSWORD_VERSION: 'v1',
      ENTRYPOINT_VERSION: 'v1',
      NOTES_CGI_VERSION: 'v1',
      COMPOSE_FILE: 'compose.yml',
    },
    overlays: [],
    chaos: true,
    labels: {},
  };
}

const cases: Array<[string, (dir: string) => { deployer: Deployer; log?: string }]> = [
  [
    'docker',
    (dir) => ({ deployer: new DockerDeployer({ docker: new DockerCli(), workDir: dir }) }),
  ],
  [
    'abra (recorded command-line contract)',
    (dir) => {
      const log = join(dir, 'abra-argv.log');
      return {
        deployer: new AbraDeployer({
          abraDir: join(dir, 'abra'),
          bin: fakeAbra,
          env: { FAKE_ABRA_LOG: log },
        }),
        log,
      };
    },
  ],
];

describe.each(cases)('Deployer conformance: %s', (_name, make) => {
  it('creates hinted secrets, deploys the head with its chaos label, and removes everything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ccci-conf-'));
    const { deployer, log } = make(dir);
    const req = await request();
    await deployer.validate?.(req);

    const secrets = await deployer.createSecrets(req);
    expect(secrets.map((s) => [s.name, s.version, s.dockerName])).toEqual([
      ['admin_password', 'v1', `${req.stack}_admin_password_v1`],
    ]);
    expect(secrets[0]!.value).toHaveLength(32);
    expect(
      await docker('secret', 'ls', '--format', '{{.Name}}', '--filter', `name=${req.stack}_`),
    ).toBe(`${req.stack}_admin_password_v1`);

    const app = await deployer.deploy(req);
    expect(app.services.map((s) => s.fullName)).toEqual([`${req.stack}_app`]);
    expect(app.endpoint.hostHeader).toBe(req.domain);
    const labels = JSON.parse(
      await docker('service', 'inspect', '--format', '{{json .Spec.Labels}}', `${req.stack}_app`),
    );
    expect(labels[`coop-cloud.${req.stack}.chaos-version`]).toBe(req.recipe.commit.slice(0, 8));

    // The endpoint is reached the Traefik way for both deployers (abra's too: no https: URL to
    // a plain-HTTP client): from a container on proxy, at the tasks, with the app's Host header.
    expect(app.endpoint.network).toBe(PROXY_NETWORK);
    const probe = await openProxyProbe(new DockerCli(), {
      name: `${req.stack}_ccci-probe`,
      network: PROXY_NETWORK,
      image: DEFAULT_PROBE_IMAGE,
      // Found by stackObjects and removed by forceRemoveStack if the test dies.
      labels: { 'com.docker.stack.namespace': req.stack },
    });
    let answers: Array<number | string> = [];
    try {
      for (let i = 0; i < 60; i++) {
        const got = await probe.get(app.endpoint, { path: '/', timeoutMs: 3000, all: true });
        answers = got.map((a) => a.answer?.status ?? a.error ?? 'no answer');
        if (answers.length > 0 && answers.every((a) => a === 200)) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      await probe.close();
    }
    expect(answers).toEqual([200]);

    if (deployer.backup && deployer.restore) {
      // The deployer's own backup and restore bring labelled data back after the volume is wiped.
      let container = '';
      for (let i = 0; i < 120 && !container; i++) {
        container =
          (
            await docker(
              'ps',
              '-q',
              '--filter',
              `label=com.docker.swarm.service.name=${req.stack}_app`,
            )
          ).split('\n')[0] ?? '';
        if (!container) await new Promise((r) => setTimeout(r, 500));
      }
      expect(container).not.toBe('');
      await docker(
        'exec',
        container,
        'sh',
        '-c',
        'mkdir -p /data/notes && echo kept-by-backup > /data/notes/conformance.txt',
      );
      await deployer.backup(req.stack);
      await docker('exec', container, 'sh', '-c', 'rm -rf /data/notes /data/export.txt');
      await deployer.restore(req.stack);
      expect(await docker('exec', container, 'cat', '/data/notes/conformance.txt')).toBe(
        'kept-by-backup',
      );
    }

    await deployer.undeploy(req.stack);
    await deployer.removeData(req.stack);
    expect(await stackObjects(req.stack)).toEqual([]);

    if (log) {
      const calls = (await readFile(log, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as string[]);
      expect(calls).toEqual([
        ['server', 'add', '--local', '--no-input'],
        [
          'app',
          'new',
          'notes',
          '--server',
          'default',
          '--domain',
          req.domain,
          '--secrets',
          '--chaos',
          '--offline',
          '--no-input',
        ],
        ['app', 'deploy', req.domain, '--chaos', '--offline', '--no-input', '--force'],
        ['app', 'backup', 'create', req.domain, '--no-input'],
        ['app', 'restore', req.domain, '--no-input'],
        ['app', 'undeploy', req.domain, '--no-input'],
        ['app', 'volume', 'remove', req.domain, '--force', '--no-input'],
        ['app', 'secret', 'remove', req.domain, '--all', '--no-input'],
        ['app', 'remove', req.domain, '--force', '--no-input'],
      ]);
    }
  }, 180_000);
});

describe('abra output parsing', () => {
  it('turns a FATA line into the error reason', () => {
    expect(fatalLine('INFO ok\nFATA unable to read compose.yml: no such file\n')).toBe(
      'unable to read compose.yml: no such file',
    );
    expect(fatalLine('all good')).toBeNull();
  });
  it('reads the generated secrets table', () => {
    expect(
      parseSecretsTable(
        '┌──┐\n│ SECRET NAME │ SECRET VALUE │\n│ admin_password │ s3cr3t-value │\n└──┘',
      ),
    ).toEqual([{ name: 'admin_password', value: 's3cr3t-value' }]);
  });
  it('the abra stand-in refuses a command line outside the recorded contract with a FATA line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ccci-conf-'));
    const res = await runProcess(fakeAbra, ['app', 'deploy', 'x.example', '--bogus'], {
      env: { ...process.env, ABRA_DIR: dir },
    });
    expect(res.exitCode).toBe(1);
    expect(fatalLine(res.stderr)).toBe(
      'not in the recorded contract: abra app deploy x.example --bogus',
    );
  });
  it('the abra deployer refuses to tear down an app it never created', async () => {
    const abra = new AbraDeployer({
      abraDir: await mkdtemp(join(tmpdir(), 'ccci-conf-')),
      bin: fakeAbra,
    });
    await expect(abra.undeploy('unknown_stack')).rejects.toThrow(/no app known/);
  });
});
