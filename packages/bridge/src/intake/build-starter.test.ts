import { afterEach, describe, expect, it } from '@jest/globals';
import { Counter, Registry } from 'prom-client';
import type { Build } from '../adapters/drone/translate.js';
import { UpstreamError } from '../adapters/http/http-client.js';
import { openDatabase, type Db } from '../adapters/sqlite/database.js';
import { BuildStarter } from './build-starter.js';
import { IntakeStore } from './intake-store.js';
import { TriggerFailures } from './trigger-failures.js';

const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const NOW = Date.parse('2026-05-01T10:00:00.000Z');
let dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs) db.close();
  dbs = [];
});

/**
 * The build starter over a real store in memory and a fake Drone whose next create can be made
 * to reach Drone and then fail (the answer lost), as a crash or a timeout would.
 */
function setup(o: { maxConcurrentRuns?: number } = {}) {
  const db = openDatabase({ path: ':memory:' });
  dbs.push(db);
  const store = new IntakeStore(db, () => new Date(NOW));
  const builds: Build[] = [];
  let loseNextAnswer = false;
  let stopping = false;
  const drone = {
    createBuild: async (params: Record<string, string>) => {
      const number = builds.length + 1;
      const b: Build = {
        number,
        status: 'pending',
        done: false,
        event: 'custom',
        params,
        createdAt: NOW,
        parent: null,
        error: null,
        link: `https://drone.example/ops/cc-ci/${number}`,
      };
      builds.push(b);
      if (loseNextAnswer) {
        loseNextAnswer = false;
        throw new UpstreamError('drone', 'drone: request timed out', null, true);
      }
      return b;
    },
    listBuilds: async (page: number) => (page === 1 ? [...builds].reverse() : []),
  };
  const triggers = new Counter({
    name: 'ccci_triggers_total',
    help: 'test',
    labelNames: ['outcome'] as const,
    registers: [new Registry()],
  });
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const starter = new BuildStarter({
    drone,
    store,
    triggers,
    log: quiet,
    failures: new TriggerFailures({
      store,
      triggers,
      log: quiet,
      noteFailure: () => undefined,
      retryDelay: () => 0,
      maxAttempts: 60,
    }),
    limit: (task) => task(),
    runTokens: null,
    maxConcurrentRuns: o.maxConcurrentRuns ?? 2,
    stopping: () => stopping,
  });
  /** A trusted trigger on PR `pr`, queued on SHA from `src`. */
  const queued = (pr: number, src = 'https://git.example/recipes/notes.git') => {
    const id = store.insertTrigger({
      key: `gitea-comment:${pr}00`,
      repo: 'recipes/notes',
      pr,
      commentId: pr * 100,
      commenter: 'alice',
      quick: false,
      state: 'accepted',
      source: 'poll',
    });
    store.queue(store.trigger(id)!, SHA, src);
    return id;
  };
  return {
    store,
    starter,
    builds,
    queued,
    loseNextAnswer: () => (loseNextAnswer = true),
    stop: () => (stopping = true),
  };
}

describe('BuildStarter', () => {
  it('starts one Drone build per queued trigger, no more than the free run slots', async () => {
    const w = setup({ maxConcurrentRuns: 1 });
    const first = w.queued(7);
    const second = w.queued(8);
    await w.starter.startQueued();
    expect(w.builds.map((b) => b.params?.CCCI_TRIGGER)).toEqual(['gitea-comment:700']);
    expect(w.store.trigger(first)).toMatchObject({ state: 'building', build_number: 1 });
    expect(w.store.trigger(second)!.state).toBe('queued');
    await w.starter.startQueued();
    expect(w.builds).toHaveLength(1); // the slot is still taken
  });

  it('finds the build an attempt whose answer was lost created, instead of starting a second', async () => {
    const w = setup();
    const id = w.queued(7);
    w.loseNextAnswer();
    await w.starter.startQueued();
    expect(w.store.trigger(id)).toMatchObject({ state: 'queued', attempts: 1 });
    await w.starter.startQueued();
    expect(w.builds).toHaveLength(1);
    expect(w.store.trigger(id)).toMatchObject({ state: 'building', build_number: 1 });
  });

  it('fails a trigger whose build cannot be asked for, without calling Drone', async () => {
    const w = setup();
    const id = w.queued(7, 'not a url');
    await w.starter.startQueued();
    expect(w.builds).toEqual([]);
    expect(w.store.trigger(id)).toMatchObject({
      state: 'failed',
      reason: 'clone URL "not a url" is not a URL',
    });
  });

  it('starts nothing once the engine is stopping', async () => {
    const w = setup();
    w.queued(7);
    w.stop();
    await w.starter.startQueued();
    expect(w.builds).toEqual([]);
  });
});
