#!/usr/bin/env node
/**
 * `cc-ci-bridge`: configuration → logger → store → app (+ intake engine) → listen; graceful
 * shutdown on SIGTERM/SIGINT: stop accepting requests, let the current intake step finish (all
 * work is persisted, so anything unfinished resumes at the next start), close the store.
 * Invalid configuration exits 2 listing every problem.
 */
import { pino } from 'pino';
import { buildBridge } from './app.js';
import { openDatabase } from './adapters/sqlite/database.js';
import { DroneClient } from './adapters/drone/drone-client.js';
import { GiteaClient } from './adapters/gitea/gitea-client.js';
import { ConfigError, loadConfig, loadTuning, type BridgeConfig } from './config.js';
import { IntakeEngine } from './intake/engine.js';

function intakeEnabled(c: BridgeConfig): boolean {
  return (
    c.CCCI_REPOS.length > 0 && (c.CCCI_POLL_INTERVAL_S > 0 || c.CCCI_WEBHOOK_SECRET !== undefined)
  );
}

async function main(): Promise<void> {
  let config: BridgeConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cc-ci-bridge: ${err.message}\nSee docs/bridge-config.md.\n`);
      process.exit(2);
    }
    throw err;
  }
  const db = openDatabase({ path: config.CCCI_DB_PATH });
  const secrets = [
    config.CCCI_GITEA_TOKEN,
    config.CCCI_DRONE_TOKEN,
    config.CCCI_WEBHOOK_SECRET,
    config.CCCI_RESULTS_TOKEN,
    config.CCCI_RUN_TOKEN_SECRET,
  ].filter((s): s is string => typeof s === 'string' && s.length >= 8); // shorter values would shred log text
  const log = pino(
    {
      level: config.LOG_LEVEL,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-gitea-signature"]',
          'req.headers["x-hub-signature"]',
          'req.headers["x-hub-signature-256"]',
        ],
        censor: '[REDACTED]',
      },
    },
    // Belt and braces: every serialized line is scrubbed of the configured secret values.
    {
      write(line: string) {
        process.stdout.write(secrets.reduce((out, sec) => out.split(sec).join('[REDACTED]'), line));
      },
    },
  );
  const built = await buildBridge({
    db,
    repos: config.CCCI_REPOS,
    resultsToken: config.CCCI_RESULTS_TOKEN,
    runTokenSecret: config.CCCI_RUN_TOKEN_SECRET,
    webhookSecret: config.CCCI_WEBHOOK_SECRET,
    warmDiskFile: config.CCCI_WARM_DISK_FILE,
    deliveryRetention: {
      maxAgeDays: config.CCCI_DELIVERY_RETENTION_DAYS,
      maxRows: config.CCCI_DELIVERY_RETENTION_ROWS,
    },
    loggerInstance: log,
    intake: intakeEnabled(config)
      ? ({ intakeStore, runs, metrics, runTokens }) => {
          return new IntakeEngine({
            store: intakeStore,
            runs,
            metrics,
            runTokens,
            gitea: new GiteaClient({
              url: config.CCCI_GITEA_URL!,
              token: config.CCCI_GITEA_TOKEN!,
            }),
            drone: new DroneClient({
              url: config.CCCI_DRONE_URL!,
              token: config.CCCI_DRONE_TOKEN!,
              repo: config.CCCI_DRONE_REPO!,
              publicUrl: config.CCCI_DRONE_PUBLIC_URL,
            }),
            log,
            repos: config.CCCI_REPOS,
            trustedOrgs: config.CCCI_TRUSTED_ORGS,
            trustedUsers: config.CCCI_TRUSTED_USERS,
            maxConcurrentRuns: config.CCCI_MAX_CONCURRENT_RUNS,
            publicUrl: config.CCCI_PUBLIC_URL,
            pollIntervalMs: config.CCCI_POLL_INTERVAL_S * 1000,
            blockedTimeoutMs: config.CCCI_BLOCKED_TIMEOUT_S * 1000,
            ...loadTuning(),
          });
        }
      : undefined,
  });
  const { app, engine } = built;
  let closing = false;
  const shutdown = async (sig: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ sig }, 'shutting down: finishing the current step; queued work is persisted');
    await app.close();
    await engine?.stop();
    db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  engine?.start(); // enrols new repositories (poll cursors) before anything is served
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  app.log.info(
    {
      address,
      repos: config.CCCI_REPOS.length,
      intake: engine
        ? { poll_s: config.CCCI_POLL_INTERVAL_S, webhook: Boolean(config.CCCI_WEBHOOK_SECRET) }
        : 'off',
    },
    'cc-ci-bridge listening',
  );
}

main().catch((err) => {
  process.stderr.write(
    `cc-ci-bridge: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
