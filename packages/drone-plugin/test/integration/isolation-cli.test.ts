/**
 * The isolation re-run the way operators get it: the `cc-ci` command on a swarm manager, whose
 * run locks (and so the host slot) are swarm locks — services every runner sees. The slot's
 * waits are checked on those locks, then a real `cc-ci run --isolate-on-failure` of the flaky
 * canary ends pass, labelled flaky, with the first run kept.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DockerCli,
  ISOLATION_SLOT,
  acquireOutsideSlot,
  acquireSlot,
  swarmLocks,
  type RunLogger,
} from '@cc-ci/harness-core';

const exec = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const cli = join(root, 'packages/drone-plugin/dist/main.js');
const tag = Math.random().toString(16).slice(2, 8);
const started = new Date().toISOString();
const said: string[] = [];
const log: RunLogger = {
  info: (m) => void said.push(m),
  warn: (m) => void said.push(m),
  error: (m) => void said.push(m),
  child: () => log,
};
const wait = { log, signal: new AbortController().signal, pollMs: 200, maxWaitMs: 60_000 };
const settled = async (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), ms))]);

describe('the isolation re-run on swarm locks', () => {
  it('the slot waits for a swarm-locked run, and a run waits for the slot', async () => {
    const locks = await swarmLocks(new DockerCli());
    const other = await locks.acquire({
      domain: `a-${tag}.ci.localhost`,
      runId: `a-${tag}`,
      started,
    });
    const slotP = acquireSlot(locks, { runId: `rerun-${tag}`, started }, wait);
    expect(await settled(slotP, 1500)).toBe(false);
    expect(await locks.isHeld(ISOLATION_SLOT)).toBe(true);
    await other.release();
    const slot = await slotP;
    const regularP = acquireOutsideSlot(
      locks,
      { domain: `b-${tag}.ci.localhost`, runId: `b-${tag}`, started },
      wait,
    );
    expect(await settled(regularP, 1500)).toBe(false);
    expect(await locks.isHeld(`b-${tag}.ci.localhost`)).toBe(false);
    await slot.release();
    const regular = await regularP;
    await regular.release();
    expect(said).toContain('waiting for the host: an isolation re-run has the host to itself');
    expect(said.some((l) => l.includes(`a-${tag} on a-${tag}.ci.localhost`))).toBe(true);
    expect(await locks.list()).not.toContainEqual(
      expect.objectContaining({ runId: expect.stringContaining(tag) }),
    );
  }, 120_000);

  it('cc-ci run --isolate-on-failure re-runs the flaky canary alone and passes it as flaky', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'ccci-iso-cli-'));
    const repo = join(parent, 'repo');
    const head = (
      await exec('bash', [
        join(root, 'scripts/make-recipe-repo.sh'),
        join(root, 'packages/harness-core/test/fixtures/recipes/tier-custom-fail'),
        repo,
      ])
    ).stdout.trim();
    const outDir = join(parent, 'runs', 'iso');
    const res = await exec(
      process.execPath,
      [
        cli,
        'run',
        '--recipe',
        'canary-flaky-first',
        '--src',
        repo,
        '--ref',
        head,
        '--stages',
        'install,custom',
        '--config-dir',
        join(root, 'packages/harness-core/test/fixtures/config'),
        '--out',
        outDir,
        '--isolate-on-failure',
        '--no-janitor',
      ],
      {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: parent,
          CCCI_STATE_DIR: join(parent, 'state'),
        },
      },
    ).catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect(res.stdout).toMatch(/verdict PASS/);
    expect(res.stdout).toContain(
      'isolation re-run: FLAKY — the first run (first-run/) ended fail at level 1; alone it ended pass at level 4',
    );
    expect(res.stdout).toContain('    re-run alone: passed at level 4');
    const results = JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8'));
    expect(results).toMatchObject({
      verdict: 'pass',
      isolation: { label: 'flaky', first: { verdict: 'fail', failed_rung: 'functional' } },
      flags: { clean_teardown: true },
    });
    const first = JSON.parse(await readFile(join(outDir, 'first-run', 'results.json'), 'utf8'));
    expect(first).toMatchObject({ verdict: 'fail', flags: { clean_teardown: true } });
  }, 300_000);
});
