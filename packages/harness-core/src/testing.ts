/**
 * Helpers for a recipe's own tests (the custom tier). cc-ci runs the tests with Jest and passes
 * the deployed app's context in the file named by CCCI_CONTEXT. See docs/writing-recipe-tests.md.
 *
 * Requests go through the run's relay (tiers/test-relay.ts: the run's probe connection and the
 * Engine API) when the context names one, else through the docker CLI (`docker exec` into the
 * run's probe container, `docker ps` and `docker exec` for a service); the answers are the same.
 *
 *   import { appContext, fetchApp, execInService } from '@cc-ci/harness-core/testing';
 */
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import {
  parseProbeOutput,
  probeExecArgs,
  type AppEndpoint,
  type HttpAnswer,
  type TaskAnswer,
} from './adapters/docker/proxy-probe.js';
import type { RelayAnswer, RelayRequest } from './tiers/test-relay.js';

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
  /** The run's relay socket (tiers/test-relay.ts), when it has one. */
  readonly relay?: string;
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
  const [first] = ctx.relay
    ? (await relay<'answers'>(ctx.relay, { fetch: { path, timeoutMs } }, timeoutMs)).answers
    : await fetchByCli(ctx, path, timeoutMs);
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
  if (ctx.relay) {
    const { exec } = await relay<'exec'>(ctx.relay, { exec: { service, argv } }, 60_000);
    if (exec.exitCode === 0) return { stdout: exec.stdout, stderr: exec.stderr };
    throw Object.assign(
      new Error(
        `Command failed (exit ${exec.exitCode}) in service ${service}: ${argv.join(' ')}\n${exec.stderr}`,
      ),
      { code: exec.exitCode, stdout: exec.stdout, stderr: exec.stderr },
    );
  }
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

async function fetchByCli(ctx: AppContext, path: string, timeoutMs: number): Promise<TaskAnswer[]> {
  const run = promisify(execFile);
  const { stdout, stderr } = await run(
    'docker',
    probeExecArgs(ctx.probeContainer, ctx.endpoint, { path, timeoutMs, all: false }),
    { timeout: timeoutMs + 15_000, maxBuffer: 4 * 1024 * 1024 },
  );
  return parseProbeOutput(stdout, stderr);
}

/** One request to the run's relay; its answer, or an Error with the relay's reason. */
function relay<K extends 'answers' | 'exec'>(
  socket: string,
  request: RelayRequest,
  timeoutMs: number,
): Promise<Extract<RelayAnswer, Record<K, unknown>>> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`cc-ci's relay gave no answer within ${timeoutMs + 15_000} ms`));
    }, timeoutMs + 15_000);
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => (buf += chunk));
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cc-ci's relay: ${err.message}`));
    });
    conn.on('end', () => {
      clearTimeout(timer);
      let got: RelayAnswer;
      try {
        got = JSON.parse(buf) as RelayAnswer;
      } catch {
        return reject(
          new Error(`cc-ci's relay gave no answer (${JSON.stringify(buf.slice(0, 200))})`),
        );
      }
      if (typeof got === 'object' && got !== null && 'error' in got) reject(new Error(got.error));
      else resolve(got as Extract<RelayAnswer, Record<K, unknown>>);
    });
    // Not end(): the relay answers on this connection, then ends it.
    conn.write(`${JSON.stringify(request)}\n`);
  });
}
