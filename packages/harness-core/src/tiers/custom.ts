/**
 * The custom tier (L4): the recipe's own tests (Jest files in recipes/<recipe>/tests/) run
 * against the deployed app, in a child process, with the app's context in CCCI_CONTEXT. Their
 * test cases become the tier's rows (and JUnit test cases). A generic assertion — the app still
 * answers on its health path — always runs alongside. See docs/writing-recipe-tests.md.
 *
 * Jest takes a while to start (load itself, read its config, find the test files). The run
 * starts it early (`prestart`, while the swarm starts the app) and Jest then waits at its gate
 * (jest-gate.ts) until the tier, with the app ready, writes the context file: only then does it
 * load a test file. A Jest started early and never released is stopped when the run finishes.
 */
import { stripAnsi } from '../domain/ansi.js';
import { createRequire } from 'node:module';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import type { TestRow } from '../domain/results.js';
import { runProcess, type ProcessResult } from '../adapters/process/run-process.js';
import { hostEnv } from '../adapters/process/host-env.js';
import type { Tier, TierContext, TierOutcome } from './types.js';
import type { AppContext } from '../testing.js';
import { openTestRelay, type TestRelay } from './test-relay.js';

interface JestJson {
  testResults: Array<{
    message?: string;
    assertionResults: Array<{
      fullName: string;
      status: string;
      duration?: number | null;
      failureMessages: string[];
    }>;
  }>;
}

const TEST_FILE = /\.test\.(mjs|js|cjs)$/;
const CONTEXT_FILE = 'custom-context.json';
const OUTPUT_FILE = 'custom-jest.json';
/** How long the recipe's tests may run once released. */
const TESTS_TIMEOUT_MS = 15 * 60_000;
/** How long Jest started early waits for the tier before it gives up by itself (jest-gate.ts). */
const GATE_MS = 3 * 60 * 60_000;

/** The recipe's test files (recipes/<recipe>/tests/*.test.{mjs,js,cjs}), or none. */
async function testFiles(configDir: string | null): Promise<{ dir: string; files: string[] }> {
  const dir = configDir ? join(configDir, 'tests') : '';
  const files = dir
    ? (await readdir(dir).catch(() => [] as string[])).filter((f) => TEST_FILE.test(f))
    : [];
  return { dir, files };
}

/**
 * The recipe's Jest, started and held at its gate (jest-gate.ts) until `release` writes the
 * app's context: the tier then waits only for the tests themselves, not for Jest to start.
 */
export interface RecipeTests {
  /** Write the app's context (Jest goes on), then wait for Jest to end, bounded. */
  release(context: object): Promise<ProcessResult>;
  /** Whether Jest already ended (it can no longer be released: start another). */
  readonly ended: boolean;
  /** Stop Jest if it runs (a run that never got to the custom tier). */
  discard(): Promise<void>;
}

/** Start the recipe's tests in `dir`, held until released; a stale context or report is removed first. */
export async function startRecipeTests(opts: {
  readonly dir: string;
  readonly runDir: string;
  readonly signal: AbortSignal;
}): Promise<RecipeTests> {
  const contextFile = join(opts.runDir, CONTEXT_FILE);
  const outputFile = join(opts.runDir, OUTPUT_FILE);
  await Promise.all([rm(contextFile, { force: true }), rm(outputFile, { force: true })]);
  const stop = new AbortController();
  const require = createRequire(import.meta.url);
  const jestBin = require.resolve('jest/bin/jest');
  // The built module, also when this one runs from source (the tests).
  const gate = require.resolve('@cc-ci/harness-core/jest-gate');
  let ended = false;
  let timedOut = false;
  const done = runProcess(
    process.execPath,
    [
      '--experimental-vm-modules',
      '--no-warnings',
      jestBin,
      // An explicit config: never pick up a jest.config of a directory above the tests.
      '--config',
      JSON.stringify({
        rootDir: opts.dir,
        testMatch: ['**/*.test.{mjs,js,cjs}'],
        testEnvironment: 'node',
        transform: {},
        globalSetup: gate,
      }),
      '--json',
      '--outputFile',
      outputFile,
      '--ci',
      '--runInBand',
      // Jest would otherwise look for (and spawn) a watchman binary on the host's PATH.
      '--watchman=false',
      '--testTimeout',
      '60000',
    ],
    {
      cwd: opts.dir,
      env: hostEnv({ CCCI_CONTEXT: contextFile, CCCI_GATE_MS: String(GATE_MS) }),
      signal: AbortSignal.any([opts.signal, stop.signal]),
    },
  ).finally(() => {
    ended = true;
  });
  done.catch(() => undefined);
  return {
    get ended() {
      return ended;
    },
    async release(context) {
      // Whole or not at all: the gate goes on as soon as the file exists.
      await writeFile(`${contextFile}.tmp`, JSON.stringify(context));
      await rename(`${contextFile}.tmp`, contextFile);
      const timer = setTimeout(() => {
        timedOut = true;
        stop.abort();
      }, TESTS_TIMEOUT_MS);
      try {
        const res = await done;
        return timedOut ? { ...res, timedOut } : res;
      } finally {
        clearTimeout(timer);
      }
    },
    async discard() {
      stop.abort();
      await done.catch(() => undefined);
    },
  };
}

export const customTier: Tier = {
  name: 'custom',
  async prestart(ctx) {
    const { dir, files } = await testFiles(ctx.config.dir);
    if (files.length === 0 || ctx.shared.recipeTests) return;
    ctx.shared.recipeTests = await startRecipeTests({
      dir,
      runDir: ctx.runDir,
      signal: ctx.signal,
    });
  },
  async run(ctx: TierContext): Promise<TierOutcome> {
    const t0 = Date.now();
    const { dir, files } = await testFiles(ctx.config.dir);
    // Started early (prestart) and still waiting; else (a retry, a run without it) now.
    const early = ctx.shared.recipeTests;
    delete ctx.shared.recipeTests;
    if (files.length === 0) {
      await early?.discard();
      return {
        status: 'skip',
        reason: 'no custom tests (recipes/<recipe>/tests/*.test.mjs)',
        tests: [],
      };
    }
    const tests =
      early && !early.ended
        ? early
        : await startRecipeTests({ dir, runDir: ctx.runDir, signal: ctx.signal });

    const rows: TestRow[] = [];
    try {
      await ctx.waitReady();
      rows.push({ name: 'app answers on its health path', status: 'pass', ms: Date.now() - t0 });
    } catch (err) {
      rows.push({
        name: 'app answers on its health path',
        status: 'fail',
        ms: Date.now() - t0,
        message: ctx.redact((err as Error).message),
      });
    }

    let res: ProcessResult;
    let relay: TestRelay | null = null;
    try {
      const probe = await ctx.reach();
      const services = Object.fromEntries(ctx.app.services.map((s) => [s.name, s.fullName]));
      relay = await openTestRelay({
        probe,
        endpoint: ctx.app.endpoint,
        services,
        docker: ctx.docker,
      });
      res = await tests.release({
        domain: ctx.app.domain,
        endpoint: ctx.app.endpoint,
        probeContainer: probe.container,
        hostHeader: ctx.app.endpoint.hostHeader,
        stack: ctx.app.stack,
        services,
        runDir: ctx.runDir,
        relay: relay.socket,
      } satisfies AppContext);
    } catch (err) {
      await tests.discard();
      throw err;
    } finally {
      await relay?.close();
    }
    const outputFile = join(ctx.runDir, OUTPUT_FILE);
    let report: JestJson;
    try {
      report = JSON.parse(await readFile(outputFile, 'utf8')) as JestJson;
    } catch {
      throw new InfraError(
        'PROCESS_FAILED',
        `the recipe's tests did not run (jest ${res.timedOut ? `timed out after ${TESTS_TIMEOUT_MS / 60_000} min` : `exit ${res.exitCode}`}): ${ctx.redact(res.stderr.trim().slice(-800))}`,
      );
    }
    for (const file of report.testResults) {
      if (file.assertionResults.length === 0 && file.message) {
        rows.push({
          name: 'test file loads',
          status: 'fail',
          ms: 0,
          message: ctx.redact(file.message.slice(0, 2000)),
        });
      }
      for (const a of file.assertionResults) {
        const status = a.status === 'passed' ? 'pass' : a.status === 'failed' ? 'fail' : 'skip';
        rows.push({
          name: a.fullName,
          status,
          ms: Math.max(0, Math.round(a.duration ?? 0)),
          ...(a.failureMessages.length
            ? {
                message: ctx.redact(stripAnsi(a.failureMessages.join('\n')).slice(0, 4000)),
              }
            : {}),
        });
      }
    }
    const failed = rows.filter((r) => r.status === 'fail');
    if (failed.length)
      return {
        status: 'fail',
        reason: `${failed.length} test(s) failed: ${failed.map((f) => f.name).join(', ')}`,
        tests: rows,
      };
    if (!rows.some((r) => r.status === 'pass' && r.name !== 'app answers on its health path')) {
      return { status: 'fail', reason: 'the recipe’s test files ran no test', tests: rows };
    }
    return { status: 'pass', tests: rows };
  },
};
