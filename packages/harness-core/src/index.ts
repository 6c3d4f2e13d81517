/**
 * @cc-ci/harness-core: the lifecycle library behind `cc-ci run`.
 * Public API only; internals are imported by path inside the package.
 */
export * from './domain/results.js';
export * from './domain/level.js';
export type * from './ports/deployer.js';
export type * from './ports/docker.js';
