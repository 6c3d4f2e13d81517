/** The status page: recipe list, recipe and run pages, stored JUnit and logs, badges, assets. */
import { sendError } from './http-errors.js';
import type { FastifyInstance } from 'fastify';
import { RECIPE_NAME_SOURCE, isRecipeName } from '@cc-ci/harness-core';
import { badgeEndpointJson, badgeSvg } from '../domain/badge.js';
import {
  FAVICON,
  STYLE,
  renderIndex,
  renderRecipe,
  renderRun,
  renderTriggers,
  type RecipeListItem,
} from '../domain/html.js';
import type { IntakeStore } from '../intake/intake-store.js';
import type { RunView } from '../domain/run-view.js';
import type { RunsStore } from '../store/runs-store.js';
import { CSP, JUNIT_FILE, RUN_ID, cursorParam, enrolledRecipes, html } from './responses.js';

/** A badge file: `<recipe>.svg` or `<recipe>.json`. */
const BADGE_FILE = new RegExp(`^(${RECIPE_NAME_SOURCE})\\.(svg|json)$`);
const NO_RECIPE = '<!doctype html><title>not found</title><p>No such recipe.</p>';

export interface PageRoutesDeps {
  readonly store: Pick<
    RunsStore,
    | 'latestPerRecipe'
    | 'listRuns'
    | 'runView'
    | 'getArtifacts'
    | 'junitFile'
    | 'runLog'
    | 'latestFinished'
    | 'regressions'
    | 'flakyRecently'
  >;
  readonly intakeStore: Pick<IntakeStore, 'recentTriggerViews'>;
  /** Enrolled repositories (owner/name); the recipe name is the repository name. */
  readonly repos: readonly string[];
  readonly now: () => Date;
}

export async function pageRoutes(app: FastifyInstance, deps: PageRoutesDeps): Promise<void> {
  const { store, now } = deps;
  const enrolled = () => enrolledRecipes(deps.repos);
  const findRun = (runId: string): RunView | null =>
    RUN_ID.test(runId) ? store.runView(runId) : null;

  app.get('/triggers', async (_req, reply) =>
    html(reply, renderTriggers(deps.intakeStore.recentTriggerViews(200), now())),
  );

  app.get('/static/style.css', async (_req, reply) =>
    reply
      .header('content-type', 'text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(STYLE),
  );
  app.get('/static/favicon.svg', async (_req, reply) =>
    reply
      .header('content-type', 'image/svg+xml')
      .header('cache-control', 'public, max-age=86400')
      .send(FAVICON),
  );
  app.get('/favicon.ico', async (_req, reply) => reply.redirect('/static/favicon.svg', 301));

  app.get<{ Querystring: { state?: string } }>('/', async (req, reply) => {
    const latest = new Map(store.latestPerRecipe().map((r) => [r.recipe, r]));
    const regressions = new Map(store.regressions().map((r) => [r.recipe, r]));
    const names = [...new Set([...enrolled(), ...latest.keys()])].sort();
    const state = req.query.state && req.query.state !== 'all' ? req.query.state : null;
    const items: RecipeListItem[] = names
      .map((recipe) => ({
        recipe,
        latest: latest.get(recipe) ?? null,
        regression: regressions.get(recipe) ?? null,
      }))
      .filter(({ latest: l }) => {
        if (!state) return true;
        if (state === 'none') return l === null;
        if (state === 'running') return l !== null && l.verdict === null;
        return l?.verdict === state;
      });
    return html(reply, renderIndex(items, state, now(), store.flakyRecently()));
  });

  app.get<{ Params: { recipe: string }; Querystring: { cursor?: string | string[] } }>(
    '/recipes/:recipe',
    async (req, reply) => {
      const { recipe } = req.params;
      if (!isRecipeName(recipe)) return html(reply, NO_RECIPE, 404);
      const c = cursorParam(req.query.cursor);
      if (!c.ok)
        return html(
          reply,
          `<!doctype html><title>bad request</title><p>${c.error.replace(/[<>&"]/g, '')}.</p>`,
          400,
        );
      const page = store.listRuns({ recipe, limit: 50, cursor: c.cursor });
      if (page.runs.length === 0 && !enrolled().includes(recipe) && !c.cursor)
        return html(reply, NO_RECIPE, 404);
      return html(reply, renderRecipe(recipe, page.runs, page.next, now()));
    },
  );

  app.get<{ Params: { runId: string } }>('/runs/:runId', async (req, reply) => {
    const run = findRun(req.params.runId);
    if (!run) return html(reply, '<!doctype html><title>not found</title><p>No such run.</p>', 404);
    const artifacts = store.getArtifacts(run.runId);
    return html(
      reply,
      renderRun(
        run,
        artifacts?.results ?? null,
        Object.keys(artifacts?.junit ?? {}).sort(),
        Boolean(artifacts?.log),
      ),
    );
  });

  // Files are served from stored upload content by exact name: there is no file system path.
  app.get<{ Params: { runId: string; file: string } }>(
    '/runs/:runId/junit/:file',
    async (req, reply) => {
      // Only the one file is read from the stored upload (not every artifact of the run).
      const xml =
        JUNIT_FILE.test(req.params.file) && findRun(req.params.runId)
          ? store.junitFile(req.params.runId, req.params.file)
          : null;
      if (xml === null) return sendError(reply, 'NOT_FOUND', 'no such file');
      return reply
        .header('content-type', 'application/xml; charset=utf-8')
        .header('content-security-policy', CSP)
        .send(xml);
    },
  );

  app.get<{ Params: { runId: string } }>('/runs/:runId/log', async (req, reply) => {
    const log = findRun(req.params.runId) ? store.runLog(req.params.runId) : null;
    if (!log) return sendError(reply, 'NOT_FOUND', 'no log uploaded');
    return reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('content-security-policy', CSP)
      .send(log);
  });

  app.get<{ Params: { file: string } }>('/badge/:file', async (req, reply) => {
    const m = BADGE_FILE.exec(req.params.file);
    if (!m) return sendError(reply, 'NOT_FOUND', 'use /badge/<recipe>.svg or /badge/<recipe>.json');
    const latest = store.latestFinished(m[1]!);
    reply.header('cache-control', 'public, max-age=60');
    if (m[2] === 'json') return reply.send(badgeEndpointJson(latest?.level ?? null));
    return reply
      .header('content-type', 'image/svg+xml; charset=utf-8')
      .send(badgeSvg(latest?.level ?? null));
  });
}
