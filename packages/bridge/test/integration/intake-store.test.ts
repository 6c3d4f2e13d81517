/** Store-level races the engine relies on, on a real SQLite file. */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/adapters/sqlite/database.js';
import { IntakeStore } from '../../src/intake/intake-store.js';
import { RunsStore } from '../../src/store/runs-store.js';
import { makeResults } from '../support/results.js';

function stores() {
  const db = openDatabase({ path: join(mkdtempSync(join(tmpdir(), 'ccci-store-')), 'db.sqlite') });
  return { db, intake: new IntakeStore(db, () => new Date()), runs: new RunsStore(db) };
}

describe('IntakeStore', () => {
  it('drops results stored for a build number before the bridge recorded it as its own (never attached to a bridge-started run)', () => {
    const { intake, runs } = stores();
    const id = intake.insertTrigger({
      key: 'gitea-comment:1',
      repo: 'r/notes',
      pr: 3,
      commentId: 1,
      commenter: 'm',
      quick: false,
      state: 'accepted',
      source: 'webhook',
    });
    intake.queue(intake.trigger(id)!, 'a'.repeat(40), 'https://git.example/r/notes.git');
    // Only an upload without the run's token can land first: the run token gets 503 until then.
    runs.saveResults('7', { results: makeResults({ run_id: '7', pr: 3 }), junit: {}, log: '' });
    intake.building(intake.trigger(id)!, {
      number: 7,
      link: 'https://drone/7',
      status: 'running',
      recipe: 'notes',
    });
    expect(intake.trigger(id)!.state).toBe('building');
    expect(runs.getRun('7')).toMatchObject({
      status: 'running',
      trigger_id: id,
      verdict: null,
      level: null,
    });
    expect(runs.getArtifacts('7')).toBeNull();
  });

  it('handles a comment id once whichever path records it first', () => {
    const { intake } = stores();
    const ev = {
      repo: 'r/notes',
      pr: 3,
      commentId: 42,
      updatedAt: '2026-11-22T10:00:00Z',
      body: '!testme',
      login: 'm',
    };
    expect(intake.markHandled(ev, 'triggered', 'poll')).toBe(true);
    expect(
      intake.markHandled({ ...ev, updatedAt: '2026-11-22T10:05:00Z' }, 'triggered', 'webhook'),
    ).toBe(false);
  });

  it('a newer trusted trigger supersedes older waiting ones of the same PR and takes the card', () => {
    const { intake } = stores();
    const mk = (n: number) =>
      intake.insertTrigger({
        key: `gitea-comment:${n}`,
        repo: 'r/notes',
        pr: 3,
        commentId: n,
        commenter: 'm',
        quick: false,
        state: 'accepted',
        source: 'poll',
      });
    const a = mk(1);
    intake.queue(intake.trigger(a)!, 'a'.repeat(40), 'https://x/r.git');
    const b = mk(2);
    intake.queue(intake.trigger(b)!, 'b'.repeat(40), 'https://x/r.git');
    expect(intake.trigger(a)!.state).toBe('superseded');
    expect(intake.card('r/notes', 3)!.trigger_id).toBe(b);
  });
});
