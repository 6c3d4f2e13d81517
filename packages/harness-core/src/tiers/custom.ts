/**
 * The custom tier (L4): the recipe's own tests (Jest files in recipes/<recipe>/tests/) run
 * against the deployed app, in a child process, with the app's context in CCCI_CONTEXT. Their
 * test cases become the tier's rows (and JUnit test cases). A generic assertion — the app still
 * answers on its health path — always runs alongside. See docs/writing-recipe-tests.md.
 */
import { stripAnsi } from '../domain/ansi.js';
import { createRequire } from 'node:module';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import type { TestRow } from '../domain/results.js';
import { runProcess } from '../adapters/process/run-process.js';
import { hostEnv } from '../adapters/process/host-env.js';
import type { Tier, TierContext, TierOutcome } from './types.js';

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

export const customTier: Tier = {
  name: 'custom',
  async run(ctx: TierContext): Promise<TierOutcome> {
    const t0 = Date.now();
    const dir = ctx.config.dir ? join(ctx.config.dir, 'tests') : null;
    const files = dir
      ? (await readdir(dir).catch(() => [] as string[])).filter((f) => TEST_FILE.test(f))
      : [];
    if (!dir || files.length === 0)
      return {
        status: 'skip',
        reason: 'no custom tests (recipes/<recipe>/tests/*.test.mjs)',
        tests: [],
      };

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

    const contextFile = join(ctx.runDir, 'custom-context.json');
    await writeFile(
      contextFile,
      JSON.stringify({
        domain: ctx.app.domain,
        endpoint: ctx.app.endpoint,
        probeContainer: (await ctx.reach()).container,
        hostHeader: ctx.app.endpoint.hostHeader,
        stack: ctx.app.stack,
        services: Object.fromEntries(ctx.app.services.map((s) => [s.name, s.fullName])),
        runDir: ctx.runDir,
      }),
    );
    const outputFile = join(ctx.runDir, 'custom-jest.json');
    const jestBin = createRequire(import.meta.url).resolve('jest/bin/jest');
    const res = await runProcess(
      process.execPath,
      [
        '--experimental-vm-modules',
        '--no-warnings',
        jestBin,
        // An explicit config: never pick up a jest.config of a directory above the tests.
        '--config',
        JSON.stringify({
          rootDir: dir,
          testMatch: ['**/*.test.{mjs,js,cjs}'],
          testEnvironment: 'node',
          transform: {},
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
        cwd: dir,
        env: hostEnv({ CCCI_CONTEXT: contextFile }),
        timeoutMs: 15 * 60_000,
        signal: ctx.signal,
      },
    );
    let report: JestJson;
    try {
      report = JSON.parse(await readFile(outputFile, 'utf8')) as JestJson;
    } catch {
      throw new InfraError(
        'PROCESS_FAILED',
        `the recipe's tests did not run (jest exit ${res.exitCode}): ${ctx.redact(res.stderr.trim().slice(-800))}`,
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
