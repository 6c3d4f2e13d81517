/**
 * The custom tier's door for the recipe's tests (testing.ts, `fetchApp` and `execInService`):
 * a Unix socket in a directory only cc-ci's user can enter, over which a test's request reaches
 * the app through what the run already holds — the probe container's attached connection, and
 * the Engine API — instead of a `docker exec` started per request. A request is one JSON line
 * on its own connection and gets one JSON line back. Only this app: a path of it, or a command
 * in a running container of one of its services, bounded in size and time. The answers are the
 * ones the docker CLI path of testing.ts gets: the probe's task answers, an exec's exit code and
 * output.
 */
import { createServer, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppEndpoint } from '../ports/deployer.js';
import type { DockerPort } from '../ports/docker.js';
import type { ProxyProbe, TaskAnswer } from '../ports/proxy-probe.js';
import { runningContainer } from './containers.js';

/** A request line larger than this is refused. */
export const RELAY_MAX_REQUEST = 1024 * 1024;
const MAX_ARGS = 1024;
const MAX_FETCH_TIMEOUT_MS = 120_000;
/** An exec is bounded like a test (each test has 60 s). */
const EXEC_TIMEOUT_MS = 60_000;

export type RelayRequest =
  | { readonly fetch: { readonly path: string; readonly timeoutMs: number } }
  | { readonly exec: { readonly service: string; readonly argv: readonly string[] } };

export type RelayAnswer =
  | { readonly answers: readonly TaskAnswer[] }
  | {
      readonly exec: {
        readonly exitCode: number;
        readonly stdout: string;
        readonly stderr: string;
      };
    }
  | { readonly error: string };

export interface TestRelayOptions {
  readonly probe: ProxyProbe;
  readonly endpoint: AppEndpoint;
  /** Service name in the recipe → full swarm service name. */
  readonly services: Readonly<Record<string, string>>;
  readonly docker: DockerPort;
}

export interface TestRelay {
  /** The socket's path (CCCI_CONTEXT's `relay`). */
  readonly socket: string;
  /** Stop listening, end open connections, remove the socket's directory. */
  close(): Promise<void>;
}

/** What is wrong with a request, or null. */
function relayRequestProblem(req: unknown, services: Readonly<Record<string, string>>) {
  if (typeof req !== 'object' || req === null) return 'not a JSON object';
  const r = req as Record<string, unknown>;
  if ('fetch' in r) {
    const f = r.fetch as Record<string, unknown> | null;
    if (typeof f?.path !== 'string' || !f.path.startsWith('/') || /[\s\u0000-\u001f]/.test(f.path))
      return 'fetch.path must be a path starting with "/", without spaces or control characters';
    if (
      typeof f.timeoutMs !== 'number' ||
      !(f.timeoutMs > 0 && f.timeoutMs <= MAX_FETCH_TIMEOUT_MS)
    )
      return `fetch.timeoutMs must be a number of milliseconds up to ${MAX_FETCH_TIMEOUT_MS}`;
    return null;
  }
  if ('exec' in r) {
    const e = r.exec as Record<string, unknown> | null;
    if (typeof e?.service !== 'string' || !Object.hasOwn(services, e.service))
      return `exec.service must be one of ${Object.keys(services).join(', ')}`;
    const argv = e.argv;
    if (
      !Array.isArray(argv) ||
      argv.length === 0 ||
      argv.length > MAX_ARGS ||
      !argv.every((a) => typeof a === 'string')
    )
      return `exec.argv must be 1 to ${MAX_ARGS} strings`;
    return null;
  }
  return 'neither fetch nor exec';
}

async function answer(req: RelayRequest, opts: TestRelayOptions): Promise<RelayAnswer> {
  if ('fetch' in req) {
    const answers = await opts.probe.get(opts.endpoint, { ...req.fetch, all: false });
    return { answers };
  }
  const id = await runningContainer(opts.docker, opts.services[req.exec.service]!);
  const res = await opts.docker.exec(id, req.exec.argv, { timeoutMs: EXEC_TIMEOUT_MS });
  return { exec: { exitCode: res.exitCode, stdout: res.stdout, stderr: res.stderr } };
}

function serve(conn: Socket, opts: TestRelayOptions): void {
  let buf = Buffer.alloc(0);
  let done = false;
  const reply = (a: RelayAnswer) => {
    done = true;
    conn.end(`${JSON.stringify(a)}\n`);
  };
  conn.on('error', () => conn.destroy());
  conn.on('data', (chunk: Buffer) => {
    if (done) return;
    buf = Buffer.concat([buf, chunk]);
    const nl = buf.indexOf(0x0a);
    // Bounded whether or not the line has ended yet.
    if ((nl < 0 ? buf.length : nl) > RELAY_MAX_REQUEST)
      return reply({ error: `request larger than ${RELAY_MAX_REQUEST} bytes` });
    if (nl < 0) return;
    let req: unknown;
    try {
      req = JSON.parse(buf.subarray(0, nl).toString('utf8'));
    } catch {
      return reply({ error: 'the request is not JSON' });
    }
    const problem = relayRequestProblem(req, opts.services);
    if (problem) return reply({ error: problem });
    done = true;
    answer(req as RelayRequest, opts).then(reply, (err: unknown) =>
      reply({ error: (err as Error).message }),
    );
  });
}

/** Open the relay for one custom tier; close it when the tests ended. */
export async function openTestRelay(opts: TestRelayOptions): Promise<TestRelay> {
  // mkdtemp makes the directory 0700: only cc-ci's user reaches the socket.
  const dir = await mkdtemp(join(tmpdir(), 'ccci-tests-'));
  const socket = join(dir, 'relay.sock');
  const open = new Set<Socket>();
  const server = createServer((conn) => {
    open.add(conn);
    conn.on('close', () => open.delete(conn));
    serve(conn, opts);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    socket,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const conn of open) conn.destroy();
      await closed;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
