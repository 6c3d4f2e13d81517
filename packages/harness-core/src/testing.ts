/**
 * Helpers for a recipe's own tests (the custom tier). cc-ci runs the tests with Jest and passes
 * the deployed app's context in the file named by CCCI_CONTEXT. See docs/writing-recipe-tests.md.
 *
 *   import { appContext, fetchApp, execInService } from '@cc-ci/harness-core/testing';
 */
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { httpGet, type HttpAnswer } from './lifecycle/readiness.js';

export interface AppContext {
  readonly domain: string;
  readonly baseUrl: string;
  readonly hostHeader: string;
  readonly stack: string;
  /** Service name in the recipe → full swarm service name. */
  readonly services: Readonly<Record<string, string>>;
  readonly runDir: string;
}

let cached: AppContext | null = null;

export function appContext(): AppContext {
  if (cached) return cached;
  const file = process.env.CCCI_CONTEXT;
  if (!file)
    throw new Error('CCCI_CONTEXT is not set: these tests are run by cc-ci against a deployed app');
  cached = JSON.parse(readFileSync(file, 'utf8')) as AppContext;
  return cached;
}

/** GET a path of the deployed app (with the right Host header). */
export function fetchApp(path: string, timeoutMs = 10_000): Promise<HttpAnswer> {
  const ctx = appContext();
  return httpGet(ctx.baseUrl, path, ctx.hostHeader, timeoutMs);
}

/** Run a command (argument array, no shell) in a running container of a service. */
export async function execInService(
  service: string,
  argv: readonly string[],
): Promise<{ stdout: string; stderr: string }> {
  const ctx = appContext();
  const full = ctx.services[service];
  if (!full)
    throw new Error(`unknown service "${service}"; known: ${Object.keys(ctx.services).join(', ')}`);
  const run = promisify(execFile);
  const { stdout: ids } = await run('docker', [
    'ps',
    '--filter',
    `label=com.docker.swarm.service.name=${full}`,
    '--format',
    '{{.ID}}',
  ]);
  const id = ids.split('\n').find(Boolean);
  if (!id) throw new Error(`service ${service} has no running container`);
  return run('docker', ['exec', id, ...argv]);
}
