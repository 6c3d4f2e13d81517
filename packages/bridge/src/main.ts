#!/usr/bin/env node
/**
 * `cc-ci-bridge`: configuration → logger → store → app → listen; graceful shutdown on
 * SIGTERM/SIGINT. Invalid configuration exits 2 listing every problem.
 */
import { buildApp } from './app.js';
import { openDatabase } from './adapters/sqlite/database.js';
import { ConfigError, loadConfig } from './config.js';

async function main(): Promise<void> {
  let config;
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
  const app = await buildApp({
    db,
    repos: config.CCCI_REPOS,
    resultsToken: config.CCCI_RESULTS_TOKEN,
    logger: {
      level: config.LOG_LEVEL,
      redact: {
        paths: ['req.headers.authorization', 'req.headers["x-gitea-signature"]'],
        censor: '[REDACTED]',
      },
    },
  });
  let closing = false;
  const shutdown = async (sig: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ sig }, 'shutting down');
    await app.close();
    db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  app.log.info({ address, repos: config.CCCI_REPOS.length }, 'cc-ci-bridge listening');
  if (
    config.CCCI_REPOS.length > 0 &&
    (config.CCCI_POLL_INTERVAL_S > 0 || config.CCCI_WEBHOOK_SECRET)
  ) {
    app.log.warn(
      'Gitea intake (polling/webhook) is not part of this build yet: triggers are not processed; see docs/bridge-config.md',
    );
  }
}

main().catch((err) => {
  process.stderr.write(
    `cc-ci-bridge: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
