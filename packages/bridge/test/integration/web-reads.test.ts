/**
 * The web routes read what they serve and no more: the enrolled list once per request, one
 * stored file without the rest of the upload. Each route group on its own Fastify on loopback,
 * with a stub store.
 */
import { describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import type { RunView } from '../../src/domain/run-view.js';
import { apiRoutes, type ApiRoutesDeps } from '../../src/web/api-routes.js';
import { pageRoutes, type PageRoutesDeps } from '../../src/web/page-routes.js';

/** Listen on loopback; `get(path)` fetches from it. */
async function serve(app: FastifyInstance) {
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return (path: string) => fetch(`${url}${path}`);
}

/** `repos`, counting every element read: the enrolled list is read once per request. */
function countingRepos(repos: string[]) {
  const reads = { n: 0 };
  const proxy = new Proxy(repos, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^[0-9]+$/.test(key)) reads.n++;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { proxy, reads };
}

describe('GET /api/recipes', () => {
  it('reads the enrolled repositories once per request, not once per recipe', async () => {
    const n = 200;
    const repos = Array.from({ length: n }, (_, i) => `coop-cloud/r${String(i).padStart(3, '0')}`);
    const { proxy, reads } = countingRepos(repos);
    const latest = {
      recipe: 'r001',
      runId: '9',
      status: 'finished',
      verdict: 'pass',
      level: 3,
      version: '1.0.0+1',
      finishedAt: '2026-11-22T08:00:00.000Z',
    } as unknown as RunView;
    const deps: ApiRoutesDeps = {
      store: {
        latestPerRecipe: () => [latest, { ...latest, recipe: 'gone', runId: '8' }],
        listRuns: () => ({ runs: [], next: null }),
        ping: () => true,
        regressions: () => [],
      },
      intakeStore: { recentTriggers: () => [], contacts: () => [] },
      registry: {
        contentType: 'text/plain',
        metrics: async () => '',
      } as unknown as ApiRoutesDeps['registry'],
      repos: proxy,
    };
    const app = Fastify();
    await app.register(async (a) => apiRoutes(a, deps));
    const get = await serve(app);
    const res = await get('/api/recipes').finally(() => app.close());
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      recipes: Array<{ recipe: string; enrolled: boolean; latest: { run_id: string } | null }>;
    };
    expect(body.recipes).toHaveLength(n + 1);
    expect(body.recipes[0]).toEqual({
      recipe: 'gone',
      enrolled: false,
      latest: expect.objectContaining({ run_id: '8' }),
    });
    expect(body.recipes[2]).toMatchObject({
      recipe: 'r001',
      enrolled: true,
      latest: { run_id: '9', level: 3 },
    });
    expect(body.recipes[3]).toEqual({ recipe: 'r002', enrolled: true, latest: null });
    // Once per recipe per recipe was n × n reads (40,000); once per request is n.
    expect(reads.n).toBeLessThanOrEqual(2 * n);
  });
});

const unused = () => {
  throw new Error('not read by this route');
};

/** A store with one run "7" (install.xml and a log uploaded); the whole upload is never read. */
function app() {
  const junit: Record<string, string> = { 'install.xml': '<testsuite name="install"/>' };
  const deps: PageRoutesDeps = {
    store: {
      latestPerRecipe: unused,
      listRuns: unused,
      runView: (id) => (id === '7' ? ({ runId: '7' } as RunView) : null),
      getArtifacts: unused,
      junitFile: (id, file) => (id === '7' ? (junit[file] ?? null) : null),
      runLog: (id) => (id === '7' ? 'the log\n' : null),
      latestFinished: unused,
      regressions: unused,
      flakyRecently: unused,
    },
    intakeStore: { recentTriggerViews: unused },
    repos: [],
    now: () => new Date(0),
  };
  const a = Fastify();
  void a.register(async (x) => pageRoutes(x, deps));
  return a;
}

describe('stored JUnit and log files', () => {
  it('are served one at a time, without reading every artifact of the run', async () => {
    const a = app();
    const get = await serve(a);
    try {
      const xml = await get('/runs/7/junit/install.xml');
      expect(xml.status).toBe(200);
      expect(xml.headers.get('content-type')).toBe('application/xml; charset=utf-8');
      expect(await xml.text()).toBe('<testsuite name="install"/>');
      const log = await get('/runs/7/log');
      expect(log.status).toBe(200);
      expect(log.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await log.text()).toBe('the log\n');
      for (const path of [
        '/runs/7/junit/lint.xml',
        '/runs/7/junit/notes.txt',
        '/runs/8/junit/install.xml',
        '/runs/8/log',
      ])
        expect((await get(path)).status).toBe(404);
    } finally {
      await a.close();
    }
  });
});
