/**
 * buildApp(deps): the Fastify application without listen(), so tests use inject() or a real
 * port. Route groups are plugins with explicit dependencies.
 */
import { codeOfStatus, sendError } from './web/http-errors.js';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Db } from './adapters/sqlite/database.js';
import type { IntakeEngine } from './intake/engine.js';
import { IntakeStore, type DeliveryRetention } from './intake/intake-store.js';
import { webhookRoutes } from './intake/webhook-routes.js';
import {
  createMetrics,
  registerIntakeGauges,
  registerWarmDiskGauges,
  type BridgeMetrics,
} from './metrics.js';
import { RunTokens } from './domain/run-token.js';
import { RunsStore } from './store/runs-store.js';
import { webRoutes } from './web/routes.js';

/** Routes that take a body set their own limit; anything else gets at most this (issue 18). */
const DEFAULT_BODY_LIMIT = 64 * 1024;

export interface AppDeps {
  readonly db: Db;
  readonly repos: readonly string[];
  /** The shared upload token (CCCI_RESULTS_TOKEN): builds the bridge did not start. */
  readonly resultsToken: string | undefined;
  /** CCCI_RUN_TOKEN_SECRET; unset: run tokens are derived from `resultsToken`. */
  readonly runTokenSecret?: string | undefined;
  /** The webhook route is registered only when a secret is set. */
  readonly webhookSecret?: string | undefined;
  /** The sweep's warm-disk.json, reported on /metrics (CCCI_WARM_DISK_FILE). */
  readonly warmDiskFile?: string | undefined;
  /** How long handled webhook deliveries are kept (default 14 days, 100,000 rows). */
  readonly deliveryRetention?: DeliveryRetention;
  /** Builds the intake engine once the app's stores and metrics exist (main and tests). */
  readonly intake?: (parts: {
    intakeStore: IntakeStore;
    runs: RunsStore;
    metrics: BridgeMetrics;
    /** Derives each build's CCCI_RUN_TOKEN; null when no upload secret is configured. */
    runTokens: RunTokens | null;
  }) => IntakeEngine;
  readonly logger?: boolean | object;
  /** A ready logger (pino) shared with the intake engine; wins over `logger`. */
  readonly loggerInstance?: FastifyBaseLogger;
  readonly now?: () => Date;
}

export interface BuiltApp {
  readonly app: FastifyInstance;
  readonly engine: IntakeEngine | null;
  readonly intakeStore: IntakeStore;
  readonly runs: RunsStore;
  readonly metrics: BridgeMetrics;
}

export async function buildBridge(deps: AppDeps): Promise<BuiltApp> {
  const app = (
    deps.loggerInstance
      ? Fastify({ loggerInstance: deps.loggerInstance, bodyLimit: DEFAULT_BODY_LIMIT })
      : Fastify({ logger: deps.logger ?? false, bodyLimit: DEFAULT_BODY_LIMIT })
  ) as FastifyInstance;
  app.setErrorHandler((err: { statusCode?: number; message?: string }, req, reply) => {
    const code = codeOfStatus(err.statusCode);
    if (code === 'INTERNAL') req.log.error({ err }, 'unexpected error');
    // An internal error's message stays in the log; the answer names the code only.
    return sendError(
      reply,
      code,
      code === 'INTERNAL' ? 'unexpected error in the bridge' : String(err.message),
    );
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`),
  );
  const now = deps.now ?? (() => new Date());
  const runs = new RunsStore(deps.db, now);
  const intakeStore = new IntakeStore(deps.db, now, runs);
  const metrics = createMetrics(runs);
  const runTokenSecret = deps.runTokenSecret ?? deps.resultsToken;
  const runTokens = runTokenSecret ? new RunTokens(runTokenSecret) : null;
  const engine = deps.intake ? deps.intake({ intakeStore, runs, metrics, runTokens }) : null;
  registerIntakeGauges(metrics.registry, engine?.gauges ?? null);
  if (deps.warmDiskFile) registerWarmDiskGauges(metrics.registry, deps.warmDiskFile);
  await app.register(webRoutes, {
    store: runs,
    intakeStore,
    metrics,
    repos: deps.repos,
    resultsToken: deps.resultsToken,
    runTokens,
    onRunChanged: (runId: string) =>
      engine ? engine.resultsArrived(runId) : intakeStore.runEnded(runId),
    now,
  });
  if (deps.webhookSecret && engine) {
    await app.register(webhookRoutes, {
      secret: deps.webhookSecret,
      store: intakeStore,
      metrics,
      kick: () => engine.kick(),
      retention: deps.deliveryRetention ?? { maxAgeDays: 14, maxRows: 100_000 },
    });
  }
  return { app, engine, intakeStore, runs, metrics };
}

/** The app alone (status page, uploads, API), for callers that do not run intake. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  return (await buildBridge(deps)).app;
}
