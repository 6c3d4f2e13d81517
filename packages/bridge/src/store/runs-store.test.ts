import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { Isolation } from '@cc-ci/harness-core';
import { FLAKY_ISOLATION, makeResults } from '../../test/support/results.js';
import { migrate, openDatabase, type Db } from '../adapters/sqlite/database.js';
import { MIGRATIONS } from '../adapters/sqlite/migrations/index.js';
import { RunsStore } from './runs-store.js';

let db: Db | null = null;
afterEach(() => {
  db?.close();
  db = null;
});

const isolation = (label: Isolation['label']): Isolation => ({
  ...FLAKY_ISOLATION,
  label,
  rerun:
    label === 'flaky'
      ? FLAKY_ISOLATION.rerun
      : { ...FLAKY_ISOLATION.first, duration_ms: 900, concurrent_runs: 0 },
  differences: [],
});

/** Run `n` of `recipe`, started n minutes into the day. */
function results(recipe: string, n: number, label?: Isolation['label']) {
  const started = new Date(Date.UTC(2026, 10, 22, 8, n)).toISOString();
  return makeResults({
    run_id: `${recipe}-${n}`,
    recipe,
    started,
    finished: started,
    ...(label ? { isolation: isolation(label) } : {}),
  });
}

function save(store: RunsStore, recipe: string, n: number, label?: Isolation['label']) {
  store.saveResults(`${recipe}-${n}`, { results: results(recipe, n, label), junit: {}, log: '' });
}

describe("a run's isolation label", () => {
  it('is stored from results.isolation.label on upload, and a replaced upload replaces it', () => {
    db = openDatabase({ path: ':memory:' });
    const store = new RunsStore(db);
    save(store, 'notes', 1, 'flaky');
    save(store, 'notes', 2);
    save(store, 'notes', 3, 'changed');
    expect(store.runView('notes-1')?.isolation).toBe('flaky');
    expect(store.runView('notes-2')?.isolation).toBeNull();
    expect(store.runView('notes-3')?.isolation).toBe('changed');
    expect(store.listRuns({ limit: 10 }).runs.map((r) => r.isolation)).toEqual([
      'changed',
      null,
      'flaky',
    ]);
    save(store, 'notes', 1);
    expect(store.runView('notes-1')?.isolation).toBeNull();
    save(store, 'notes', 2, 'genuine');
    expect(store.getRun('notes-2')?.isolation).toBe('genuine');
  });

  it('is backfilled by the migration from results stored before it', () => {
    db = openDatabase({ path: ':memory:', migrations: MIGRATIONS.filter((m) => m.version < 22) });
    const insert = db.prepare(
      `INSERT INTO runs (run_id, recipe, status, created_at, updated_at) VALUES (?, 'notes', 'finished', ?, ?)`,
    );
    const stored = db.prepare(
      `INSERT INTO run_results (run_id, results_json, junit_json, log, received_at) VALUES (?, ?, '{}', '', ?)`,
    );
    const ts = '2026-11-22T08:00:00.000Z';
    for (const [id, label] of [
      ['1', 'flaky'],
      ['2', undefined],
      ['3', 'genuine'],
    ] as const) {
      insert.run(id, ts, ts);
      stored.run(id, JSON.stringify(results('notes', Number(id), label)), ts);
    }
    insert.run('4', ts, ts); // no results: stays null
    expect(migrate(db, MIGRATIONS)).toEqual([22]);
    const rows = db.prepare('SELECT run_id, isolation FROM runs ORDER BY run_id').all();
    expect(rows).toEqual([
      { run_id: '1', isolation: 'flaky' },
      { run_id: '2', isolation: null },
      { run_id: '3', isolation: 'genuine' },
      { run_id: '4', isolation: null },
    ]);
  });
});

describe('flaky recently', () => {
  it("counts flaky labels among each recipe's last 10 runs, by recipe", () => {
    db = openDatabase({ path: ':memory:' });
    const store = new RunsStore(db);
    // notes: 12 runs; flaky at 0 (out of the window), 5 and 11.
    for (let n = 0; n < 12; n++)
      save(store, 'notes', n, [0, 5, 11].includes(n) ? 'flaky' : undefined);
    // keycloak: 3 runs, one flaky, one genuine (not flaky).
    save(store, 'keycloak', 0, 'flaky');
    save(store, 'keycloak', 1, 'genuine');
    save(store, 'keycloak', 2);
    // gitea: its only flaky run is older than its last 10.
    for (let n = 0; n < 11; n++) save(store, 'gitea', n, n === 0 ? 'flaky' : undefined);
    // wiki: genuine and changed only.
    save(store, 'wiki', 0, 'genuine');
    save(store, 'wiki', 1, 'changed');
    expect(store.flakyRecently()).toEqual([
      { recipe: 'keycloak', flaky: 1, runs: 3 },
      { recipe: 'notes', flaky: 2, runs: 10 },
    ]);
    expect(store.flakyRecently(12)).toEqual([
      { recipe: 'gitea', flaky: 1, runs: 11 },
      { recipe: 'keycloak', flaky: 1, runs: 3 },
      { recipe: 'notes', flaky: 3, runs: 12 },
    ]);
  });

  it('is empty without flaky runs; the partial index runs_flaky answers which recipes have one', () => {
    db = openDatabase({ path: ':memory:' });
    const store = new RunsStore(db);
    save(store, 'notes', 0, 'genuine');
    expect(store.flakyRecently()).toEqual([]);
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN SELECT DISTINCT recipe FROM runs WHERE isolation = 'flaky'`)
      .all() as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join('\n')).toContain('runs_flaky');
  });
});

describe('one stored artifact', () => {
  it('is read alone: a JUnit file or the log, without parsing the rest of the upload', () => {
    db = openDatabase({ path: ':memory:' });
    const store = new RunsStore(db);
    store.saveResults('notes-1', {
      results: results('notes', 1),
      junit: { 'install.xml': '<testsuite name="install"/>', 'lint.xml': '<testsuite/>' },
      log: 'line 1\nline 2\n',
    });
    // Were every artifact still parsed to serve one, these would throw.
    db.prepare(`UPDATE run_results SET results_json = 'not json' WHERE run_id = 'notes-1'`).run();
    expect(store.junitFile('notes-1', 'install.xml')).toBe('<testsuite name="install"/>');
    expect(store.junitFile('notes-1', 'lint.xml')).toBe('<testsuite/>');
    expect(store.junitFile('notes-1', 'upgrade.xml')).toBeNull();
    expect(store.junitFile('notes-2', 'install.xml')).toBeNull();
    expect(store.runLog('notes-1')).toBe('line 1\nline 2\n');
    expect(store.runLog('notes-2')).toBeNull();
  });
});

describe('regressionOf', () => {
  it('judges the row it is handed without reading the run again', () => {
    db = openDatabase({ path: ':memory:' });
    const store = new RunsStore(db);
    const at = (n: number) => new Date(Date.UTC(2026, 10, 22, 8, n)).toISOString();
    const run = (n: number, version: string, level: number, verdict: 'pass' | 'fail') =>
      store.saveResults(`notes-${n}`, {
        results: makeResults({
          run_id: `notes-${n}`,
          version,
          level,
          verdict,
          started: at(n),
          finished: at(n),
        }),
        junit: {},
        log: '',
      });
    run(1, '0.3.0+1.35.0', 1, 'pass');
    run(2, '0.4.0+1.36.0', 0, 'fail');
    const row = store.getRun('notes-2')!;
    const getRun = jest.spyOn(store, 'getRun');
    expect(store.regressionOf(row)).toMatchObject({
      runId: 'notes-2',
      previousRunId: 'notes-1',
      previousLevel: 1,
    });
    expect(store.regressionOf(store.getRun('notes-1')!)).toBeNull();
    expect(getRun).toHaveBeenCalledTimes(1); // the test's own call above
  });
});

describe('what the status page reads on every request', () => {
  it('is computed once per write and reflects every write at once, from any store on the connection', () => {
    db = openDatabase({ path: ':memory:' });
    const store = new RunsStore(db);
    const other = new RunsStore(db); // e.g. the intake engine's
    save(store, 'notes', 1);
    const first = store.latestPerRecipe();
    expect(first.map((r) => [r.runId, r.verdict])).toEqual([['notes-1', 'pass']]);
    expect(store.latestPerRecipe()).toBe(first); // no write in between: the same answer
    other.insertForeign({
      runId: '77',
      recipe: 'notes',
      repo: 'recipe-maintainers/notes',
      pr: 3,
      ref: 'a'.repeat(40),
      quick: false,
      status: 'queued',
      droneStatus: 'pending',
      link: null,
      created: '2026-11-23T08:00:00.000Z',
    });
    expect(store.latestPerRecipe().map((r) => [r.runId, r.status])).toEqual([['77', 'queued']]);
    other.setProgress('77', { install: 'running' });
    expect(store.latestPerRecipe().map((r) => [r.runId, r.status])).toEqual([['77', 'running']]);
    save(other, 'notes', 2, 'flaky');
    expect(store.flakyRecently().map((f) => f.recipe)).toEqual(['notes']);
  });

  it('recomputes only the recipes written since, and answers what a full read answers', () => {
    db = openDatabase({ path: ':memory:' });
    const store = new RunsStore(db);
    for (const recipe of ['alpha', 'beta', 'gamma'])
      for (let n = 1; n <= 3; n++) save(store, recipe, n);
    const before = store.latestPerRecipe();
    const beta = before.find((r) => r.recipe === 'beta');
    // A failing newer release of alpha only: alpha is re-read, beta's answer is the same object.
    store.saveResults('alpha-9', {
      results: makeResults({
        ...results('alpha', 9),
        version: '0.4.0+1.35.0',
        verdict: 'fail',
        level: 0,
      }),
      junit: {},
      log: '',
    });
    const after = store.latestPerRecipe();
    expect(after.find((r) => r.recipe === 'beta')).toBe(beta);
    expect(after.find((r) => r.recipe === 'alpha')?.runId).toBe('alpha-9');
    // A store that never read before computes everything: the same answers.
    const fresh = new RunsStore(db);
    expect(after).toEqual(fresh.latestPerRecipe());
    expect(store.regressions()).toEqual(fresh.regressions());
    expect(store.flakyRecently()).toEqual(fresh.flakyRecently());
  });
});
