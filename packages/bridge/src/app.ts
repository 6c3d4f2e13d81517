/**
 * buildApp(deps): the Fastify application without listen(), so tests use inject() or a real
 * port. Route groups are plugins with explicit dependencies.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Db } from './adapters/sqlite/database.js';
import { createMetrics } from './metrics.js';
import { RunsStore } from './store/runs-store.js';
import { webRoutes } from './web/routes.js';

export interface AppDeps {
  readonly db: Db;
  readonly repos: readonly string[];
  readonly resultsToken: string | undefined;
  readonly logger?: boolean | object;
  readonly now?: () => Date;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: 16 * 1024 * 1024,
    // Never log tokens.
    ...(typeof deps.logger === 'object' ? {} : {}),
  });
  const store = new RunsStore(deps.db, deps.now);
  const metrics = createMetrics(store);
  await app.register(webRoutes, {
    store,
    metrics,
    repos: deps.repos,
    resultsToken: deps.resultsToken,
    ...(deps.now ? { now: deps.now } : {}),
  });
  return app;
}
