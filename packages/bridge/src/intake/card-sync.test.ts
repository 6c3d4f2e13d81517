import { afterEach, describe, expect, it } from '@jest/globals';
import type { GiteaComment, StatusInput } from '../adapters/gitea/gitea-client.js';
import { UpstreamError } from '../adapters/http/http-client.js';
import { openDatabase, type Db } from '../adapters/sqlite/database.js';
import { CARD_MARKER } from '../domain/card.js';
import { RunsStore } from '../store/runs-store.js';
import { CardSync, STATUS_CONTEXT } from './card-sync.js';
import { IntakeStore } from './intake-store.js';

const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const REPO = 'recipes/notes';
let dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs) db.close();
  dbs = [];
});

/**
 * Card sync over a real store in memory, a fake Gitea (comments and statuses in memory) and one
 * hand-moved clock shared by the store and the worker: no network, no sleeps, no timers.
 */
function setup() {
  let now = Date.parse('2026-05-01T10:00:00.000Z');
  const db = openDatabase({ path: ':memory:' });
  dbs.push(db);
  const store = new IntakeStore(db, () => new Date(now));
  const runs = new RunsStore(db, () => new Date(now));
  const comments = new Map<number, string>();
  const statuses: StatusInput[] = [];
  let failStatus = false;
  let edits = 0;
  const wire = (id: number, body: string): GiteaComment => ({
    id,
    body,
    user: { login: 'ccci-bot' },
    created_at: '',
    updated_at: '',
    pull_request_url: '',
    html_url: '',
  });
  const gitea = {
    createComment: async (_repo: string, _pr: number, body: string) => {
      const id = 500 + comments.size;
      comments.set(id, body);
      return wire(id, body);
    },
    editComment: async (_repo: string, id: number, body: string) => {
      if (!comments.has(id)) return null;
      edits++;
      comments.set(id, body);
      return wire(id, body);
    },
    createStatus: async (_repo: string, _sha: string, s: StatusInput) => {
      if (failStatus) throw new UpstreamError('gitea', 'gitea answered 502', 502, true);
      statuses.push(s);
    },
  };
  const cards = new CardSync({
    gitea,
    store,
    runs,
    bot: { findOwnComment: async () => null },
    log: { warn: () => undefined },
    noteFailure: () => undefined,
    retryDelay: (attempts) => 1_000 * (attempts + 1),
    limit: (task) => task(),
    now: () => now,
    publicUrl: 'https://ci.example/',
    progressMinIntervalMs: 5_000,
  });
  const id = store.insertTrigger({
    key: 'gitea-comment:1',
    repo: REPO,
    pr: 7,
    commentId: 1,
    commenter: 'alice',
    quick: false,
    state: 'accepted',
    source: 'poll',
  });
  store.queue(store.trigger(id)!, SHA, 'https://git.example/recipes/notes.git');
  const startBuild = (status = 'pending') =>
    store.building(store.trigger(id)!, { number: 41, link: null, status, recipe: 'notes' });
  return {
    store,
    cards,
    comments,
    statuses,
    id,
    startBuild,
    edits: () => edits,
    failStatus: (v: boolean) => (failStatus = v),
    advance: (ms: number) => (now += ms),
  };
}

describe('CardSync', () => {
  it('posts one card and a pending status for a queued trigger, then edits that card', async () => {
    const w = setup();
    await w.cards.syncCards();
    expect([...w.comments.values()]).toHaveLength(1);
    expect([...w.comments.values()][0]!.startsWith(CARD_MARKER)).toBe(true);
    expect(w.statuses).toEqual([
      {
        state: 'pending',
        target_url: 'https://ci.example/recipes/notes',
        description: 'queued',
        context: STATUS_CONTEXT,
      },
    ]);
    w.startBuild();
    await w.cards.syncCards();
    expect(w.comments.size).toBe(1);
    expect(w.edits()).toBe(1);
    expect(w.statuses[1]).toMatchObject({
      state: 'pending',
      target_url: 'https://ci.example/runs/41',
      description: 'started',
    });
  });

  it('does nothing while the card is up to date', async () => {
    const w = setup();
    await w.cards.syncCards();
    await w.cards.syncCards();
    expect(w.statuses).toHaveLength(1);
  });

  it.each([
    ['queued', null, { kind: 'queued', position: 1 }],
    [
      'blocked',
      'blocked',
      {
        kind: 'started',
        note: 'The Drone build is blocked: it waits for a Drone admin to approve it.',
      },
    ],
  ] as const)('shows a %s run with its card state', (_what, drone, state) => {
    const w = setup();
    if (drone) w.startBuild(drone);
    expect(w.cards.view(w.store.trigger(w.id)!).state).toEqual(state);
  });

  it('edits progress at most once per progressMinIntervalMs of the injected clock', async () => {
    const w = setup();
    w.startBuild();
    await w.cards.syncCards();
    w.store.setProgress('41', { install: 'running' });
    w.advance(4_999);
    await w.cards.syncCards();
    expect(w.edits()).toBe(0);
    w.advance(1);
    await w.cards.syncCards();
    expect(w.edits()).toBe(1);
    expect(w.statuses.at(-1)!.description).toBe('running: install');
  });

  it('retries a failed status later, after the policy delay', async () => {
    const w = setup();
    w.failStatus(true);
    await w.cards.syncCards();
    expect(w.store.card(REPO, 7)).toMatchObject({
      attempts: 1,
      last_error: 'gitea answered 502',
      next_attempt_at: new Date(Date.parse('2026-05-01T10:00:00.000Z') + 1_000).toISOString(),
    });
    w.failStatus(false);
    await w.cards.syncCards();
    expect(w.statuses).toEqual([]); // not due yet
    w.advance(1_000);
    await w.cards.syncCards();
    expect(w.statuses).toHaveLength(1);
    expect(w.comments.size).toBe(1); // the card posted by the failed attempt is reused
  });
});
