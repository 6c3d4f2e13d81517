import { afterEach, describe, expect, it } from '@jest/globals';
import { Counter, Registry } from 'prom-client';
import { openDatabase, type Db } from '../adapters/sqlite/database.js';
import { CommentIntake } from './comment-intake.js';
import { IntakeStore, type CommentEvent } from './intake-store.js';

const REPO = 'recipes/notes';
let dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs) db.close();
  dbs = [];
});

/** Comment intake over a real store in memory and a real counter; the bot login is settable. */
function setup(bot: string | null = 'ccci-bot') {
  const db = openDatabase({ path: ':memory:' });
  dbs.push(db);
  const store = new IntakeStore(db, () => new Date('2026-05-01T10:00:00Z'));
  const triggers = new Counter({
    name: 'ccci_triggers_total',
    help: 'test',
    labelNames: ['outcome'] as const,
    registers: [new Registry()],
  });
  const intake = new CommentIntake({
    store,
    triggers,
    log: { info: () => undefined },
    repos: [REPO],
    botLogin: () => bot,
  });
  const counted = async () =>
    Object.fromEntries((await triggers.get()).values.map((v) => [v.labels.outcome, v.value]));
  return { store, intake, counted };
}

let nextId = 100;
const comment = (body: string, o: Partial<CommentEvent> = {}): CommentEvent => ({
  repo: REPO,
  pr: 7,
  commentId: nextId++,
  updatedAt: '2026-05-01T09:59:00Z',
  body,
  login: 'alice',
  ...o,
});

const delivery = (ev: CommentEvent, action = 'created') =>
  JSON.stringify({
    action,
    is_pull: true,
    issue: { number: ev.pr },
    comment: {
      id: ev.commentId,
      body: ev.body,
      updated_at: ev.updatedAt,
      user: { login: ev.login },
    },
    repository: { full_name: ev.repo },
  });

describe('CommentIntake', () => {
  it('turns a !testme on an enrolled repository into one accepted trigger', async () => {
    const { store, intake, counted } = setup();
    expect(intake.ingest(comment('!testme --quick'), 'poll')).toBe('triggered');
    expect(store.recentTriggers(10)).toMatchObject([
      { repo: REPO, pr: 7, commenter: 'alice', quick: 1, state: 'accepted', source: 'poll' },
    ]);
    expect(await counted()).toEqual({ accepted: 1 });
  });

  it('handles a comment once whichever path sees it again', async () => {
    const { store, intake, counted } = setup();
    const ev = comment('!testme');
    expect(intake.ingest(ev, 'webhook')).toBe('triggered');
    expect(intake.ingest(ev, 'poll')).toBe('duplicate');
    store.saveDelivery('d-1', 'pull_request_comment', delivery(ev));
    intake.processDeliveries();
    expect(store.recentTriggers(10)).toHaveLength(1);
    expect(store.pendingDeliveries()).toEqual([]);
    expect(await counted()).toEqual({ accepted: 1 });
  });

  it.each([
    ['a plain comment', comment('looks good to me'), 'ignored'],
    ['our own comment', comment('!testme', { login: 'CCCI-Bot' }), 'own'],
    ['a command on a repository not enrolled', comment('!testme foo', { repo: 'x/y' }), 'ignored'],
  ])('writes nothing for %s', async (_what, ev, outcome) => {
    const { store, intake, counted } = setup();
    expect(intake.ingest(ev, 'poll')).toBe(outcome);
    expect(store.recentTriggers(10)).toEqual([]);
    expect(store.dueReplies()).toEqual([]);
    expect(await counted()).toEqual({});
  });

  it('answers a malformed command with the grammar, and starts nothing', async () => {
    const { store, intake, counted } = setup();
    const ev = comment('!testme please');
    expect(intake.ingest(ev, 'poll')).toBe('malformed');
    expect(store.recentTriggers(10)).toEqual([]);
    expect(store.dueReplies()).toMatchObject([{ in_reply_to: ev.commentId, kind: 'malformed' }]);
    expect(await counted()).toEqual({ malformed: 1 });
  });

  it('refuses a !testme on a repository not enrolled, with a recorded trigger and a reply', async () => {
    const { store, intake, counted } = setup();
    const ev = comment('!testme', { repo: 'someone/else' });
    expect(intake.ingest(ev, 'webhook')).toBe('unknown_repo');
    expect(store.recentTriggers(10)).toMatchObject([
      {
        repo: 'someone/else',
        state: 'unknown_repo',
        reason: expect.stringContaining('CCCI_REPOS'),
      },
    ]);
    expect(store.dueReplies()).toMatchObject([{ kind: 'unknown_repo' }]);
    expect(await counted()).toEqual({ unknown_repo: 1 });
  });

  it('marks deliveries that are not new comments with the reason, writing nothing else', () => {
    const { store, intake } = setup();
    store.saveDelivery('d-edit', 'pull_request_comment', delivery(comment('!testme'), 'edited'));
    store.saveDelivery('d-bad', 'pull_request_comment', '{not json');
    store.saveDelivery('d-push', 'push', '{}');
    intake.processDeliveries();
    expect(store.pendingDeliveries()).toEqual([]);
    expect(store.recentTriggers(10)).toEqual([]);
  });

  it('judges no comment while the bot login is unknown', () => {
    const { intake } = setup(null);
    expect(() => intake.ingest(comment('!testme'), 'poll')).toThrow('bot login unknown');
  });

  it('knows enrolled repositories case-insensitively', () => {
    const { intake } = setup();
    expect(intake.isEnrolled('Recipes/Notes')).toBe(true);
    expect(intake.isEnrolled('recipes/other')).toBe(false);
  });
});
