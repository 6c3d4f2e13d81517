/**
 * The install tier end to end on the real local swarm: the example recipe passes with a clean,
 * verified teardown and schema-valid JUnit; canaries turn red for the right reason.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderCard } from '../../../bridge/src/domain/card.js';
import type { Results } from '../../src/domain/results.js';
import { InputError } from '../../src/errors.js';
import { defaultTiers } from '../../src/tiers/index.js';
import type { Tier } from '../../src/tiers/types.js';
import {
  fixture,
  fixtureConfigDir,
  forceRemoveStack,
  recipeRepo,
  repoRoot,
  runRecipe,
  stackObjects,
  verdictOf,
} from '../support/fixtures.js';

const run = promisify(execFile);
const stacks: string[] = [];

afterAll(async () => {
  for (const s of stacks) await forceRemoveStack(s);
}, 120_000);

const lifecycle = (
  src: string,
  ref: string | undefined,
  recipe: string,
  configDir = fixtureConfigDir,
) => runRecipe({ src, ref, recipe, stages: ['install'], configDir, stacks });

describe('install tier on the local swarm', () => {
  it('passes the example recipe at a commit with level 1, one deploy and a clean teardown', async () => {
    const repo = await recipeRepo(join(repoRoot, 'examples/recipes/notes'), [
      '0.1.0+1.35.0',
      '0.2.0+1.35.0',
    ]);
    const { outcome, outDir } = await lifecycle(
      repo.path,
      repo.head,
      'notes',
      join(repoRoot, 'recipes'),
    );
    const r = outcome.results;
    expect(verdictOf(r)).toEqual({ verdict: 'pass', failing: {} });
    expect(outcome.exitCode).toBe(0);
    expect(r.stages.install?.status).toBe('pass');
    expect(r.level).toBeGreaterThanOrEqual(1);
    expect(r.commit).toBe(repo.head);
    expect(r.version).toBe('0.3.0+1.35.0');
    expect(r.deploy_count).toBe(1);
    expect(r.flags).toEqual({ clean_teardown: true, no_secret_leak: true });
    expect(await stackObjects(r.domain.replace(/\./g, '_'))).toEqual([]);

    const onDisk = JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8'));
    expect(onDisk).toEqual(r);
    const junitFiles = await readdir(join(outDir, 'junit'));
    expect(junitFiles).toContain('install.xml');
    for (const f of junitFiles) {
      await run('xmllint', [
        '--noout',
        '--schema',
        join(repoRoot, 'spec/junit.xsd'),
        join(outDir, 'junit', f),
      ]);
    }
  }, 180_000);

  it('fails a crash-looping app long before its 900 s deploy timeout, quoting the task error', async () => {
    const repo = await recipeRepo(fixture('canary-crashloop'));
    const { outcome, outDir } = await lifecycle(repo.path, repo.head, 'canary-crashloop');
    const install = outcome.results.stages.install!;
    expect(install.status).toBe('fail');
    expect(install.reason).toMatch(
      /crash-looping: \d+ tasks failed, last: "task: non-zero exit \(3\)/,
    );
    // The code travels with it: results.json (stage, row, rung), JUnit and the PR card.
    const written = JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8')) as Results;
    expect(written.stages.install).toMatchObject({ status: 'fail', code: 'CRASH_LOOP' });
    expect(written.stages.install!.tests.at(-1)).toMatchObject({ code: 'CRASH_LOOP' });
    expect(written.rungs.install.code).toBe('CRASH_LOOP');
    expect(await readFile(join(outDir, 'junit', 'install.xml'), 'utf8')).toContain(
      'type="CRASH_LOOP"',
    );
    const card = renderCard(
      {
        runId: written.run_id,
        recipe: written.recipe,
        pr: 1,
        headSha: repo.head,
        quick: false,
        requestedBy: 'maintainer',
        links: null,
      },
      { kind: 'result', results: written },
    );
    expect(card).toMatch(
      /\| install \| ❌ fail \| [^|]+ \| `CRASH_LOOP` service .* is crash\\-looping/,
    );
    expect(outcome.results.verdict).toBe('fail');
    expect(outcome.exitCode).toBe(1);
    expect(outcome.results.flags.clean_teardown).toBe(true);
    expect(outcome.results.diagnostics).toContain('diagnostics/tasks.txt');
  }, 180_000);

  it('fails an app whose health path answers 500, naming the status', async () => {
    const repo = await recipeRepo(fixture('canary-http500'));
    const { outcome, outDir } = await lifecycle(repo.path, repo.head, 'canary-http500');
    const install = outcome.results.stages.install!;
    expect(install.status).toBe('fail');
    expect(install.reason).toMatch(
      /\/cgi-bin\/health on .* answered HTTP 500 \(body: "boom: database unreachable/,
    );
    expect(outcome.results.flags.clean_teardown).toBe(true);
    const junit = await readFile(join(outDir, 'junit', 'install.xml'), 'utf8');
    expect(junit).toContain('<failure message=');
    expect(junit).toContain('answered HTTP 500');
  }, 180_000);

  it('fails an app whose image does not exist, saying so', async () => {
    const repo = await recipeRepo(fixture('canary-missing-image'));
    const { outcome } = await lifecycle(repo.path, repo.head, 'canary-missing-image');
    const install = outcome.results.stages.install!;
    expect(install.status).toBe('fail');
    expect(install.reason).toMatch(/image/i);
    expect(install.reason).toMatch(/ccci\/does-not-exist|No such image/i);
    expect(outcome.results.flags.clean_teardown).toBe(true);
  }, 180_000);

  it('refuses a compose file that does not parse with an InputError and deploys nothing', async () => {
    const repo = await recipeRepo(fixture('canary-bad-compose'));
    await expect(lifecycle(repo.path, repo.head, 'canary-bad-compose')).rejects.toMatchObject({
      code: 'COMPOSE_INVALID',
    });
    const stacksNow = (await run('docker', ['stack', 'ls', '--format', '{{.Name}}'])).stdout;
    expect(stacksNow).not.toMatch(/^canar/m);
  }, 60_000);

  it('redacts a secret the app echoes into its logs, and the leak scan confirms nothing leaked', async () => {
    const repo = await recipeRepo(fixture('canary-secret-echo'));
    const { outcome, outDir } = await lifecycle(repo.path, repo.head, 'canary-secret-echo');
    expect(outcome.results.stages.install!.status).toBe('fail');
    const appLog = await readFile(join(outDir, 'diagnostics', 'app.log'), 'utf8');
    expect(appLog).toContain('debug: api key is [REDACTED:api_key]');
    expect(outcome.results.flags.no_secret_leak).toBe(true);
  }, 180_000);

  it.each([
    [
      'canary-not-on-proxy',
      /service app: not attached to the external "proxy" network \(networks: internal\)/,
    ],
    [
      'canary-wrong-domain',
      /no router rule matches .*traefik\.http\.routers\.[^.]+\.rule=Host\(`canary\.example\.com`\)/,
    ],
    [
      'canary-wrong-port',
      /connection refused on port 8080 \(the load-balancer port label says 8080\)/,
    ],
  ])(
    '%s fails install the way Traefik would fail it, naming the cause',
    async (name, cause) => {
      const repo = await recipeRepo(fixture(name));
      const { outcome } = await lifecycle(repo.path, repo.head, name);
      const install = outcome.results.stages.install!;
      expect({ status: install.status, reason: install.reason }).toEqual({
        status: 'fail',
        reason: expect.stringMatching(cause),
      });
      expect(outcome.results.verdict).toBe('fail');
      expect(outcome.results.flags.clean_teardown).toBe(true);
    },
    180_000,
  );

  it('publishes nothing on the host while the app is live: it is reached over the proxy network', async () => {
    const repo = await recipeRepo(join(repoRoot, 'examples/recipes/notes'));
    let seen: { ports: unknown[]; containerPorts: string } | null = null;
    // A stand-in custom tier that looks at the live app from outside, then runs the real one.
    const lookFromOutside: Tier = {
      name: 'custom',
      async run(ctx) {
        const stack = ctx.app.stack;
        const inspect = JSON.parse(
          (await run('docker', ['service', 'inspect', `${stack}_app`])).stdout,
        ) as Array<{
          Endpoint?: { Ports?: unknown[] };
          Spec: { EndpointSpec?: { Ports?: unknown[] } };
        }>;
        const containerPorts = (
          await run('docker', [
            'ps',
            '--filter',
            `label=com.docker.stack.namespace=${stack}`,
            '--format',
            '{{.Ports}}',
          ])
        ).stdout.trim();
        seen = {
          ports: [
            ...(inspect[0]?.Endpoint?.Ports ?? []),
            ...(inspect[0]?.Spec.EndpointSpec?.Ports ?? []),
          ],
          containerPorts,
        };
        return defaultTiers.others.custom!.run(ctx);
      },
    };
    const { outcome } = await runRecipe({
      src: repo.path,
      ref: repo.head,
      recipe: 'notes',
      stages: ['install', 'custom'],
      configDir: join(repoRoot, 'recipes'),
      stacks,
      adapters: { tiers: { ...defaultTiers, others: { custom: lookFromOutside } } },
    });
    expect(outcome.results.stages.custom?.status).toBe('pass');
    expect(outcome.results.verdict).toBe('pass');
    expect(seen).toEqual({ ports: [], containerPorts: '' });
  }, 240_000);

  it('rejects a config key typo naming the file and the key, before anything is deployed', async () => {
    const repo = await recipeRepo(fixture('canary-http500'));
    const err = await lifecycle(repo.path, repo.head, 'canary-typo').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/canary-typo\/cc-ci\.yml: unknown key "helth_path"/);
  });
});
