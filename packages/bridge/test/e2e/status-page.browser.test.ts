/**
 * The status page in real Chromium (Debian's, via playwright-core): the three pages render
 * without console errors, hostile strings from results are inert (no dialog, no injected
 * element), and screenshots are saved as test artifacts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { buildApp } from '../../src/app.js';
import { IntakeStore } from '../../src/intake/intake-store.js';
import { openDatabase, type Db } from '../../src/adapters/sqlite/database.js';
import { RunsStore } from '../../src/store/runs-store.js';
import { HOSTILE, makeResults } from '../support/results.js';

const artifacts = new URL('../../../../test-artifacts/screenshots/', import.meta.url).pathname;
let app: FastifyInstance;
let db: Db;
let base: string;
let browser: Browser;

beforeAll(async () => {
  await mkdir(artifacts, { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), 'ccci-browser-'));
  db = openDatabase({ path: join(dir, 'db.sqlite') });
  const store = new RunsStore(db);
  store.saveResults('41', { results: makeResults({ run_id: '41', level: 4 }), junit: {}, log: '' });
  const evil = makeResults({
    run_id: '42',
    recipe: 'evil',
    verdict: 'fail',
    level: 0,
    rungs: {
      ...makeResults({ run_id: '42' }).rungs,
      install: { status: 'fail', reason: HOSTILE[0]! },
    },
    stages: {
      install: {
        status: 'fail',
        reason: HOSTILE[1]!,
        duration_ms: 5,
        tests: HOSTILE.map((h) => ({ name: h, status: 'fail' as const, ms: 5, message: h })),
      },
    },
    version: HOSTILE[2]!,
  });
  store.saveResults('42', {
    results: evil,
    junit: { 'install.xml': '<testsuite/>' },
    log: HOSTILE.join('\n'),
  });
  // Triggers: a refused one and one from an unknown repository whose name came from a webhook.
  const intake = new IntakeStore(db, () => new Date());
  const refused = intake.insertTrigger({
    key: 'gitea-comment:1',
    repo: 'recipe-maintainers/notes',
    pr: 7,
    commentId: 1,
    commenter: 'stranger',
    quick: false,
    state: 'accepted',
    source: 'webhook',
  });
  intake.setState(refused, 'refused', 'stranger is not a trusted user');
  intake.insertTrigger({
    key: 'gitea-comment:2',
    repo: `x${HOSTILE[1]!.replace(/[/\s]/g, '')}/y`,
    pr: 1,
    commentId: 2,
    commenter: HOSTILE[0]!,
    quick: false,
    state: 'unknown_repo',
    reason: HOSTILE[3]!,
    source: 'webhook',
  });
  app = await buildApp({
    db,
    repos: ['recipe-maintainers/notes', 'recipe-maintainers/evil'],
    resultsToken: 'x'.repeat(20),
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  db?.close();
});

describe('status page in Chromium', () => {
  it.each([
    ['index', '/', 'Recipes'],
    ['recipe', '/recipes/notes', 'notes'],
    ['run', '/runs/41', 'run 41'],
    ['hostile-run', '/runs/42', 'run 42'],
    ['hostile-recipe', '/recipes/evil', 'evil'],
    ['triggers', '/triggers', 'Recent triggers'],
  ])(
    'renders the %s page with no console errors and nothing injected',
    async (name, path, heading) => {
      const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      const res = await page.goto(`${base}${path}`);
      expect(res?.status()).toBe(200);
      expect(await page.locator('h1').first().textContent()).toContain(heading);
      expect(await page.locator('script').count()).toBe(0);
      expect(await page.locator('img[onerror], svg[onload], img[src="x"]').count()).toBe(0);
      await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
      await page.close();
      expect(problems).toEqual([]);
    },
    30_000,
  );
});
