/**
 * The local Drone runner itself (env assembly, masking, exit 78, cancel), then the real plugin
 * run through it with only Drone's environment: as a process and as the built image, uploading
 * to a receiving server on loopback; cancelled mid-run; and refusing hostile params.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createServer, type RequestListener, type Server } from 'node:http';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  hostAddressForContainers,
  encodeSetting,
  runDronePipeline,
  runDroneStep,
  type DroneStep,
} from '../kit/local-drone-runner.js';

/** A per-run upload token as the bridge passes it (build param CCCI_RUN_TOKEN). */
const RUN_TOKEN = `ccci-run.1.${'Q'.repeat(43)}`;
const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const cli = join(root, 'packages/drone-plugin/dist/main.js');
const node = process.execPath;

const printEnv: DroneStep = {
  name: 'env',
  command: [node, '-e', 'process.stdout.write(JSON.stringify(process.env))'],
};

describe('local Drone runner', () => {
  it('encodes settings as drone-runner-docker does', () => {
    expect(encodeSetting('x')).toBe('x');
    expect(encodeSetting(true)).toBe('true');
    expect(encodeSetting(3)).toBe('3');
    expect(encodeSetting(['a', 'b'])).toBe('a,b');
    expect(encodeSetting([{ a: 1 }])).toBe('[{"a":1}]');
    expect(encodeSetting({ a: 1 })).toBe('{"a":1}');
    expect(encodeSetting(null)).toBeNull();
  });

  it('gives the step params, DRONE_* and PLUGIN_* with DRONE_* winning over params, and masks secrets', async () => {
    const ws = await mkdtemp(join(tmpdir(), 'ccci-ws-'));
    const res = await runDroneStep({
      build: { number: 42, params: { RECIPE: 'notes', DRONE_BUILD_NUMBER: '999' } },
      step: {
        ...printEnv,
        settings: { stages: ['install', 'lint'], deployer: 'docker' },
        secrets: { results_token: 'sekrit-value-123' },
      },
      workspace: ws,
    });
    expect(res.exitCode).toBe(0);
    expect(res.log).not.toContain('sekrit-value-123');
    const env = JSON.parse(res.log.replace(/\*{8}/g, 'MASKED'));
    expect(env).toMatchObject({
      RECIPE: 'notes',
      DRONE_BUILD_NUMBER: '42',
      PLUGIN_STAGES: 'install,lint',
      PLUGIN_DEPLOYER: 'docker',
      PLUGIN_RESULTS_TOKEN: 'MASKED',
      CI: 'true',
      DRONE: 'true',
      DRONE_WORKSPACE: ws,
    });
  });

  it('treats exit 78 as success that skips the remaining steps, and a failure as failing the pipeline', async () => {
    const ws = await mkdtemp(join(tmpdir(), 'ccci-ws-'));
    const step = (name: string, code: number): DroneStep => ({
      name,
      command: [node, '-e', `process.exit(${code})`],
    });
    const early = await runDronePipeline({
      build: { number: 1, params: {} },
      workspace: ws,
      steps: [step('a', 78), step('b', 1)],
    });
    expect(early).toEqual({
      status: 'success',
      steps: [
        { name: 'a', status: 'success', exitCode: 78 },
        { name: 'b', status: 'skipped', exitCode: null },
      ],
    });
    const failed = await runDronePipeline({
      build: { number: 2, params: {} },
      workspace: ws,
      steps: [step('a', 0), step('b', 3), step('c', 0)],
    });
    expect(failed.status).toBe('failure');
    expect(failed.steps.map((s) => s.status)).toEqual(['success', 'failure', 'skipped']);
  });

  it('sends SIGTERM on cancel and SIGKILL after the grace period', async () => {
    const ws = await mkdtemp(join(tmpdir(), 'ccci-ws-'));
    const stubborn: DroneStep = {
      name: 'stubborn',
      command: [
        node,
        '-e',
        "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); setInterval(() => {}, 1000); console.log('ready')",
      ],
    };
    const ac = new AbortController();
    const pending = runDroneStep({
      build: { number: 3, params: {} },
      step: stubborn,
      workspace: ws,
      graceMs: 1500,
      signal: ac.signal,
      onLog: (t) => t.includes('ready') && ac.abort(),
    });
    const res = await pending;
    expect(res).toMatchObject({ cancelled: true, killed: true });
    expect(res.log).toContain('ignoring SIGTERM');
  });
});

describe('the cc-ci plugin under the local Drone runner', () => {
  let server: Server;
  let containerServer: Server;
  let bridgeUrl: string;
  let containerBridgeUrl: string;
  const uploads: Array<{
    runId: string;
    auth: string | undefined;
    body: { results: { verdict: string; run_id: string }; junit: Record<string, string> };
  }> = [];
  let repo: string;
  let head: string;

  beforeAll(async () => {
    const handler: RequestListener = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const m = /^\/api\/runs\/([^/]+)\/results$/.exec(req.url ?? '');
        if (req.method !== 'POST' || !m) return void res.writeHead(404).end();
        if (
          req.headers.authorization !== 'Bearer results-token-0123456789' &&
          req.headers.authorization !== `Bearer ${RUN_TOKEN}`
        )
          return void res.writeHead(401).end();
        uploads.push({
          runId: m[1]!,
          auth: req.headers.authorization,
          body: JSON.parse(Buffer.concat(chunks).toString()),
        });
        res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
      });
    };
    server = createServer(handler);
    // What a plugin container reaches: the same fake bridge on the host side of docker0.
    containerServer = createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    bridgeUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const hostAddress = await hostAddressForContainers();
    await new Promise<void>((r) => containerServer.listen(0, hostAddress, r));
    const cAddress = containerServer.address();
    containerBridgeUrl = `http://${hostAddress}:${typeof cAddress === 'object' && cAddress ? cAddress.port : 0}`;
    await run(
      'bash',
      [
        join(root, 'docker/build-plugin-image.sh'),
        '--base',
        'ccci/plugin-base:20',
        '--tag',
        'ccci/plugin:test',
      ],
      { timeout: 300_000 },
    );
    const parent = await mkdtemp(join(tmpdir(), 'ccci-plugin-'));
    repo = join(parent, 'notes');
    head = (
      await run('bash', [
        join(root, 'scripts/make-recipe-repo.sh'),
        join(root, 'examples/recipes/notes'),
        repo,
        '0.1.0+1.35.0',
        '0.2.0+1.35.0',
      ])
    ).stdout.trim();
  }, 360_000);
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => containerServer.close(() => r()));
  });

  const pluginStep = (state: string, extra: Partial<DroneStep> = {}): DroneStep => ({
    name: 'recipe-ci',
    command: [node, cli, 'run'],
    settings: { bridge_url: bridgeUrl, stages: ['install'] },
    secrets: { results_token: 'results-token-0123456789' },
    environment: { CCCI_STATE_DIR: state },
    ...extra,
  });

  /** The plugin image as the recipe-ci pipeline runs it: the recipe mounted, the state volume. */
  const imageStep = (ws: string): DroneStep => ({
    name: 'recipe-ci',
    image: 'ccci/plugin:test',
    settings: { bridge_url: containerBridgeUrl, stages: ['install'] },
    secrets: { results_token: 'results-token-0123456789' },
    mounts: [`${repo}:/recipe:ro`, `${join(ws, 'state')}:/var/lib/cc-ci`],
  });

  it('runs the plugin image with only Drone’s environment, writes the run directory and uploads the results with the build’s CCCI_RUN_TOKEN', async () => {
    const ws = await mkdtemp(join(tmpdir(), 'ccci-ws-'));
    const res = await runDroneStep({
      build: {
        number: 101,
        params: { RECIPE: 'notes', SRC: '/recipe', REF: head, PR: '5', CCCI_RUN_TOKEN: RUN_TOKEN },
      },
      step: imageStep(ws),
      workspace: ws,
    });
    expect(res.log).toMatch(/verdict PASS, level 1 of 5/);
    expect(res.exitCode).toBe(0);
    expect(res.log).not.toContain('results-token-0123456789');
    // Drone masks secrets, never params: the plugin itself must not print its run token.
    expect(res.log).not.toContain(RUN_TOKEN);
    expect(await readFile(join(ws, 'runs', '101', 'run.log'), 'utf8')).not.toContain(RUN_TOKEN);
    const results = JSON.parse(await readFile(join(ws, 'runs', '101', 'results.json'), 'utf8'));
    expect(results).toMatchObject({
      run_id: '101',
      recipe: 'notes',
      pr: 5,
      commit: head,
      verdict: 'pass',
    });
    const upload = uploads.find((u) => u.runId === '101');
    expect(upload?.auth).toBe(`Bearer ${RUN_TOKEN}`);
    expect(upload?.body.results.verdict).toBe('pass');
    expect(Object.keys(upload!.body.junit)).toContain('install.xml');
  }, 180_000);

  // Drone's own cancel is SIGKILL at once (cross-container.test.ts); a SIGTERM with a grace is
  // what `docker stop` of the step container (e.g. a runner host shutting down) gives.
  it('tears down within a 10 s grace when its container is stopped mid-run (SIGTERM)', async () => {
    const ws = await mkdtemp(join(tmpdir(), 'ccci-ws-'));
    const ac = new AbortController();
    let stack = '';
    const res = await runDroneStep({
      build: { number: 102, params: { RECIPE: 'notes', SRC: '/recipe', REF: head } },
      step: imageStep(ws),
      workspace: ws,
      graceMs: 10_000,
      signal: ac.signal,
      onLog: (t) => {
        const m = /stack (\S+) accepted by the swarm/.exec(t);
        if (m) {
          stack = m[1]!;
          ac.abort();
        }
      },
    });
    expect(res.cancelled).toBe(true);
    expect(res.killed).toBe(false); // finished its teardown inside the grace period
    expect(res.exitCode).toBe(3);
    expect(res.log).toMatch(/teardown verified: nothing of this run remains/);
    const left = await run('docker', [
      'service',
      'ls',
      '-q',
      '--filter',
      `label=com.docker.stack.namespace=${stack}`,
    ]);
    expect(left.stdout.trim()).toBe('');
  }, 180_000);

  it.each([
    [
      'RECIPE=../x',
      { RECIPE: '../x', SRC: '/tmp', REF: 'abcdef1' },
      /recipe name "\.\.\/x" is not valid/,
    ],
    ['REF="a;b"', { RECIPE: 'notes', SRC: '/tmp', REF: 'a;b' }, /ref "a;b"/],
    [
      'a newline in SRC',
      { RECIPE: 'notes', SRC: '/tmp\nx', REF: 'abcdef1' },
      /SRC: contains a newline/,
    ],
    [
      'an extra PATH param',
      { RECIPE: 'notes', SRC: '/tmp', REF: 'abcdef1', PATH: '/tmp/evil:/usr/bin:/bin' },
      /PATH is set by a build param/,
    ],
  ])(
    'refuses %s with exit 2 before deploying anything',
    async (_n, params, message) => {
      const ws = await mkdtemp(join(tmpdir(), 'ccci-ws-'));
      const before = (await run('docker', ['stack', 'ls', '--format', '{{.Name}}'])).stdout;
      const res = await runDroneStep({
        build: { number: 103, params },
        // As in the image: the image declares its PATH, so a param that changes it is detected.
        step: pluginStep(join(ws, 'state'), {
          baseEnv: {
            PATH: '/usr/local/bin:/usr/bin:/bin',
            HOME: '/root',
            CCCI_EXPECTED_PATH: '/usr/local/bin:/usr/bin:/bin',
          },
        }),
        workspace: ws,
      });
      expect(res.exitCode).toBe(2);
      expect(res.log).toMatch(message);
      expect((await run('docker', ['stack', 'ls', '--format', '{{.Name}}'])).stdout).toBe(before);
    },
    60_000,
  );

  it('runs the built plugin image the same way', async () => {
    const ws = await mkdtemp(join(tmpdir(), 'ccci-ws-'));
    const res = await runDroneStep({
      build: { number: 104, params: { RECIPE: 'notes', SRC: '/recipe', REF: head } },
      step: imageStep(ws),
      workspace: ws,
    });
    expect(res.log).toMatch(/verdict PASS, level 1 of 5/);
    expect(res.exitCode).toBe(0);
    const results = JSON.parse(await readFile(join(ws, 'runs', '104', 'results.json'), 'utf8'));
    expect(results).toMatchObject({ run_id: '104', verdict: 'pass' });
    expect(uploads.some((u) => u.runId === '104')).toBe(true);
  }, 400_000);

  it('refuses params that change the image’s PATH, directories or config with exit 2, naming each', async () => {
    // Drone merges params above the image ENV, so together PATH and CCCI_EXPECTED_PATH would
    // defeat a check of one against the other: the image's recorded ENV is the reference.
    const ws = await mkdtemp(join(tmpdir(), 'ccci-ws-'));
    const before = (await run('docker', ['stack', 'ls', '--format', '{{.Name}}'])).stdout;
    const res = await runDroneStep({
      build: {
        number: 105,
        params: {
          RECIPE: 'notes',
          SRC: '/recipe',
          REF: head,
          PATH: '/drone/src/evil:/usr/local/bin:/usr/bin:/bin',
          CCCI_EXPECTED_PATH: '/drone/src/evil:/usr/local/bin:/usr/bin:/bin',
          PLUGIN_CONFIG_DIR: '/drone/src/config',
          CCCI_STATE_DIR: '/drone/src/state',
          SURPRISE: '1',
        },
      },
      step: imageStep(ws),
      workspace: ws,
    });
    expect(res.exitCode).toBe(2);
    for (const name of [
      'PATH',
      'CCCI_EXPECTED_PATH',
      'PLUGIN_CONFIG_DIR',
      'CCCI_STATE_DIR',
      'SURPRISE',
    ])
      expect(res.log).toMatch(new RegExp(`- ${name} (differs|is not)`));
    expect(res.log).not.toMatch(/accepted by the swarm/);
    expect((await run('docker', ['stack', 'ls', '--format', '{{.Name}}'])).stdout).toBe(before);
  }, 120_000);
});
