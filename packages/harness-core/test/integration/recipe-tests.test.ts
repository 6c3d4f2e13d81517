/**
 * The custom tier's two shortcuts, with real processes and the real daemon: the recipe's Jest
 * started early waits at its gate until released (no test file loads before), is stopped when
 * discarded, and gives up by itself when cc-ci is gone; the relay gives the recipe's tests the
 * answers the docker CLI path gives (fetchApp, execInService, a failing command), and refuses
 * what is not a request of this app.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EngineApiDocker } from '../../src/adapters/docker/engine-api.js';
import { startRecipeTests } from '../../src/tiers/custom.js';
import { openTestRelay, RELAY_MAX_REQUEST, type TestRelay } from '../../src/tiers/test-relay.js';
import type { ProxyProbe } from '../../src/ports/proxy-probe.js';
import { forceRemoveStack, repoRoot, stackService } from '../support/fixtures.js';

jest.setTimeout(90_000);
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A tests directory whose one test file says, in the run directory, that it was loaded. */
async function testsDir(): Promise<{ dir: string; runDir: string; loaded: string }> {
  const root = await mkdtemp(join(tmpdir(), 'ccci-recipe-tests-'));
  const dir = join(root, 'tests');
  const runDir = join(root, 'run');
  await mkdir(dir);
  await mkdir(runDir);
  await writeFile(
    join(dir, 'gate.test.mjs'),
    [
      "import { readFileSync, writeFileSync } from 'node:fs';",
      "import { dirname, join } from 'node:path';",
      "const ctx = JSON.parse(readFileSync(process.env.CCCI_CONTEXT, 'utf8'));",
      "writeFileSync(join(dirname(process.env.CCCI_CONTEXT), 'loaded'), ctx.word);",
      "it('reads its context', () => expect(ctx.word).toBe('go'));",
    ].join('\n'),
  );
  return { dir, runDir, loaded: join(runDir, 'loaded') };
}

/** The recipe's Jest for those tests, held at its gate. */
const start = (t: { dir: string; runDir: string }) =>
  startRecipeTests({ dir: t.dir, runDir: t.runDir, signal: new AbortController().signal });

/** Processes whose command line names `dir` (the Jest of those tests). */
async function processesOf(dir: string): Promise<number> {
  const { stdout } = await run('ps', ['-eo', 'args']);
  return stdout.split('\n').filter((l) => l.includes(dir) && l.includes('jest')).length;
}

describe("the recipe's Jest, started early", () => {
  it('loads no test file until released, then runs them with the context it was given', async () => {
    const t = await testsDir();
    const tests = await start(t);
    // Jest reaches its gate in well under a second here; without the gate it would have loaded
    // the test file (and written `loaded`) by now.
    await sleep(2500);
    expect(tests.ended).toBe(false);
    expect(existsSync(t.loaded)).toBe(false);
    const res = await tests.release({ word: 'go' });
    expect(res.exitCode).toBe(0);
    expect(await readFile(t.loaded, 'utf8')).toBe('go');
    const report = JSON.parse(await readFile(join(t.runDir, 'custom-jest.json'), 'utf8')) as {
      numPassedTests: number;
    };
    expect(report.numPassedTests).toBe(1);
    expect(tests.ended).toBe(true);
  });

  it('is stopped when discarded, having loaded nothing', async () => {
    const t = await testsDir();
    const tests = await start(t);
    await sleep(1000);
    expect(await processesOf(t.dir)).toBe(1);
    await tests.discard();
    expect(tests.ended).toBe(true);
    expect(await processesOf(t.dir)).toBe(0);
    expect(existsSync(t.loaded)).toBe(false);
  });

  it('removes a stale context first, so an old run directory cannot release it', async () => {
    const t = await testsDir();
    await writeFile(join(t.runDir, 'custom-context.json'), JSON.stringify({ word: 'stale' }));
    const tests = await start(t);
    await sleep(1500);
    expect(existsSync(t.loaded)).toBe(false);
    expect((await tests.release({ word: 'go' })).exitCode).toBe(0);
    expect(await readFile(t.loaded, 'utf8')).toBe('go');
  });

  it('gives up by itself when cc-ci is killed before releasing it', async () => {
    const t = await testsDir();
    const custom = join(repoRoot, 'packages/harness-core/dist/tiers/custom.js');
    const parent = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { startRecipeTests } = await import(${JSON.stringify(custom)});
         await startRecipeTests({ dir: ${JSON.stringify(t.dir)}, runDir: ${JSON.stringify(t.runDir)}, signal: new AbortController().signal });
         setTimeout(() => process.kill(process.pid, 'SIGKILL'), 1500);`,
      ],
      { stdio: 'ignore' },
    );
    await new Promise((r) => parent.once('exit', r));
    let left = await processesOf(t.dir);
    for (let i = 0; i < 100 && left > 0; i++) {
      await sleep(100);
      left = await processesOf(t.dir);
    }
    expect(left).toBe(0);
    expect(existsSync(t.loaded)).toBe(false);
  });
});

const stack = `ccci-relay-${randomBytes(3).toString('hex')}`;
const ns = { 'com.docker.stack.namespace': stack };
const api = new EngineApiDocker('/var/run/docker.sock');
const endpoint = {
  service: `${stack}_web`,
  port: 80,
  network: 'proxy',
  hostHeader: `${stack}.ci.localhost`,
};
const services = { web: `${stack}_web` };
let probe: ProxyProbe;
let relay: TestRelay;
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccci-relay-'));
  await stackService(stack, 'web', '--network', 'proxy', '--endpoint-mode', 'dnsrr', 'ccci/web:1');
  probe = await api.openProxyProbe({
    name: `${stack}_probe`,
    image: 'ccci/node-base:20',
    network: 'proxy',
    labels: ns,
  });
  let up = false;
  for (let i = 0; i < 120 && !up; i++) {
    up = Boolean(
      (await probe.get(endpoint, { path: '/', timeoutMs: 3000, all: false }))[0]?.answer,
    );
    if (!up) await sleep(250);
  }
  relay = await openTestRelay({ probe, endpoint, services, docker: api });
}, 90_000);

afterAll(async () => {
  await relay?.close();
  await probe?.close();
  await forceRemoveStack(stack);
  await rm(dir, { recursive: true, force: true });
  api.close();
}, 90_000);

/** What a recipe's test gets from the testing helpers, run as the custom tier runs them: in a child. */
async function helpers(viaRelay: boolean): Promise<unknown> {
  const context = join(dir, `context-${viaRelay}.json`);
  await writeFile(
    context,
    JSON.stringify({
      domain: endpoint.hostHeader,
      endpoint,
      probeContainer: `${stack}_probe`,
      hostHeader: endpoint.hostHeader,
      stack,
      services,
      runDir: dir,
      ...(viaRelay ? { relay: relay.socket } : {}),
    }),
  );
  const testing = join(repoRoot, 'packages/harness-core/dist/testing.js');
  const { stdout } = await run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { fetchApp, execInService } = await import(${JSON.stringify(testing)});
       const failed = (p) => p.then(() => 'no error', (e) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
       const out = {
         front: await fetchApp('/'),
         missing: (await fetchApp('/no-such-page')).status,
         echo: await execInService('web', ['sh', '-c', 'echo "$0"; echo err >&2', 'héllo']),
         exit3: await failed(execInService('web', ['sh', '-c', 'echo partial; echo why >&2; exit 3'])),
         unknown: await failed(execInService('db', ['true'])).then((e) => e.code ?? 'thrown'),
       };
       process.stdout.write(JSON.stringify(out));`,
    ],
    { env: { PATH: process.env.PATH, CCCI_CONTEXT: context }, timeout: 60_000 },
  );
  return JSON.parse(stdout);
}

/** One raw request line to the relay; its answer line. */
function ask(line: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const conn = connect(relay.socket);
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('data', (c: string) => (buf += c));
    conn.on('error', reject);
    conn.on('end', () => resolve(JSON.parse(buf) as Record<string, unknown>));
    conn.write(line);
  });
}

describe("the custom tier's relay", () => {
  it("gives the recipe's tests what the docker CLI path gives, with no exec in the probe", async () => {
    const probeExecs = async (since: Date) =>
      (await api.events(ns, since, new Date()))
        .map((e) => JSON.parse(e) as { Action: string; Actor: { Attributes: { name?: string } } })
        .filter(
          (e) => e.Action.startsWith('exec_create') && e.Actor.Attributes.name === `${stack}_probe`,
        ).length;
    const t0 = new Date(Date.now() - 1000);
    const viaRelay = await helpers(true);
    expect(viaRelay).toMatchObject({
      front: { status: expect.any(Number) },
      missing: 404,
      echo: { stdout: 'héllo\n', stderr: 'err\n' },
      exit3: { code: 3, stdout: 'partial\n', stderr: 'why\n' },
      unknown: 'thrown',
    });
    // Its two requests went over the probe's attached connection.
    expect(await probeExecs(t0)).toBe(0);
    const t1 = new Date();
    expect(viaRelay).toEqual(await helpers(false));
    // The CLI path starts a process in the probe per request.
    expect(await probeExecs(t1)).toBe(2);
  });

  it('refuses what is not a request of this app, and goes on serving', async () => {
    const refusals = [
      'not json\n',
      '[1]\n',
      `${JSON.stringify({ fetch: { path: 'http://elsewhere/', timeoutMs: 1000 } })}\n`,
      `${JSON.stringify({ fetch: { path: '/a b', timeoutMs: 1000 } })}\n`,
      `${JSON.stringify({ fetch: { path: '/', timeoutMs: 10 ** 9 } })}\n`,
      `${JSON.stringify({ exec: { service: 'db', argv: ['true'] } })}\n`,
      `${JSON.stringify({ exec: { service: '__proto__', argv: ['true'] } })}\n`,
      `${JSON.stringify({ exec: { service: 'web', argv: [] } })}\n`,
      `${JSON.stringify({ exec: { service: 'web', argv: ['echo', 1] } })}\n`,
      'x'.repeat(RELAY_MAX_REQUEST + 10),
      // Over the bound though the line ends in the same write.
      `${JSON.stringify({ fetch: { path: `/${'a'.repeat(RELAY_MAX_REQUEST)}`, timeoutMs: 1000 } })}\n`,
    ];
    for (const line of refusals)
      expect(await ask(line)).toEqual({ error: expect.any(String) as unknown });
    const ok = await ask(`${JSON.stringify({ fetch: { path: '/', timeoutMs: 3000 } })}\n`);
    expect(ok).toMatchObject({ answers: [{ answer: { status: expect.any(Number) } }] });
  });

  it('leaves nothing behind when closed', async () => {
    const other = await openTestRelay({ probe, endpoint, services, docker: api });
    expect(existsSync(other.socket)).toBe(true);
    await other.close();
    expect(existsSync(join(other.socket, '..'))).toBe(false);
  });
});
