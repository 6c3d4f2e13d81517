/**
 * The whole product, end to end: a maintainer comments `!testme` on a PR in (fake) Gitea; the
 * signed webhook reaches the bridge; the bridge creates a build in (fake) Drone; the build runs
 * the real cc-ci plugin through the local Drone runner with exactly Drone's environment, which
 * clones the recipe from Gitea over HTTP, runs the full lifecycle on the local swarm and uploads
 * progress and results to the bridge; the build ends; the same PR comment becomes the result
 * card, the commit status is final, and the status page and badge show the run.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  hostAddressForContainers,
  runDroneStep,
} from '../../../drone-plugin/test/kit/local-drone-runner.js';
import { CARD_MARKER } from '../../src/domain/card.js';
import { STATUS_CONTEXT } from '../../src/intake/engine.js';
import {
  RECIPE_REPO,
  RESULTS_TOKEN,
  WEBHOOK_SECRET,
  startBridge,
  startWorld,
  until,
  type Bridge,
  type World,
} from '../support/intake-kit.js';

const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
/** The plugin image, built as docker/build-plugin-image.sh builds it for production. */
const IMAGE = 'ccci/plugin:test';

let world: World & { pr: number };
let bridge: Bridge;
let dir: string;
let head: string;
let pr: number;
const stepLogs: string[] = [];
const stepsEnded: Array<Promise<void>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccci-e2e-'));
  const work = join(dir, 'notes');
  head = (
    await run('bash', [
      join(root, 'scripts/make-recipe-repo.sh'),
      join(root, 'examples/recipes/notes'),
      work,
      '0.1.0+1.35.0',
      '0.2.0+1.35.0',
    ])
  ).stdout.trim();
  // The plugin runs in its own container on a bridge network, as under drone-runner-docker: it
  // reaches the bridge and clones from Gitea at the host side of docker0 (never off the machine).
  const host = await hostAddressForContainers();
  await run(
    'bash',
    [join(root, 'docker/build-plugin-image.sh'), '--base', 'ccci/plugin-base:20', '--tag', IMAGE],
    { timeout: 300_000 },
  );
  world = await startWorld(host);
  pr = world.gitea.openPull(RECIPE_REPO, { author: 'writer', headSha: head });
  // Gitea keeps every PR head under refs/pull/N/head of the base repository.
  const bare = join(dir, 'notes.git');
  await run('git', ['clone', '--quiet', '--bare', work, bare]);
  await run('git', ['-C', bare, 'update-ref', `refs/pull/${pr}/head`, head]);
  await run('git', ['-C', bare, 'update-server-info']);
  world.gitea.serveGit(RECIPE_REPO, bare);
  bridge = await startBridge(world, {
    noResultsGraceMs: 10_000,
    progressMinIntervalMs: 0,
    host,
  });
  world.gitea.addHook(RECIPE_REPO, `${bridge.url}/hooks/gitea`, WEBHOOK_SECRET);
  // The fake Drone hands each build to the local runner, which runs the plugin like drone-runner-docker.
  world.drone.onBuild = (b) => {
    world.drone.setStatus(b.number, 'running');
    const workspace = join(dir, `ws-${b.number}`);
    mkdirSync(workspace, { recursive: true });
    const step = runDroneStep({
      build: { number: b.number, params: b.params ?? {} },
      step: {
        name: 'lifecycle',
        image: IMAGE,
        settings: { bridge_url: bridge.url },
        secrets: { results_token: RESULTS_TOKEN },
        mounts: [`${join(dir, 'state')}:/var/lib/cc-ci`],
      },
      workspace,
    }).then(
      (res) => {
        stepLogs.push(res.log);
        world.drone.setStatus(b.number, res.exitCode === 0 ? 'success' : 'failure');
      },
      (err: Error) => {
        stepLogs.push(String(err.stack));
        world.drone.setStatus(b.number, 'error');
      },
    );
    stepsEnded.push(step);
  };
}, 120_000);

afterAll(async () => {
  await bridge?.stop();
  await world?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('!testme → Drone → plugin on the swarm → result card', () => {
  it('ends with the result card in the same comment, a final status, and the status page showing the run', async () => {
    world.gitea.comment(RECIPE_REPO, pr, 'maintainer', '!testme');
    await until(
      () =>
        ['success', 'failure', 'error'].includes(
          world.gitea.latestStatus(RECIPE_REPO, head, STATUS_CONTEXT)?.state ?? '',
        ),
      300_000,
      'a final commit status',
    );
    // The bridge sets the final status on the results upload, before the step has exited:
    // read the step log only once every step has ended (bounded).
    await Promise.race([
      Promise.all(stepsEnded),
      new Promise((_, reject) =>
        setTimeout(
          () => reject(new Error('the Drone step did not end within 120 s')),
          120_000,
        ).unref(),
      ),
    ]);
    const log = stepLogs.join('\n');
    const status = world.gitea.latestStatus(RECIPE_REPO, head, STATUS_CONTEXT)!;
    expect({
      state: status.state,
      log: status.state === 'success' ? '' : log.slice(-3000),
    }).toEqual({ state: 'success', log: '' });
    expect(status.description).toBe('pass · level 4 of 5');
    expect(status.target_url).toBe('http://ci.example.test/runs/1');

    // One build, with the PR head from the base repository.
    expect(world.drone.builds).toHaveLength(1);
    expect(world.drone.builds[0]!.params).toMatchObject({
      RECIPE: 'notes',
      PR: String(pr),
      REF: head,
      CCCI_RUN_TOKEN: expect.stringMatching(/^ccci-run\.\d+\./),
    });
    // The results came with the build's own run token (the only one run 1 accepts); Drone masks
    // secrets, never params, so the plugin must not print it, nor write it to the uploaded log.
    const runToken = world.drone.builds[0]!.params!.CCCI_RUN_TOKEN!;
    expect(log).not.toContain(runToken);
    expect(log).not.toContain(RESULTS_TOKEN);
    expect(await (await fetch(`${bridge.url}/runs/1/log`)).text()).not.toContain(runToken);
    const shared = await fetch(`${bridge.url}/api/runs/1/results`, {
      method: 'POST',
      headers: { authorization: `Bearer ${RESULTS_TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(shared.status).toBe(403);

    // One cc-ci comment, edited in place: queued/started → running tiers → result card.
    const mine = world.gitea.commentsOn(RECIPE_REPO, pr).filter((c) => c.login === 'ccci-bot');
    expect(mine).toHaveLength(1);
    const card = mine[0]!.body;
    expect(card.startsWith(CARD_MARKER)).toBe(true);
    expect(card).toContain('pass · level 4 of 5');
    expect(card).toMatch(/\| install \| ✅ pass \|/);
    expect(card).toMatch(/\| upgrade \| ✅ pass \|/);
    expect(card).toMatch(/\| custom \| ✅ pass \|/);
    expect(card).toMatch(/0\\\.2\\\.0\\\+1\\\.35\\\.0 → /);
    const edits = world.gitea.exchanges
      .filter((e) => e.method === 'PATCH')
      .map((e) => (e.body as { body: string }).body);
    expect(edits.some((b) => b.includes('⏳ running'))).toBe(true);
    // Statuses went pending → success, never anything else.
    expect(
      world.gitea
        .statusesFor(RECIPE_REPO, head)
        .map((s) => s.state)
        .filter((s, i, a) => a[i - 1] !== s),
    ).toEqual(['pending', 'success']);

    // The status page, run page and badge show it.
    const index = await (await fetch(`${bridge.url}/`)).text();
    expect(index).toContain('notes');
    const runPage = await (await fetch(`${bridge.url}/runs/1`)).text();
    expect(runPage).toMatch(/level 4/);
    const badge = await (await fetch(`${bridge.url}/badge/notes.svg`)).text();
    expect(badge).toContain('level 4');
    // And the plugin left the swarm clean.
    expect(log).toMatch(/teardown verified: nothing of this run remains/);
  }, 360_000);
});
