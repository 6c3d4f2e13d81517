/**
 * Helpers for a recipe's own tests (the custom tier). cc-ci runs the tests with Jest and passes
 * the deployed app's context in the file named by CCCI_CONTEXT. See docs/writing-recipe-tests.md.
 *
 *   import { appContext, fetchApp, execInService } from '@cc-ci/harness-core/testing';
 */
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  parseProbeOutput,
  probeExecArgs,
  type AppEndpoint,
  type HttpAnswer,
} from './adapters/docker/proxy-probe.js';

export interface AppContext {
  readonly domain: string;
  /** Where Traefik would send the app's traffic: proxy network, public service, port. */
  readonly endpoint: AppEndpoint;
  /** The run's probe container on the proxy network, through which requests go. */
  readonly probeContainer: string;
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

/**
 * GET a path of the deployed app the way Traefik reaches it: over the proxy network, at a task
 * of the public service, with the app's domain as Host header. Rejects when no task answers.
 */
export async function fetchApp(path: string, timeoutMs = 10_000): Promise<HttpAnswer> {
  const ctx = appContext();
  const run = promisify(execFile);
  const { stdout, stderr } = await run(
    'docker',
    probeExecArgs(ctx.probeContainer, ctx.endpoint, { path, timeoutMs, all: false }),
    { timeout: timeoutMs + 15_000, maxBuffer: 4 * 1024 * 1024 },
  );
  const [first] = parseProbeOutput(stdout, stderr);
  if (!first) throw new Error(`no task of ${ctx.endpoint.service} on ${ctx.endpoint.network}`);
  if (!first.answer) throw new Error(`${path}: ${first.error ?? 'no answer'}`);
  return first.answer;
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
