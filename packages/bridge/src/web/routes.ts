/**
 * The bridge's HTTP surface for results: upload intake, status page, badges, JSON API, health
 * and metrics. A Fastify plugin taking its dependencies explicitly; each route group is a plugin
 * of its own, given only what it needs.
 */
import type { FastifyInstance } from 'fastify';
import type { RunTokens } from '../domain/run-token.js';
import type { IntakeStore } from '../intake/intake-store.js';
import type { BridgeMetrics } from '../metrics.js';
import type { RunsStore } from '../store/runs-store.js';
import { apiRoutes } from './api-routes.js';
import { useBoundedJsonParser } from './json-body.js';
import { pageRoutes } from './page-routes.js';
import { UploadAuth } from './upload-auth.js';
import { uploadRoutes } from './upload-routes.js';

export { PROGRESS_BODY_LIMIT, RESULTS_BODY_LIMIT } from './upload-routes.js';

export interface WebDeps {
  readonly store: RunsStore;
  readonly metrics: BridgeMetrics;
  /** Enrolled repositories (owner/name); the recipe name is the repository name. */
  readonly repos: readonly string[];
  /** The shared upload token (CCCI_RESULTS_TOKEN): accepted only for builds the bridge did not start. */
  readonly resultsToken: string | undefined;
  /** Per-run tokens (CCCI_RUN_TOKEN of each build the bridge started); null: none configured. */
  readonly runTokens: RunTokens | null;
  readonly intakeStore: IntakeStore;
  /** Called after a run's results or progress were stored (the PR card follows). */
  readonly onRunChanged: (runId: string) => void;
  readonly now?: () => Date;
}

export async function webRoutes(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const { store, intakeStore, metrics, repos } = deps;

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });

  // Token routes read their body only after the token was accepted (issue 18: an
  // unauthenticated 15 MB body used to be parsed first). The parser is depth-capped and counts
  // what it parses, per route.
  useBoundedJsonParser(app, (req) =>
    metrics.bodiesParsed.inc({ route: req.routeOptions.url ?? 'unknown' }),
  );

  const auth = new UploadAuth({
    store,
    intakeStore,
    uploads: metrics.uploads,
    resultsToken: deps.resultsToken,
    runTokens: deps.runTokens,
  });
  await app.register(uploadRoutes, {
    store,
    intakeStore,
    uploads: metrics.uploads,
    auth,
    onRunChanged: deps.onRunChanged,
  });
  await app.register(apiRoutes, { store, intakeStore, registry: metrics.registry, repos });
  await app.register(pageRoutes, {
    store,
    intakeStore,
    repos,
    now: deps.now ?? (() => new Date()),
  });
}
