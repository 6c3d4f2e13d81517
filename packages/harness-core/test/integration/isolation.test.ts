/**
 * The isolation re-run on the real local swarm (docs/isolation.md): a run that fails only the
 * first time on a host is labelled flaky and passes; one that always fails is genuine; the
 * re-run never overlaps another run's deploy (runs started at once and during the re-run);
 * cc-ci.yml `isolation_rerun: false` turns it off.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IsolationPolicy } from '../../src/domain/isolation.js';
import type { TierName } from '../../src/domain/results.js';
import { ISOLATION_SLOT } from '../../src/lifecycle/host-slot.js';
import { runWithIsolation } from '../../src/lifecycle/isolation.js';
import { fileLocks } from '../../src/lifecycle/locks.js';
import {
  fixture,
  fixtureConfigDir,
  forceRemoveStack,
  recipeRepo,
  recordingLogger,
  runDir,
  stackObjects,
} from '../support/fixtures.js';

const stacks: string[] = [];
afterAll(async () => {
  for (const s of stacks) await forceRemoveStack(s);
}, 180_000);

let repo: Promise<{ path: string; head: string }> | null = null;
const customFailRepo = () => (repo ??= recipeRepo(fixture('tier-custom-fail')));

async function isolatedRun(
  recipe: string,
  policy: IsolationPolicy,
  stateDir: string,
  stages: TierName[] = ['install', 'custom'],
) {
  const { path, head } = await customFailRepo();
  const outDir = await runDir();
  const log = recordingLogger();
  const runId = `i${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const outcome = await runWithIsolation(
    {
      recipe,
      src: path,
      ref: head,
      pr: 4,
      stages,
      quick: false,
      outDir,
      runId,
      configDir: fixtureConfigDir,
      deployer: 'docker',
      domainSuffix: 'ci.localhost',
    },
    { log, signal: new AbortController().signal },
    { stateDir, slotPollMs: 300 },
    policy,
  );
  const stack = outcome.results.domain.replace(/\./g, '_');
  stacks.push(stack);
  expect(await stackObjects(stack)).toEqual([]);
  return { outcome, r: outcome.results, outDir, log, stack };
}

/** [lock held, lock released] of the run whose run.log this is, from its timestamps. */
async function lockWindow(runLog: string): Promise<[number, number]> {
  const lines = (await readFile(runLog, 'utf8')).split('\n');
  const at = (needle: RegExp) => {
    const line = lines.find((l) => needle.test(l));
    if (!line) throw new Error(`${runLog} has no line matching ${needle}`);
    return Date.parse(line.slice(0, 24));
  };
  return [at(/\(lock held\)/), at(/ lock released$/)];
}

const overlaps = (a: [number, number], b: [number, number]) => a[0] < b[1] && b[0] < a[1];

describe('isolation re-run', () => {
  it('labels a run that failed only under company flaky, passes it, and never overlaps another run', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'ccci-iso-state-'));
    // A fails its first run on this host (the canary's marker) while B deploys beside it.
    const a = isolatedRun('canary-flaky-first', 'on-failure', stateDir);
    const b = isolatedRun('tier-custom-fail', 'off', stateDir, ['install']);
    // C starts while A's re-run holds the host: it must wait for the slot.
    const c = (async () => {
      const slotFile = join(stateDir, 'locks', `${ISOLATION_SLOT}.lock`);
      for (let i = 0; i < 600 && !existsSync(slotFile); i++)
        await new Promise((r) => setTimeout(r, 200));
      expect(existsSync(slotFile)).toBe(true);
      return isolatedRun('tier-custom-fail', 'off', stateDir, ['install']);
    })();
    const [ra, rb, rc] = await Promise.all([a, b, c]);

    expect(ra.r.verdict).toBe('pass');
    expect(ra.outcome.exitCode).toBe(0);
    const iso = ra.r.isolation!;
    expect(iso.label).toBe('flaky');
    expect(iso.first).toMatchObject({ verdict: 'fail', failed_rung: 'functional' });
    expect(iso.first.concurrent_runs).toBeGreaterThanOrEqual(1);
    expect(iso.rerun).toMatchObject({ verdict: 'pass', concurrent_runs: 0 });
    expect(iso.differences.join('\n')).toMatch(/load: the first run shared the swarm with \d/);
    expect(iso.differences.join('\n')).toMatch(
      /timing: custom took [\d.]+ s in the first run and [\d.]+ s alone/,
    );
    const first = JSON.parse(
      await readFile(join(ra.outDir, iso.first_dir, 'results.json'), 'utf8'),
    ) as { verdict: string };
    expect(first.verdict).toBe('fail');
    expect(await readFile(join(ra.outDir, 'junit', 'custom.xml'), 'utf8')).toContain(
      '<property name="isolation" value="flaky"/>',
    );

    // Nobody deployed while the re-run held the host, and C said it waited.
    const rerun = await lockWindow(join(ra.outDir, 'run.log'));
    const firstA = await lockWindow(join(ra.outDir, iso.first_dir, 'run.log'));
    const wb = await lockWindow(join(rb.outDir, 'run.log'));
    const wc = await lockWindow(join(rc.outDir, 'run.log'));
    expect(overlaps(firstA, wb)).toBe(true);
    expect(overlaps(rerun, wb)).toBe(false);
    expect(overlaps(rerun, wc)).toBe(false);
    expect(wc[0]).toBeGreaterThanOrEqual(rerun[1]);
    expect(rc.log.lines).toContain(
      'waiting for the host: an isolation re-run has the host to itself',
    );
    expect(rb.r.isolation).toBeUndefined();
    // The slot is free again.
    expect(await fileLocks(stateDir).isHeld(ISOLATION_SLOT)).toBe(false);
  }, 600_000);

  it('labels a run that fails alone at the same rung genuine, and keeps the fail', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'ccci-iso-state-'));
    const { r, outcome, log } = await isolatedRun('tier-custom-fail', 'on-failure', stateDir);
    expect(r.verdict).toBe('fail');
    expect(outcome.exitCode).toBe(1);
    expect(r.isolation).toMatchObject({
      label: 'genuine',
      first: { verdict: 'fail', failed_rung: 'functional', concurrent_runs: 0 },
      rerun: { verdict: 'fail', failed_rung: 'functional', concurrent_runs: 0 },
    });
    expect(r.isolation!.differences).toContain(
      'load: neither run shared the swarm, so load does not explain a difference',
    );
    expect(log.lines.some((l) => /^isolation re-run: genuine — /.test(l))).toBe(true);
  }, 600_000);

  it('does not re-run when cc-ci.yml turns it off, nor a lone run under the Drone default', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'ccci-iso-state-'));
    const off = await isolatedRun('canary-no-isolation', 'on-failure', stateDir);
    expect(off.r.verdict).toBe('fail');
    expect(off.r.isolation).toBeUndefined();
    expect(off.log.lines).toContain(
      'no isolation re-run: turned off in cc-ci.yml (isolation_rerun: false)',
    );
    expect(existsSync(join(off.outDir, 'first-run'))).toBe(false);

    const alone = await isolatedRun('tier-custom-fail', 'when-shared', stateDir);
    expect(alone.r.isolation).toBeUndefined();
    expect(alone.log.lines).toContain(
      'no isolation re-run: the run had the swarm to itself, so a re-run alone would repeat it',
    );
  }, 600_000);
});
