/** @cc-ci/bridge public API (used by tests, benchmarks and the e2e kit). */
export { buildApp, type AppDeps } from './app.js';
export { openDatabase, type Db } from './adapters/sqlite/database.js';
export { loadConfig, BridgeConfigSchema, ConfigError, type BridgeConfig } from './config.js';
export { RunsStore } from './store/runs-store.js';
export { badgeSvg, badgeEndpointJson, badgeContent } from './domain/badge.js';
