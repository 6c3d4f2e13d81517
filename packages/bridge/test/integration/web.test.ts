/**
 * The bridge's results side against a real server on loopback and a real SQLite file: uploads
 * (auth, validation), pages, badges, API, escaping of hostile text, no path traversal.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { openDatabase, type Db } from '../../src/adapters/sqlite/database.js';
import { HOSTILE, makeResults } from '../support/results.js';

const TOKEN = 'test-token-0123456789abcdef';
let app: FastifyInstance;
let db: Db;
let base: string;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ccci-bridge-'));
  db = openDatabase({ path: join(dir, 'db.sqlite') });
  app = await buildApp({
    db,
    repos: ['recipe-maintainers/notes', 'recipe-maintainers/keycloak'],
    resultsToken: TOKEN,
    now: () => new Date('2026-11-22T10:00:00Z'),
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  db.close();
});

async function upload(runId: string, body: unknown, token = TOKEN) {
  return fetch(`${base}/api/runs/${runId}/results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

describe('POST /api/runs/:runId/results', () => {
  it('refuses a wrong token with 401 and stores nothing', async () => {
    const res = await upload('11', { results: makeResults({ run_id: '11' }) }, 'wrong-token');
    expect(res.status).toBe(401);
    expect((await fetch(`${base}/runs/11`)).status).toBe(404);
  });
  it('refuses results that do not match the schema with 422 naming the field', async () => {
    const res = await upload('12', { results: { ...makeResults({ run_id: '12' }), level: 9 } });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: string }).error).toMatch(/level/);
  });
  it('refuses a run id mismatch and junit names that could be paths', async () => {
    expect((await upload('13', { results: makeResults({ run_id: '99' }) })).status).toBe(422);
    expect(
      (
        await upload('13', {
          results: makeResults({ run_id: '13' }),
          junit: { '../x.xml': '<x/>' },
        })
      ).status,
    ).toBe(422);
  });
  it('stores a valid upload and the pages, badge and API show it', async () => {
    const res = await upload('20', {
      results: makeResults({ run_id: '20', level: 3 }),
      junit: { 'install.xml': '<testsuite/>' },
      log: 'line 1\n',
    });
    expect(res.status).toBe(201);
    const index = await (await fetch(`${base}/`)).text();
    expect(index).toContain('href="/runs/20"');
    expect(index).toContain('keycloak'); // enrolled, no runs yet
    const json = await (await fetch(`${base}/badge/notes.json`)).json();
    expect(json).toEqual({
      schemaVersion: 1,
      label: 'cc-ci',
      message: 'level 3',
      color: 'yellowgreen',
    });
    const none = await (await fetch(`${base}/badge/keycloak.json`)).json();
    expect(none).toMatchObject({ message: 'no runs', color: 'lightgrey' });
    const svg = await fetch(`${base}/badge/notes.svg`);
    expect(svg.headers.get('content-type')).toMatch(/image\/svg\+xml/);
    expect(svg.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(await svg.text()).toMatch(/<title>cc-ci: level 3<\/title>/);
    const runs = (await (await fetch(`${base}/api/runs?recipe=notes`)).json()) as {
      runs: Array<{ run_id: string }>;
    };
    expect(runs.runs.map((r) => r.run_id)).toContain('20');
    expect(await (await fetch(`${base}/runs/20/junit/install.xml`)).text()).toBe('<testsuite/>');
    expect(await (await fetch(`${base}/runs/20/log`)).text()).toBe('line 1\n');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/ccci_runs\{verdict="pass",level="3"\} 1/);
  });
  it('paginates /api/runs with a cursor, newest first, without repeats', async () => {
    for (let i = 0; i < 5; i++) {
      const started = `2026-11-21T0${i}:00:00.000Z`;
      expect(
        (
          await upload(`p${i}`, {
            results: makeResults({ run_id: `p${i}`, recipe: 'pagey', started, finished: started }),
          })
        ).status,
      ).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const q: string = `${base}/api/runs?recipe=pagey&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const body = (await (await fetch(q)).json()) as {
        runs: Array<{ run_id: string }>;
        next_cursor: string | null;
      };
      seen.push(...body.runs.map((r) => r.run_id));
      cursor = body.next_cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(['p4', 'p3', 'p2', 'p1', 'p0']);
  });
});

describe('hostile text and paths', () => {
  it('escapes hostile test names, messages and reasons on the run page', async () => {
    const results = makeResults({
      run_id: '30',
      verdict: 'fail',
      level: 0,
      rungs: {
        ...makeResults({ run_id: '30' }).rungs,
        install: { status: 'fail', reason: HOSTILE[1]! },
      },
      stages: {
        install: {
          status: 'fail',
          reason: HOSTILE[1]!,
          duration_ms: 1,
          tests: HOSTILE.map((h) => ({ name: h, status: 'fail' as const, ms: 1, message: h })),
        },
      },
    });
    expect((await upload('30', { results })).status).toBe(201);
    const res = await fetch(`${base}/runs/30`);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const page = await res.text();
    expect(page).not.toContain('<script>alert');
    expect(page).not.toMatch(/<img src=x/);
    expect(page).not.toMatch(/<svg onload/);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
  it.each([
    '/runs/30/junit/..%2f..%2fetc%2fpasswd',
    '/runs/30/junit/%2e%2e%2fx.xml',
    '/runs/..%2f30/log',
    '/recipes/..%2f..%2fetc',
    '/badge/..%2fnotes.svg',
  ])('answers 404 for %s', async (path) => {
    const res = await fetch(`${base}${path}`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toMatch(/root:x:0/);
  });
});
