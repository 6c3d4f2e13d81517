/**
 * A bridge with intake wired to a fake Gitea and a fake Drone, on loopback, with a real SQLite
 * file. In-process (fast, for most tests) via startBridge(); as a child process via spawnBridge()
 * (SIGKILL tests).
 */
import { afterEach, expect } from '@jest/globals';
import type { Results } from '@cc-ci/harness-core';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildBridge } from '../../src/app.js';
import { openDatabase, type Db } from '../../src/adapters/sqlite/database.js';
import { DroneClient } from '../../src/adapters/drone/drone-client.js';
import { GiteaClient } from '../../src/adapters/gitea/gitea-client.js';
import { IntakeEngine } from '../../src/intake/engine.js';
import type { IntakeStore } from '../../src/intake/intake-store.js';
import type { RunsStore } from '../../src/store/runs-store.js';
import { FakeDrone } from '../fakes/fake-drone.js';
import { FakeGitea } from '../fakes/fake-gitea.js';

export const WEBHOOK_SECRET = 'webhook-secret-0123456789';
export const RESULTS_TOKEN = 'results-token-0123456789';
export const DRONE_TOKEN = 'drone-token-0123456789';
export const DRONE_REPO = 'ops/cc-ci';
export const RECIPE_REPO = 'recipes/notes';
/** Drone's public address in tests; the bridge reaches the fake Drone on loopback. */
export const DRONE_PUBLIC_URL = 'https://drone.example.test';

export interface World {
  readonly gitea: FakeGitea;
  readonly drone: FakeDrone;
  readonly botToken: string;
  readonly dir: string;
  close(): Promise<void>;
}

/** Fakes with a typical set-up: the bot (repo admin), a maintainer org, a recipe repo with an open PR. */
/** `gitHost`: where the fake Gitea listens (a plugin container clones from it). */
export async function startWorld(gitHost?: string): Promise<World & { pr: number }> {
  const gitea = await FakeGitea.start(gitHost);
  const drone = await FakeDrone.start(DRONE_TOKEN, DRONE_REPO);
  const bot = gitea.addUser('ccci-bot');
  gitea.addUser('maintainer');
  gitea.addUser('writer');
  gitea.addUser('stranger');
  gitea.addUser('listed');
  gitea.addOrg('coop-cloud', ['maintainer'], ['maintainer']);
  gitea.addUser('recipes');
  gitea.addRepo(RECIPE_REPO, { collaborators: { 'ccci-bot': 'admin', writer: 'write' } });
  gitea.addUser('forker');
  gitea.addRepo('forker/notes', { fork: true });
  const pr = gitea.openPull(RECIPE_REPO, { author: 'writer' });
  const dir = mkdtempSync(join(tmpdir(), 'ccci-intake-'));
  return {
    gitea,
    drone,
    pr,
    botToken: bot.token,
    dir,
    async close() {
      await gitea.settled();
      await gitea.close();
      await drone.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Bridge {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly engine: IntakeEngine;
  readonly store: IntakeStore;
  readonly runs: RunsStore;
  readonly db: Db;
  stop(): Promise<void>;
}

export interface BridgeOptions {
  readonly pollIntervalMs?: number;
  readonly webhook?: boolean;
  readonly maxConcurrentRuns?: number;
  readonly trustedUsers?: string[];
  readonly repos?: string[];
  readonly dbFile?: string;
  readonly noResultsGraceMs?: number;
  readonly progressMinIntervalMs?: number;
  /** CCCI_DRONE_PUBLIC_URL (default DRONE_PUBLIC_URL; null: unset). The API URL is the fake's loopback one. */
  readonly dronePublicUrl?: string | null;
  readonly blockedTimeoutMs?: number;
  /** The engine's clock (default: the real one). */
  readonly now?: () => Date;
  /** Start the engine's loops (default true); false: tests call tick()/pollAll() themselves. */
  readonly loops?: boolean;
  /** Listen address (default loopback; the host side of docker0 for plugin containers). */
  readonly host?: string;
}

export async function startBridge(w: World, o: BridgeOptions = {}): Promise<Bridge> {
  const db = openDatabase({ path: o.dbFile ?? join(w.dir, 'bridge.sqlite') });
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const built = await buildBridge({
    db,
    repos: o.repos ?? [RECIPE_REPO],
    resultsToken: RESULTS_TOKEN,
    webhookSecret: o.webhook === false ? undefined : WEBHOOK_SECRET,
    intake: ({ intakeStore, runs, metrics, runTokens }) =>
      new IntakeEngine({
        store: intakeStore,
        runs,
        metrics,
        runTokens,
        gitea: new GiteaClient({ url: w.gitea.url, token: w.botToken, timeoutMs: 2_000 }),
        drone: new DroneClient({
          url: w.drone.url,
          token: DRONE_TOKEN,
          repo: DRONE_REPO,
          publicUrl:
            o.dronePublicUrl === undefined ? DRONE_PUBLIC_URL : (o.dronePublicUrl ?? undefined),
          timeoutMs: 2_000,
        }),
        log: process.env.CCCI_TEST_LOG
          ? { info: console.log, warn: console.warn, error: console.error }
          : silent,
        repos: o.repos ?? [RECIPE_REPO],
        trustedOrgs: ['coop-cloud'],
        trustedUsers: o.trustedUsers ?? ['listed'],
        maxConcurrentRuns: o.maxConcurrentRuns ?? 2,
        publicUrl: 'http://ci.example.test',
        pollIntervalMs: o.pollIntervalMs ?? 0,
        tickMs: 50,
        retryBaseMs: 50,
        retryCapMs: 400,
        watchIntervalMs: 100,
        noResultsGraceMs: o.noResultsGraceMs ?? 300,
        progressMinIntervalMs: o.progressMinIntervalMs ?? 0,
        ...(o.blockedTimeoutMs !== undefined ? { blockedTimeoutMs: o.blockedTimeoutMs } : {}),
        ...(o.now ? { now: o.now } : {}),
      }),
  });
  const url = await built.app.listen({ host: o.host ?? '127.0.0.1', port: 0 });
  if (o.loops !== false) built.engine!.start();
  return {
    app: built.app,
    url,
    engine: built.engine!,
    store: built.intakeStore,
    runs: built.runs,
    db,
    async stop() {
      await built.app.close();
      await built.engine!.stop();
      db.close();
    },
  };
}

/**
 * The upload credential the bridge gave Drone build `n` (its CCCI_RUN_TOKEN param, which Drone
 * makes the step's environment): what the plugin in that build sends.
 */
export function runTokenOf(w: World, n: number | string): string {
  const token = w.drone.build(Number(n))?.params?.CCCI_RUN_TOKEN;
  if (!token) throw new Error(`Drone build ${n} has no CCCI_RUN_TOKEN param`);
  return token;
}

/** Wait until `cond` holds, polling every 25 ms, at most `timeoutMs`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const here = dirname(fileURLToPath(import.meta.url));
export const BRIDGE_MAIN = join(here, '../../dist/main.js');

/** The real `cc-ci-bridge` process, configured for the world (for SIGKILL tests). */
export function spawnBridge(w: World, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [BRIDGE_MAIN], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      CCCI_GITEA_URL: w.gitea.url,
      CCCI_GITEA_TOKEN: w.botToken,
      CCCI_DRONE_URL: w.drone.url,
      CCCI_DRONE_TOKEN: DRONE_TOKEN,
      CCCI_DRONE_REPO: DRONE_REPO,
      CCCI_REPOS: RECIPE_REPO,
      CCCI_WEBHOOK_SECRET: WEBHOOK_SECRET,
      CCCI_RESULTS_TOKEN: RESULTS_TOKEN,
      CCCI_TRUSTED_ORGS: 'coop-cloud',
      CCCI_PUBLIC_URL: 'http://ci.example.test',
      CCCI_TUNE_TICK_MS: '20',
      CCCI_TUNE_RETRY_BASE_MS: '20',
      CCCI_TUNE_RETRY_CAP_MS: '200',
      CCCI_TUNE_WATCH_MS: '100',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A free TCP port on loopback (for a child bridge that must keep its port across restarts). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Resolves when the child process has exited (at once if it already has). */
export function exited(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((r) => c.once('exit', () => r()));
}

/**
 * Wait until the child bridge answers /healthz. If it exits first: fail with `describe()`, or —
 * with `exitOk` (a test that kills it on purpose) — return.
 */
export async function listening(
  port: number,
  c: ChildProcess,
  describe: () => string = () => '',
  exitOk = false,
): Promise<void> {
  await until(
    async () => {
      if (c.exitCode !== null || c.signalCode !== null) {
        if (exitOk) return true;
        throw new Error(
          `the bridge exited (${c.exitCode ?? c.signalCode}) before listening\n${describe()}`,
        );
      }
      try {
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
      } catch {
        return false;
      }
    },
    15_000,
    'bridge listening',
  );
}

/**
 * A fresh world and bridge for each test of the calling file: `setup()` starts them, with the
 * recipe repository's webhook pointing at the bridge unless `webhook: false`; after each test the
 * bridge stops and the world closes (also when setup failed half-way).
 */
export function worldPerTest(): (
  o?: BridgeOptions,
) => Promise<{ w: World & { pr: number }; b: Bridge }> {
  let world: (World & { pr: number }) | null = null;
  let bridge: Bridge | null = null;
  afterEach(async () => {
    await bridge?.stop();
    bridge = null;
    await world?.close();
    world = null;
  });
  return async (o = {}) => {
    world = await startWorld();
    bridge = await startBridge(world, o);
    if (o.webhook !== false)
      world.gitea.addHook(RECIPE_REPO, `${bridge.url}/hooks/gitea`, WEBHOOK_SECRET);
    return { w: world, b: bridge };
  };
}

/** Upload a run's results through the bridge's route, as the plugin does; expects 201. */
export async function uploadResults(
  b: Bridge,
  results: Results,
  token = RESULTS_TOKEN,
): Promise<void> {
  const res = await fetch(`${b.url}/api/runs/${results.run_id}/results`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ results, junit: {}, log: '' }),
  });
  expect(res.status).toBe(201);
}
