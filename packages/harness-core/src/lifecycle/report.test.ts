import { describe, expect, it } from '@jest/globals';
import { ResultsSchema } from '../domain/results.js';
import { stageOf } from './rungs.js';
import { RunState } from './run-state.js';
import { buildResults, type ReportInput } from './report.js';
import type { RunOptions } from './types.js';

const options: RunOptions = {
  recipe: 'ledger',
  src: '/tmp/ledger',
  ref: 'abc',
  pr: 7,
  stages: ['install', 'upgrade', 'backup', 'restore', 'custom', 'lint'],
  quick: false,
  outDir: '/tmp/out',
  runId: 'r1',
  configDir: '/tmp/recipes',
  deployer: 'docker',
  domainSuffix: 'ci.localhost',
};

function input(state: RunState): ReportInput {
  return {
    options,
    state,
    head: { version: '0.3.0+1.2', commit: 'a'.repeat(40) },
    ref: 'abc',
    domain: 'ledg-1.ci.localhost',
    stack: 'ledg-1_ci_localhost',
    deployerKind: 'docker',
    started: new Date('2026-12-03T01:00:00Z'),
    finished: new Date('2026-12-03T01:02:00Z'),
  };
}

function greenState(): RunState {
  const state = new RunState(new Set(options.stages));
  for (const tier of ['install', 'upgrade', 'backup', 'restore', 'custom'] as const)
    state.setStage(tier, stageOf('pass', 1000, []));
  state.setStage(
    'lint',
    stageOf('unver', 0, [], { reason: 'abra not installed', code: 'TOOL_MISSING' }),
  );
  state.deployCount = 1;
  state.baseVersion = '0.2.0+1.1';
  state.teardown = { clean: true, leftovers: [], errors: [] };
  return state;
}

const canonical = {
  recipe: 'ledger',
  version: '0.2.0+1.1',
  commit: 'c'.repeat(40),
  domain: 'warm-ledger-1.ci.localhost',
  stack: 'warm-ledger-1_ci_localhost',
  run_id: 'sweep-ledger-1',
  ts: '2026-12-01T00:00:00.000Z',
};

describe('buildResults of a quick run', () => {
  it('is mode quick with the canonical it used, restored as the restore found', () => {
    const state = greenState();
    state.quick = {
      canonical,
      headDeployed: true,
      restore: { restored: true, detail: 'the canonical runs 0.2.0+1.1 again' },
    };
    const r = buildResults(input(state));
    expect(ResultsSchema.parse(r)).toEqual(r);
    expect(r.mode).toBe('quick');
    expect(r.quick).toEqual({
      canonical: {
        version: '0.2.0+1.1',
        commit: 'c'.repeat(40),
        stack: 'warm-ledger-1_ci_localhost',
        domain: 'warm-ledger-1.ci.localhost',
      },
      head_deployed: true,
      snapshot_restored: true,
      restore_detail: 'the canonical runs 0.2.0+1.1 again',
    });
    expect(r.flags.clean_teardown).toBe(true);
  });

  it('counts a canonical not put back as something the run left behind', () => {
    const state = greenState();
    state.quick = { canonical, restore: { restored: false, detail: 'restore failed' } };
    const r = buildResults(input(state));
    expect(r.quick?.snapshot_restored).toBe(false);
    expect(r.flags.clean_teardown).toBe(false);
  });

  it('a run that ended before the restore is not restored', () => {
    const state = greenState();
    state.quick = { canonical };
    expect(buildResults(input(state)).quick).toMatchObject({
      snapshot_restored: false,
      restore_detail: 'the run ended before the canonical was put back',
    });
  });

  it('is mode cold with the reason when the quick run ran cold', () => {
    const state = greenState();
    state.quick = { canonical: null, coldReason: 'there is no warm canonical' };
    const r = buildResults(input(state));
    expect(ResultsSchema.parse(r)).toEqual(r);
    expect(r.mode).toBe('cold');
    expect(r.quick).toEqual({
      canonical: null,
      cold_reason: 'there is no warm canonical',
      snapshot_restored: null,
    });
  });

  it('has no quick block when none was asked for', () => {
    expect(buildResults(input(greenState())).quick).toBeUndefined();
  });
});

describe('buildResults', () => {
  it('turns a green run into a schema-valid level 4 pass', () => {
    const r = buildResults(input(greenState()));
    expect(ResultsSchema.parse(r)).toEqual(r);
    expect(r).toMatchObject({
      verdict: 'pass',
      level: 4,
      base_version: '0.2.0+1.1',
      deploy_count: 1,
      flags: { clean_teardown: true, no_secret_leak: true },
      meta: { deployer: 'docker' },
      started: '2026-12-03T01:00:00.000Z',
    });
    expect(Object.keys(r.stages)).toEqual([
      'install',
      'upgrade',
      'backup',
      'restore',
      'custom',
      'lint',
    ]);
  });

  it('a failed restore fails the verdict and stops the level at the upgrade', () => {
    const state = greenState();
    state.setStage(
      'restore',
      stageOf('fail', 10, [], { reason: 'rows missing', code: 'RESTORE_FAILED' }),
    );
    const r = buildResults(input(state));
    expect(r.verdict).toBe('fail');
    expect(r.level).toBe(2);
    expect(r.rungs.backup_restore).toMatchObject({ status: 'fail', reason: 'rows missing' });
  });

  it('an aborted run is an error whatever its stages say, and records its error', () => {
    const state = greenState();
    state.aborted = true;
    state.error = 'the run was aborted (SIGTERM/SIGINT)';
    const r = buildResults(input(state));
    expect(r.verdict).toBe('error');
    expect(r.error).toBe('the run was aborted (SIGTERM/SIGINT)');
  });

  it('records a kept warm deploy and the diagnostics', () => {
    const state = greenState();
    state.keptWarm = true;
    state.diagnostics = ['diagnostics/app.log'];
    const r = buildResults(input(state));
    expect(r.meta?.kept_warm).toEqual({
      stack: 'ledg-1_ci_localhost',
      domain: 'ledg-1.ci.localhost',
    });
    expect(r.diagnostics).toEqual(['diagnostics/app.log']);
  });
});

describe('RunState', () => {
  it('reports every decided stage and start as progress, and a throwing listener never breaks the run', () => {
    const seen: string[] = [];
    const state = new RunState(new Set(['install'] as const), (tier, status) => {
      seen.push(`${tier}:${status}`);
      throw new Error('listener broke');
    });
    state.progress('install', 'running');
    state.setStage('install', stageOf('pass', 1, []));
    expect(seen).toEqual(['install:running', 'install:pass']);
    expect(state.troubled).toBe(false);
    state.setStage('lint', stageOf('unver', 0, []));
    expect(state.troubled).toBe(true);
  });
});
