/** @cc-ci/bridge public API (used by tests, benchmarks and the e2e kit). */
export { buildApp, type AppDeps } from './app.js';
export { openDatabase, type Db } from './adapters/sqlite/database.js';
export { loadConfig, BridgeConfigSchema, ConfigError, type BridgeConfig } from './config.js';
export { RunsStore } from './store/runs-store.js';
export { badgeSvg, badgeEndpointJson, badgeContent } from './domain/badge.js';
export { buildBridge, type BuiltApp } from './app.js';
export { IntakeEngine, STATUS_CONTEXT, type EngineOptions } from './intake/engine.js';
export { IntakeStore } from './intake/intake-store.js';
export { GiteaClient } from './adapters/gitea/gitea-client.js';
export { DroneClient } from './adapters/drone/drone-client.js';
export { parseTrigger } from './domain/trigger.js';
export { decideTrust } from './domain/trust.js';
export { renderCard, statusDescription, CARD_MARKER } from './domain/card.js';
