/** The JSON API (runs, recipes, regressions, triggers, the OpenAPI document), health and metrics. */
import { sendError } from './http-errors.js';
import type { FastifyInstance } from 'fastify';
import { isRecipeName } from '@cc-ci/harness-core';
import type { IntakeStore } from '../intake/intake-store.js';
import type { BridgeMetrics } from '../metrics.js';
import type { RunsStore } from '../store/runs-store.js';
import { OPENAPI } from './openapi.js';
import { cursorParam, enrolledRecipes } from './responses.js';
import { runJson } from './run-json.js';

export interface ApiRoutesDeps {
  readonly store: Pick<RunsStore, 'latestPerRecipe' | 'listRuns' | 'ping' | 'regressions'>;
  readonly intakeStore: Pick<IntakeStore, 'recentTriggers' | 'contacts'>;
  readonly registry: BridgeMetrics['registry'];
  /** Enrolled repositories (owner/name); the recipe name is the repository name. */
  readonly repos: readonly string[];
}

export async function apiRoutes(app: FastifyInstance, deps: ApiRoutesDeps): Promise<void> {
  const { store, intakeStore } = deps;
  const enrolled = () => enrolledRecipes(deps.repos);

  app.get('/api/openapi.json', async (_req, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(OPENAPI),
  );

  app.get<{ Querystring: { limit?: string } }>('/api/triggers', async (req, reply) => {
    const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      return sendError(reply, 'BAD_QUERY', 'limit must be an integer from 1 to 500');
    return {
      triggers: intakeStore.recentTriggers(limit).map((t) => ({
        id: t.id,
        repo: t.repo,
        pr: t.pr,
        comment_id: t.comment_id,
        commenter: t.commenter,
        quick: t.quick === 1,
        state: t.state,
        reason: t.reason,
        head_sha: t.head_sha,
        run_id: t.build_number === null ? null : String(t.build_number),
        attempts: t.attempts,
        last_error: t.last_error,
        created_at: t.created_at,
        updated_at: t.updated_at,
      })),
    };
  });

  app.get('/api/recipes', async () => {
    const latest = new Map(store.latestPerRecipe().map((r) => [r.recipe, r]));
    // Once per request, as a set: per recipe it made the answer quadratic in the recipes.
    const isEnrolled = new Set(enrolled());
    const names = [...new Set([...isEnrolled, ...latest.keys()])].sort();
    return {
      recipes: names.map((recipe) => {
        const l = latest.get(recipe);
        return {
          recipe,
          enrolled: isEnrolled.has(recipe),
          latest: l
            ? {
                run_id: l.runId,
                status: l.status,
                verdict: l.verdict,
                level: l.level,
                version: l.version,
                finished_at: l.finishedAt,
              }
            : null,
        };
      }),
    };
  });

  app.get<{ Querystring: { recipe?: string; limit?: string; cursor?: string | string[] } }>(
    '/api/runs',
    async (req, reply) => {
      const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200)
        return sendError(reply, 'BAD_QUERY', 'limit must be an integer from 1 to 200');
      if (req.query.recipe !== undefined && !isRecipeName(req.query.recipe))
        return sendError(reply, 'BAD_QUERY', 'recipe is not a valid recipe name');
      const c = cursorParam(req.query.cursor);
      if (!c.ok) return sendError(reply, 'BAD_QUERY', c.error);
      const page = store.listRuns({ recipe: req.query.recipe, limit, cursor: c.cursor });
      return { runs: page.runs.map(runJson), next_cursor: page.next };
    },
  );

  app.get('/api/regressions', async () => ({
    regressions: store.regressions().map((r) => ({
      recipe: r.recipe,
      run_id: r.runId,
      level: r.level,
      version: r.version,
      previous_version: r.previousVersion,
      previous_level: r.previousLevel,
      previous_run_id: r.previousRunId,
      rung: r.rung,
      rung_status: r.rungStatus,
    })),
  }));

  app.get('/healthz', async (_req, reply) => {
    let ok = false;
    try {
      ok = store.ping();
    } catch {
      ok = false;
    }
    const upstreams = ok ? intakeStore.contacts() : [];
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'unavailable',
      store: ok,
      upstreams: Object.fromEntries(
        upstreams.map((u) => [
          u.upstream,
          { last_ok_at: u.last_ok_at, last_error_at: u.last_error_at, last_error: u.last_error },
        ]),
      ),
    });
  });

  app.get('/metrics', async (_req, reply) =>
    reply.header('content-type', deps.registry.contentType).send(await deps.registry.metrics()),
  );
}
