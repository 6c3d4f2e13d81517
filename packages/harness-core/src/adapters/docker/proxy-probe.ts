/**
 * Reaching the app the way Traefik does: over the `proxy` overlay network, at the addresses of
 * the public service's tasks (`tasks.<service>`, which routes on hosts without IPVS too) and the
 * port of its `traefik.http.services.<name>.loadbalancer.server.port` label, with the app's
 * domain as Host header. Nothing is published on the host.
 *
 * A run starts one small probe container attached to `proxy` (labelled as the run's, so teardown
 * and the janitor find it) and sends each request into it: over one attached connection to the
 * probe's own process (the Engine API), or as an exec (the CLI, a recipe's `fetchApp`, and the
 * fallback). Either way works the same whether cc-ci is a host process (a maintainer's local run)
 * or the plugin in a Drone step container on its own bridge network. The request and the answer
 * cross as JSON lines or arguments and output, never through a shell.
 */
import type { DockerCli } from './docker-cli.js';
import type { ExecResult } from '../../ports/docker.js';
import { InfraError } from '../../errors.js';
import type { AppEndpoint } from '../../ports/deployer.js';
import type {
  HttpAnswer,
  ProbeRequest,
  ProxyProbe,
  ProxyProbeOptions,
  TaskAnswer,
} from '../../ports/proxy-probe.js';

export type { AppEndpoint, HttpAnswer, ProbeRequest, ProxyProbe, ProxyProbeOptions, TaskAnswer };

/** Bytes of a body kept. */
export const PROBE_MAX_BODY = 64 * 1024;

/**
 * The probe itself, run inside the probe container (CommonJS): `probe(q)` resolves the service's
 * task addresses on the network and GETs the path from each (or the first) with the Host header.
 */
const PROBE_CORE = `
const { lookup } = require('node:dns').promises;
const http = require('node:http');
const one = (q, address) => new Promise((done) => {
  const req = http.request({ host: address, port: q.port, path: q.path, method: 'GET',
    headers: { host: q.host, 'user-agent': 'cc-ci' }, timeout: q.timeoutMs }, (res) => {
    const chunks = []; let size = 0;
    res.on('data', (c) => { if (size < q.maxBytes) chunks.push(c); size += c.length; });
    res.on('end', () => done({ address, answer: { status: res.statusCode,
      body: Buffer.concat(chunks).toString('utf8').slice(0, q.maxBytes),
      ...(res.headers.location ? { location: res.headers.location } : {}) }, error: null }));
    res.on('error', (e) => done({ address, answer: null, error: e.message }));
  });
  req.on('timeout', () => req.destroy(new Error('no answer within ' + q.timeoutMs + ' ms')));
  req.on('error', (e) => done({ address, answer: null, error: e.code === 'ECONNREFUSED'
    ? 'connection refused on port ' + q.port : e.message }));
  req.end();
});
const probe = (q) => lookup('tasks.' + q.service, { all: true, family: 4 })
  .then((found) => found.map((a) => a.address).sort(), () => [])
  .then((addrs) => Promise.all((q.all ? addrs : addrs.slice(0, 1)).map((a) => one(q, a))));
`;

/** One request (`node -e PROBE_SCRIPT <query>`, an exec): print the answers as one JSON array. */
export const PROBE_SCRIPT = `${PROBE_CORE}
probe(JSON.parse(process.argv[1])).then((out) => process.stdout.write(JSON.stringify(out)));
`;

/**
 * The probe container's own process: idle, and serving requests on its stdin — one JSON line
 * `{"id", "q"}` each — with one line `{"id", "out"}` on its stdout, for a run that holds an
 * attached connection (the Engine API's attach). Stdin never ends while the container runs.
 */
export const PROBE_SERVER = `${PROBE_CORE}
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    let m;
    try { m = JSON.parse(line); } catch { continue; }
    probe(m.q).then((out) => process.stdout.write(JSON.stringify({ id: m.id, out }) + '\\n'));
  }
});
setInterval(() => {}, 1 << 30);
`;

/** What the probe is asked for one request. */
function probeQuery(endpoint: AppEndpoint, request: ProbeRequest) {
  return {
    service: endpoint.service,
    port: endpoint.port,
    host: endpoint.hostHeader,
    path: request.path,
    timeoutMs: request.timeoutMs,
    all: request.all,
    maxBytes: PROBE_MAX_BODY,
  };
}

/** The command of one request, run in the probe container. */
export function probeCommand(endpoint: AppEndpoint, request: ProbeRequest): string[] {
  return ['node', '-e', PROBE_SCRIPT, JSON.stringify(probeQuery(endpoint, request))];
}

/** The `docker exec` argv for one request into the probe container. */
export function probeExecArgs(
  container: string,
  endpoint: AppEndpoint,
  request: ProbeRequest,
): string[] {
  return ['exec', container, ...probeCommand(endpoint, request)];
}

/** Parse the probe's output; anything else is an infrastructure problem of the probe itself. */
export function parseProbeOutput(stdout: string, stderr: string): TaskAnswer[] {
  try {
    const parsed = JSON.parse(stdout) as TaskAnswer[];
    if (Array.isArray(parsed)) return parsed;
  } catch {
    // fall through
  }
  throw new InfraError(
    'DOCKER_FAILED',
    `the probe container gave no answer: ${(stderr || stdout).trim().slice(0, 500)}`,
  );
}

/** Start attempts while the daemon is still tearing down the network's local instance. */
const PROBE_START_ATTEMPTS = 6;

/**
 * Start the probe container. Right after the last container on this host left an overlay
 * network, the daemon tears down its local instance for a moment, and a container started then
 * fails with "network <its ID> not found" (the CLI's `docker run` as much as the API); that
 * container cannot be started again, so it is removed and created anew, after 0.25 s, 0.5 s, …
 * A network that does not exist is reported by its name, and is not retried.
 */
async function startProbe(docker: DockerCli, opts: ProxyProbeOptions): Promise<ExecResult> {
  for (let attempt = 1; ; attempt++) {
    const res = await docker.runDetached({
      name: opts.name,
      image: opts.image,
      network: opts.network,
      labels: opts.labels,
      entrypoint: 'node',
      args: ['-e', PROBE_SERVER],
      memoryBytes: 128 * 2 ** 20,
      interactive: true,
    });
    const settling = /network (\S+) not found/.exec(res.stderr);
    if (res.exitCode === 0 || !settling || settling[1] === opts.network) return res;
    if (attempt === PROBE_START_ATTEMPTS) return res;
    await docker.removeObject('container', opts.name).catch(() => false);
    await new Promise((r) => setTimeout(r, 250 * attempt));
  }
}

/** A line-oriented connection to a container's own process (its stdin and stdout). */
export interface LineChannel {
  send(line: string): void;
  /** Each whole line the process writes on stdout. */
  onLine(listener: (line: string) => void): void;
  /** The connection ended (the container stopped, the daemon went away). */
  onClose(listener: () => void): void;
  close(): void;
}

/** Opens a LineChannel to a running container, or null when it cannot. */
export type Attach = (container: string) => Promise<LineChannel | null>;

/**
 * Start the run's probe container on `network`: `image` must have `node` (the plugin image, or
 * the local ccci/node-base image). Labelled with the run's labels; removed by `close()`, by
 * teardown's leftover sweep, or by the janitor.
 *
 * With `attach` (the Engine API), requests go over one attached connection to the probe's own
 * process (PROBE_SERVER): a median round trip of 6 ms here, where an exec starts a process in
 * the container each time (117 ms). A request that the connection cannot carry — it did
 * not open, or it closed — is sent as an exec instead, so the answer is the same either way.
 */
export async function openProxyProbe(
  docker: DockerCli,
  opts: ProxyProbeOptions,
  attach?: Attach,
): Promise<ProxyProbe> {
  // A probe of an earlier run under this name (killed before its close) goes first.
  await docker.removeObject('container', opts.name).catch(() => false);
  const res = await startProbe(docker, opts);
  if (res.exitCode !== 0) {
    throw new InfraError(
      'DOCKER_FAILED',
      `could not start the probe container on network "${opts.network}" from image ${opts.image}: ${res.stderr.trim().slice(0, 500)} (the image must exist locally and have node; see docs/harness.md, "Reaching the app")`,
    );
  }
  const container = opts.name;
  const byExec = async (endpoint: AppEndpoint, request: ProbeRequest) => {
    const out = await docker.exec(container, probeCommand(endpoint, request), {
      timeoutMs: request.timeoutMs + 15_000,
    });
    return parseProbeOutput(out.stdout, out.stderr);
  };
  const attached = attach ? new AttachedProbe(() => attach(container), byExec) : null;
  return {
    container,
    get: (endpoint, request) =>
      attached ? attached.get(endpoint, request) : byExec(endpoint, request),
    async close() {
      attached?.close();
      await docker.removeObject('container', container).catch(() => false);
    },
  };
}

type Get = (endpoint: AppEndpoint, request: ProbeRequest) => Promise<TaskAnswer[]>;

/** Requests over one attached connection, matched to their answers by id; exec as the fallback. */
export class AttachedProbe {
  private channel: Promise<LineChannel | null> | null = null;
  private broken = false;
  private seq = 0;
  private readonly pending = new Map<number, { done(out: TaskAnswer[]): void; retry(): void }>();

  constructor(
    private readonly open: () => Promise<LineChannel | null>,
    private readonly byExec: Get,
  ) {}

  async get(endpoint: AppEndpoint, request: ProbeRequest): Promise<TaskAnswer[]> {
    const channel = this.broken ? null : await this.connect();
    if (!channel) return this.byExec(endpoint, request);
    const id = ++this.seq;
    return new Promise<TaskAnswer[]>((resolve, reject) => {
      // The probe answers within the request's own timeout; this bounds a probe that hangs.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new InfraError(
            'DOCKER_FAILED',
            `the probe container gave no answer within ${request.timeoutMs + 15_000} ms`,
          ),
        );
      }, request.timeoutMs + 15_000);
      this.pending.set(id, {
        done: (out) => {
          clearTimeout(timer);
          resolve(out);
        },
        retry: () => {
          clearTimeout(timer);
          this.byExec(endpoint, request).then(resolve, reject);
        },
      });
      channel.send(`${JSON.stringify({ id, q: probeQuery(endpoint, request) })}\n`);
    });
  }

  close(): void {
    this.broken = true;
    void this.channel?.then((c) => c?.close());
  }

  private connect(): Promise<LineChannel | null> {
    this.channel ??= this.open().then(
      (channel) => {
        if (!channel) this.broken = true;
        channel?.onLine((line) => this.answer(line));
        channel?.onClose(() => this.lost());
        return channel;
      },
      () => {
        this.broken = true;
        return null;
      },
    );
    return this.channel;
  }

  private answer(line: string): void {
    let parsed: { id?: unknown; out?: unknown };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      return;
    }
    const waiting = typeof parsed.id === 'number' ? this.pending.get(parsed.id) : undefined;
    if (!waiting || !Array.isArray(parsed.out)) return;
    this.pending.delete(parsed.id as number);
    waiting.done(parsed.out as TaskAnswer[]);
  }

  /** The connection is gone: what it still owed is asked again by exec, and so is what follows. */
  private lost(): void {
    this.broken = true;
    const owed = [...this.pending.values()];
    this.pending.clear();
    for (const w of owed) w.retry();
  }
}
