/**
 * Reaching the app the way Traefik does: over the `proxy` overlay network, at the addresses of
 * the public service's tasks (`tasks.<service>`, which routes on hosts without IPVS too) and the
 * port of its `traefik.http.services.<name>.loadbalancer.server.port` label, with the app's
 * domain as Host header. Nothing is published on the host.
 *
 * A run starts one small probe container attached to `proxy` (labelled as the run's, so teardown
 * and the janitor find it) and sends each request as an exec into it: this works the
 * same whether cc-ci is a host process (a maintainer's local run) or the plugin in a Drone step
 * container on its own bridge network, and for `fetchApp` in a recipe's tests. The request and
 * the answer cross as JSON arguments and output, never through a shell.
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
 * Runs inside the probe container (`node -e`, CommonJS): resolve the service's task addresses on
 * the network, GET the path from each with the Host header, print one JSON array.
 */
export const PROBE_SCRIPT = `
const { lookup } = require('node:dns').promises;
const http = require('node:http');
const q = JSON.parse(process.argv[1]);
const one = (address) => new Promise((done) => {
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
lookup('tasks.' + q.service, { all: true, family: 4 })
  .then((found) => found.map((a) => a.address).sort(), () => [])
  .then((addrs) => Promise.all((q.all ? addrs : addrs.slice(0, 1)).map(one)))
  .then((out) => process.stdout.write(JSON.stringify(out)));
`;

/** The command of one request, run in the probe container. */
export function probeCommand(endpoint: AppEndpoint, request: ProbeRequest): string[] {
  const query = {
    service: endpoint.service,
    port: endpoint.port,
    host: endpoint.hostHeader,
    path: request.path,
    timeoutMs: request.timeoutMs,
    all: request.all,
    maxBytes: PROBE_MAX_BODY,
  };
  return ['node', '-e', PROBE_SCRIPT, JSON.stringify(query)];
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
      args: ['-e', 'setInterval(() => {}, 1 << 30)'],
      memoryBytes: 128 * 2 ** 20,
    });
    const settling = /network (\S+) not found/.exec(res.stderr);
    if (res.exitCode === 0 || !settling || settling[1] === opts.network) return res;
    if (attempt === PROBE_START_ATTEMPTS) return res;
    await docker.removeObject('container', opts.name).catch(() => false);
    await new Promise((r) => setTimeout(r, 250 * attempt));
  }
}

/**
 * Start the run's probe container on `network`: `image` must have `node` (the plugin image, or
 * the local ccci/node-base image). Labelled with the run's labels; removed by `close()`, by
 * teardown's leftover sweep, or by the janitor.
 */
export async function openProxyProbe(
  docker: DockerCli,
  opts: ProxyProbeOptions,
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
  return {
    container,
    async get(endpoint, request) {
      const out = await docker.exec(container, probeCommand(endpoint, request), {
        timeoutMs: request.timeoutMs + 15_000,
      });
      return parseProbeOutput(out.stdout, out.stderr);
    },
    async close() {
      await docker.removeObject('container', container).catch(() => false);
    },
  };
}
