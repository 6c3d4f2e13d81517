import { afterEach, describe, expect, it } from '@jest/globals';
import { makeResults } from '../../test/support/results.js';
import { openDatabase, type Db } from '../adapters/sqlite/database.js';
import { IntakeStore } from '../intake/intake-store.js';
import { RunsStore } from '../store/runs-store.js';
import { runJson } from './run-json.js';

let db: Db | null = null;
afterEach(() => {
  db?.close();
});

describe('a run in the JSON API', () => {
  it('is what its row held when the API answered with rows: the same fields and order, byte for byte', () => {
    db = openDatabase({ path: ':memory:' });
    let now = Date.parse('2026-05-01T10:00:00.000Z');
    const clock = () => new Date((now += 1_000));
    const runs = new RunsStore(db, clock);
    const intake = new IntakeStore(db, clock, runs);
    runs.saveResults('3', {
      results: makeResults({ run_id: '3', level: 4 }),
      junit: {},
      log: '',
    });
    const id = intake.insertTrigger({
      key: 'gitea-comment:1',
      repo: 'r/notes',
      pr: 3,
      commentId: 1,
      commenter: 'm',
      quick: true,
      state: 'accepted',
      source: 'webhook',
    });
    intake.queue(intake.trigger(id)!, 'a'.repeat(40), 'https://git.example/r/notes.git');
    intake.building(intake.trigger(id)!, {
      number: 7,
      link: null,
      status: 'pending',
      recipe: 'notes',
    });
    intake.setProgress('7', { install: 'running' }, 'https://drone.example/ops/cc-ci/7');
    intake.insertForeignRun({
      runId: '8',
      recipe: 'notes',
      repo: null,
      pr: null,
      ref: 'b'.repeat(40),
      quick: false,
      status: 'queued',
      droneStatus: 'blocked',
      link: null,
      created: '2026-05-01T11:00:00.000Z',
    });
    intake.setDroneWaitingSince('8', '2026-05-01T11:00:05.000Z');
    intake.updateRunDrone('8', 'failure', 'running', '2026-05-01T11:01:00.000Z');
    intake.failRun('8', 'failure', 'no results uploaded');
    const rows = db.prepare('SELECT * FROM runs ORDER BY created_at DESC, run_id DESC').all();
    const page = runs.listRuns({ limit: 10 });
    expect(rows).toHaveLength(3);
    expect(JSON.stringify(page.runs.map(runJson))).toBe(JSON.stringify(rows));
  });
});
