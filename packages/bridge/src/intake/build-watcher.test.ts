import { afterEach, describe, expect, it } from '@jest/globals';
import { isDone } from '../adapters/drone/drone-client.js';
import type { Build, BuildStatus } from '../adapters/drone/translate.js';
import { openDatabase, type Db } from '../adapters/sqlite/database.js';
import { RunsStore } from '../store/runs-store.js';
import { BuildWatcher } from './build-watcher.js';
import { IntakeStore } from './intake-store.js';

const GRACE_MS = 30_000;
const BLOCKED_MS = 3_600_000;
const START = Date.parse('2026-05-01T10:00:00.000Z');

/**
 * The watcher over a real store in memory, a fake Drone and one hand-moved clock shared by the
 * watcher and the store: no network, no sleeps, no timers.
 */
function setup() {
  let now = START;
  const clock = () => new Date(now);
  const db: Db = openDatabase({ path: ':memory:' });
  const store = new IntakeStore(db, clock);
  const runs = new RunsStore(db, clock);
  const builds = new Map<number, Build>();
  const watcher = new BuildWatcher({
    drone: {
      getBuild: async (n) => builds.get(n) ?? null,
      listBuilds: async (page) => (page === 1 ? [...builds.values()] : []),
    },
    store,
    log: { info: () => undefined, warn: () => undefined },
    now: () => now,
    repos: ['recipes/notes'],
    noResultsGraceMs: GRACE_MS,
    blockedTimeoutMs: BLOCKED_MS,
  });
  const build = (number: number, status: BuildStatus, extra: Partial<Build> = {}) =>
    builds.set(number, {
      number,
      status,
      done: isDone(status),
      event: 'custom',
      params: { RECIPE: 'notes', PR: '7', REF: 'refs/pull/7/head' },
      createdAt: Math.floor(now / 1000) * 1000,
      parent: null,
      error: null,
      link: `https://drone.example/ops/cc-ci/${number}`,
      ...extra,
    });
  const run = (id: number) => runs.getRun(String(id));
  return {
    db,
    watcher,
    build,
    run,
    drop: (n: number) => builds.delete(n),
    advance: (ms: number) => (now += ms),
  };
}

let open: Db[] = [];
afterEach(() => {
  for (const db of open) db.close();
  open = [];
});
const world = () => {
  const w = setup();
  open.push(w.db);
  return w;
};

describe('BuildWatcher', () => {
  it('tracks a build the bridge did not start as a run of its recipe, PR and ref', async () => {
    const w = world();
    w.build(41, 'running');
    await w.watcher.watchRuns();
    expect(w.run(41)).toMatchObject({
      recipe: 'notes',
      repo: 'recipes/notes',
      pr: 7,
      ref: 'refs/pull/7/head',
      status: 'running',
      build_link: 'https://drone.example/ops/cc-ci/41',
    });
  });

  it('ignores builds older than its cursor (less a minute), non-custom builds and bad recipes', async () => {
    const w = world();
    w.build(1, 'running', { createdAt: START - 61_000 });
    w.build(2, 'running', { event: 'push' });
    w.build(3, 'running', { params: { RECIPE: '../etc' } });
    w.build(4, 'running', { createdAt: START - 59_000 });
    await w.watcher.watchRuns();
    expect([1, 2, 3, 4].map((n) => w.run(n)?.status ?? null)).toEqual([
      null,
      null,
      null,
      'running',
    ]);
  });

  it('ends a finished build without results only after the grace period', async () => {
    const w = world();
    w.build(5, 'running');
    await w.watcher.watchRuns();
    w.build(5, 'failure', { error: 'exit 1' });
    await w.watcher.watchRuns();
    w.advance(GRACE_MS - 1);
    await w.watcher.watchRuns();
    expect(w.run(5)!.status).toBe('running');
    w.advance(1);
    await w.watcher.watchRuns();
    expect(w.run(5)).toMatchObject({
      status: 'error',
      drone_status: 'failure',
      error: 'no results uploaded (the Drone build ended: failure: exit 1)',
    });
  });

  it.each([
    ['declined', 'the Drone build #6 was declined by a Drone admin; nothing ran'],
    ['skipped', 'the Drone build #6 was skipped by Drone; nothing ran'],
  ] as const)('ends a %s build at once, with no grace period', async (status, message) => {
    const w = world();
    w.build(6, 'pending');
    await w.watcher.watchRuns();
    w.build(6, status);
    await w.watcher.watchRuns();
    expect(w.run(6)).toMatchObject({ status: 'error', error: message });
  });

  it('ends a run whose build no longer exists', async () => {
    const w = world();
    w.build(8, 'running');
    await w.watcher.watchRuns();
    w.drop(8);
    await w.watcher.watchRuns();
    expect(w.run(8)).toMatchObject({ status: 'error', error: 'the Drone build no longer exists' });
  });

  it('frees the slot of a build blocked longer than the blocked timeout, saying how long', async () => {
    const w = world();
    w.build(9, 'blocked');
    await w.watcher.watchRuns();
    w.advance(BLOCKED_MS - 1);
    await w.watcher.watchRuns();
    expect(w.run(9)).toMatchObject({ status: 'queued', drone_status: 'blocked' });
    w.advance(1);
    await w.watcher.watchRuns();
    expect(w.run(9)!.status).toBe('error');
    expect(w.run(9)!.error).toMatch(
      /^the Drone build #9 was blocked \(awaiting approval in Drone\) for 60 min, longer than CCCI_BLOCKED_TIMEOUT_S/,
    );
  });

  it('starts the blocked clock again when an approved build is blocked later', async () => {
    const w = world();
    w.build(10, 'blocked');
    await w.watcher.watchRuns();
    w.advance(BLOCKED_MS - 1_000);
    w.build(10, 'running');
    await w.watcher.watchRuns();
    w.build(10, 'waiting_on_dependencies');
    await w.watcher.watchRuns();
    w.advance(BLOCKED_MS - 1_000);
    await w.watcher.watchRuns();
    expect(w.run(10)).toMatchObject({ status: 'queued', drone_status: 'waiting_on_dependencies' });
    w.advance(1_000);
    await w.watcher.watchRuns();
    expect(w.run(10)!.error).toMatch(/^the Drone build #10 was waiting on dependencies for 60 min/);
  });
});
