/**
 * The bridge's results side against a real server on loopback and a real SQLite file: uploads
 * (auth, validation), pages, badges, API, escaping of hostile text, no path traversal.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { TIER_NAMES } from '@cc-ci/harness-core';
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
    expect(await res.json()).toMatchObject({ code: 'UNAUTHORIZED' });
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

describe('issue 18 regressions', () => {
  it('refuses an unauthenticated 15 MB body before reading it, and /healthz answers meanwhile', async () => {
    const parsedBefore = await parsedCount();
    const { hostname, port } = new URL(base);
    const total = 15 * 1024 * 1024;
    const chunk = Buffer.from('['.repeat(1024 * 1024)); // deeply nested, were it ever parsed
    // Declare 15 MB but send only the first megabyte: an answer can only come from a server that
    // did not wait for (let alone parse) the body.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: hostname,
          port,
          method: 'POST',
          path: '/api/runs/77/results',
          headers: {
            'content-type': 'application/json',
            'content-length': String(total),
            authorization: 'Bearer wrong-token-0123456789',
          },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body });
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      req.write(chunk);
      // While the upload hangs half-sent, the service still answers.
      void fetch(`${base}/healthz`).then(
        (h) => (h.status === 200 ? undefined : reject(new Error(`healthz ${h.status}`))),
        reject,
      );
      setTimeout(() => reject(new Error('no answer within 10 s')), 10_000).unref();
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatch(/Bearer token/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await parsedCount()).toBe(parsedBefore); // the JSON parser never ran
    expect((await fetch(`${base}/runs/77`)).status).toBe(404);
  });

  it('refuses an authenticated body nested deeper than the cap with 400', async () => {
    const deep = `{"results": ${'['.repeat(100)}${']'.repeat(100)}}`;
    const res = await fetch(`${base}/api/runs/78/results`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: deep,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: expect.stringMatching(/nested deeper than/),
      code: 'BAD_REQUEST',
    });
  });

  it('refuses a progress body larger than its route needs with 413', async () => {
    const res = await fetch(`${base}/api/runs/79/progress`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ tiers: { install: 'running' }, pad: 'x'.repeat(64 * 1024) }),
    });
    expect(res.status).toBe(413);
  });

  it('a cancelled run is in the history but changes neither the badge nor the latest level', async () => {
    const at = (h: number) => `2026-11-23T${String(h).padStart(2, '0')}:00:00.000Z`;
    const ok = makeResults({
      run_id: 'c1',
      recipe: 'cancelly',
      level: 4,
      started: at(1),
      finished: at(1),
    });
    expect((await upload('c1', { results: ok })).status).toBe(201);
    const cancelled = makeResults({
      run_id: 'c2',
      recipe: 'cancelly',
      verdict: 'error',
      level: 1,
      error: 'cancelled (SIGTERM)',
      started: at(2),
      finished: at(2),
    });
    expect((await upload('c2', { results: cancelled })).status).toBe(201);
    expect(await (await fetch(`${base}/badge/cancelly.json`)).json()).toMatchObject({
      message: 'level 4',
    });
    expect(await (await fetch(`${base}/badge/cancelly.svg`)).text()).toMatch(/level 4/);
    const api = (await (await fetch(`${base}/api/recipes`)).json()) as {
      recipes: Array<{ recipe: string; latest: { run_id: string; level: number } | null }>;
    };
    expect(api.recipes.find((r) => r.recipe === 'cancelly')?.latest).toMatchObject({
      run_id: 'c1',
      level: 4,
    });
    const index = await (await fetch(`${base}/`)).text();
    const row = index.split('<tr>').find((r) => r.includes('href="/recipes/cancelly"'))!;
    expect(row).toContain('href="/runs/c1"');
    expect(row).not.toContain('href="/runs/c2"');
    // Still in the recipe's history.
    expect(await (await fetch(`${base}/recipes/cancelly`)).text()).toContain('href="/runs/c2"');
  });

  it('answers a repeated or malformed cursor with 400, not 500 or page 1', async () => {
    for (const q of ['cursor=a&cursor=b', 'cursor=garbage', 'cursor=2026-11-21T00:00:00.000Z|']) {
      const api = await fetch(`${base}/api/runs?${q}`);
      expect(api.status).toBe(400);
      const text = await api.text();
      expect(text).not.toMatch(/split|TypeError|internal/i);
      expect(JSON.parse(text)).toMatchObject({ code: 'BAD_QUERY' });
      expect((await fetch(`${base}/recipes/notes?${q}`)).status).toBe(400);
    }
    const good = encodeURIComponent('2026-11-21T00:00:00.000Z|p0');
    expect((await fetch(`${base}/api/runs?cursor=${good}`)).status).toBe(200);
  });

  it('renders an uploaded build_link only when it is http(s)', async () => {
    for (const [id, link] of [
      ['l1', 'javascript:alert(document.domain)'],
      ['l2', ' JavaScript:alert(1)'],
      ['l3', 'data:text/html,<script>alert(1)</script>'],
    ] as const) {
      const results = makeResults({ run_id: id, recipe: 'linky', meta: { build_link: link } });
      expect((await upload(id, { results })).status).toBe(201);
      const page = await (await fetch(`${base}/runs/${id}`)).text();
      expect(page).not.toMatch(/href="\s*(javascript|data):/i);
      const api = (await (await fetch(`${base}/api/runs?recipe=linky`)).json()) as {
        runs: Array<{ run_id: string; build_link: string | null }>;
      };
      expect(api.runs.find((r) => r.run_id === id)?.build_link).toBeNull();
    }
    const fine = makeResults({
      run_id: 'l4',
      recipe: 'linky',
      meta: { build_link: 'https://drone.example/ops/cc-ci/4' },
    });
    expect((await upload('l4', { results: fine })).status).toBe(201);
    expect(await (await fetch(`${base}/runs/l4`)).text()).toContain(
      'href="https://drone.example/ops/cc-ci/4"',
    );
  });

  it('accepts JUnit files named after the tiers only', async () => {
    const results = makeResults({ run_id: 'j1' });
    for (const name of ['notatier.xml', 'install.xml.xml', 'INSTALL.xml', 'x.xml'])
      expect((await upload('j1', { results, junit: { [name]: '<testsuite/>' } })).status).toBe(422);
    const all = Object.fromEntries(TIER_NAMES.map((t) => [`${t}.xml`, '<testsuite/>']));
    expect((await upload('j1', { results, junit: all })).status).toBe(201);
  });
});

async function parsedCount(): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('ccci_request_bodies_parsed_total{'))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}
