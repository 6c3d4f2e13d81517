/**
 * The docker-native deployer: what `abra app deploy` does, with `docker stack deploy` and the
 * docker CLI. Used where abra is not installed (CI of cc-ci itself, maintainers' machines).
 *
 * - secrets: `SECRET_<NAME>_VERSION=v1 # length=N` lines of .env.sample → external secrets
 *   `<stack>_<name>_<version>` with generated values (created from stdin, never argv);
 * - deploy: `docker stack deploy --prune --resolve-image never` of COMPOSE_FILE + CI overlays +
 *   a generated overlay that labels services, volumes, networks and configs for this run and
 *   stamps chaos deploys. Nothing is published on the host: cc-ci reaches the app over `proxy`
 *   as Traefik does (adapters/docker/proxy-probe.ts). On a kernel without IPVS, where service
 *   VIPs do not route, the overlay also sets `deploy.endpoint_mode: dnsrr` on every service that
 *   does not choose its own (and publishes no ingress port), so services reach each other by
 *   name as they would through a VIP in production; the run log says so;
 * - undeploy/removeData: `docker stack rm`, wait until gone, then volumes, secrets, configs.
 */
import { chaosVersion } from '../domain/versions.js';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { InfraError, InputError } from '../errors.js';
import { parseEnvFile, secretSpecs } from '../domain/env-file.js';
import { appEndpoint, labelMapOf, readComposeDocs, type ComposeDoc } from './compose-files.js';
import { secretObjectName } from '../domain/naming.js';
import { hostEnv } from '../adapters/process/host-env.js';
import { hostHasIpvs } from '../adapters/docker/ipvs.js';
import type { DockerPort } from '../ports/docker.js';
import type { DeployRequest, DeployedApp, Deployer, GeneratedSecret } from '../ports/deployer.js';

export interface DockerDeployerOptions {
  readonly docker: DockerPort;
  /** Where generated overlay files go (the run directory). */
  readonly workDir: string;
  readonly now?: () => number;
  /** Set `endpoint_mode: dnsrr` in the CI overlay; unset = when the host has no IPVS. */
  readonly dnsrr?: boolean;
  /** Where the deployer says what it changed for this host (the run log). */
  readonly note?: (message: string) => void;
}

type ServiceDef = { deploy?: { endpoint_mode?: unknown }; ports?: unknown };

/**
 * Services that get `endpoint_mode: dnsrr`: those whose files set no endpoint mode and publish
 * no port through the ingress mesh (swarm refuses dnsrr with ingress ports; without IPVS those
 * do not work anyway). Pure.
 */
export function dnsrrServices(docs: ReadonlyArray<{ doc: ComposeDoc }>): string[] {
  const chosen = new Set<string>();
  const ingress = new Set<string>();
  const all = new Set<string>();
  for (const { doc } of docs) {
    for (const [name, raw] of Object.entries(doc.services ?? {})) {
      const def = (raw ?? {}) as ServiceDef;
      all.add(name);
      if (def.deploy?.endpoint_mode !== undefined) chosen.add(name);
      const ports = Array.isArray(def.ports) ? (def.ports as unknown[]) : [];
      if (
        ports.some(
          (p) => typeof p !== 'object' || p === null || (p as { mode?: unknown }).mode !== 'host',
        )
      )
        ingress.add(name);
    }
  }
  return [...all].filter((n) => !chosen.has(n) && !ingress.has(n));
}

type TopLevelKind = 'volumes' | 'networks' | 'configs';
type TopLevelDef = {
  external?: unknown;
  labels?: Record<string, string> | string[];
  file?: string;
};

/**
 * The run's labels on every volume, network and config the stack creates, from the moment it is
 * created: after `docker stack rm` (or a kill in the middle of teardown) Docker's own stack label
 * is all that would be left, and the janitor finds runs by cc-ci's labels. Compose merges a
 * later file's entry field by field, but resolves a config's `file` against the directory of the
 * first file: a config is copied whole, with its file made absolute. External objects are not
 * the stack's and are left alone.
 */
function labelledTopLevel(
  docs: ReadonlyArray<{ file: string; doc: ComposeDoc }>,
  labels: Readonly<Record<string, string>>,
): Partial<Record<TopLevelKind, Record<string, TopLevelDef>>> {
  const baseDir = docs[0] ? dirname(docs[0].file) : '.';
  const out: Partial<Record<TopLevelKind, Record<string, TopLevelDef>>> = {};
  for (const kind of ['volumes', 'networks', 'configs'] as const) {
    const merged = new Map<string, TopLevelDef>();
    for (const { doc } of docs) {
      const section = (doc as Record<string, unknown>)[kind];
      if (!section || typeof section !== 'object') continue;
      for (const [name, def] of Object.entries(section as Record<string, unknown>)) {
        const prev = merged.get(name) ?? {};
        merged.set(name, { ...prev, ...((def ?? {}) as TopLevelDef) });
      }
    }
    const entries: Record<string, TopLevelDef> = {};
    for (const [name, def] of merged) {
      if (def.external) continue;
      const entry: TopLevelDef =
        kind === 'configs'
          ? { ...def, ...(def.file ? { file: resolve(baseDir, def.file) } : {}) }
          : {};
      entry.labels = { ...labelMapOf(def.labels), ...labels };
      entries[name] = entry;
    }
    if (Object.keys(entries).length) out[kind] = entries;
  }
  return out;
}

export class DockerDeployer implements Deployer {
  readonly kind = 'docker' as const;
  private readonly secretsByStack = new Map<string, GeneratedSecret[]>();
  private readonly dnsrr: boolean;

  constructor(private readonly opts: DockerDeployerOptions) {
    this.dnsrr = opts.dnsrr ?? !hostHasIpvs();
  }

  /** Read and parse the compose files a deploy would use; YAML errors are the recipe's (exit 2). */
  composeDocs(req: DeployRequest): Promise<Array<{ file: string; doc: ComposeDoc }>> {
    return readComposeDocs(req);
  }

  async validate(req: DeployRequest): Promise<void> {
    await readComposeDocs(req);
  }

  async createSecrets(req: DeployRequest): Promise<GeneratedSecret[]> {
    const existing = this.secretsByStack.get(req.stack);
    if (existing) return existing;
    let envText = '';
    try {
      envText = await readFile(join(req.recipe.dir, '.env.sample'), 'utf8');
    } catch {
      envText = '';
    }
    const created: GeneratedSecret[] = [];
    for (const spec of secretSpecs(parseEnvFile(envText))) {
      const dockerName = secretObjectName(req.stack, spec.name, spec.version);
      // URL-safe characters only, exactly `length` long (abra's generator gives the same alphabet).
      const value = randomBytes(spec.length * 2)
        .toString('base64url')
        .slice(0, spec.length);
      await this.opts.docker.createSecret(dockerName, value, {
        ...req.labels,
        'com.docker.stack.namespace': req.stack,
      });
      created.push({ name: spec.name, version: spec.version, dockerName, value });
    }
    this.secretsByStack.set(req.stack, created);
    return created;
  }

  async deploy(req: DeployRequest): Promise<DeployedApp> {
    const docs = await this.composeDocs(req);
    const env = { ...req.env };
    const services = new Set(docs.flatMap(({ doc }) => Object.keys(doc.services ?? {})));
    if (services.size === 0)
      throw new InputError('COMPOSE_INVALID', `the recipe's compose files define no services`);

    // Nothing is published on the host: cc-ci reaches the app as Traefik does (proxy-probe.ts).
    const endpoint = appEndpoint(docs, req);
    const overlayServices: Record<string, unknown> = {};
    const chaos = chaosVersion(req.recipe.commit, req.recipe.dirty);
    for (const name of services) {
      const labels: Record<string, string> = { ...req.labels };
      if (req.chaos) {
        labels[`coop-cloud.${req.stack}.chaos`] = 'true';
        labels[`coop-cloud.${req.stack}.chaos-version`] = chaos;
      }
      overlayServices[name] = { deploy: { labels } };
    }
    if (this.dnsrr) {
      const changed = dnsrrServices(docs);
      for (const name of changed) {
        (overlayServices[name] as { deploy: Record<string, unknown> }).deploy.endpoint_mode =
          'dnsrr';
      }
      if (changed.length)
        this.opts.note?.(
          `this host has no IPVS (service VIPs do not route): the CI overlay sets deploy.endpoint_mode: dnsrr on ${changed.join(', ')}; production swarms keep VIPs`,
        );
    }
    await mkdir(this.opts.workDir, { recursive: true });
    const overlay = join(this.opts.workDir, `compose.ccci-run${req.chaos ? '-chaos' : ''}.yml`);
    await writeFile(
      overlay,
      toYaml({
        version: '3.8',
        services: overlayServices,
        ...labelledTopLevel(docs, req.labels),
      }),
    );

    const files = [...docs.map((d) => d.file), overlay];
    // The recipe's values are compose interpolation variables here and nothing more: the run
    // refused reserved names (PATH, DOCKER_*, LD_*, ...) before it started (host-env.ts).
    const childEnv = hostEnv(env);
    await this.opts.docker.deployStack(req.stack, files, {
      env: childEnv,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    return {
      domain: req.domain,
      stack: req.stack,
      services: [...services].map((name) => ({ name, fullName: `${req.stack}_${name}` })),
      endpoint,
      secrets: this.secretsByStack.get(req.stack) ?? [],
    };
  }

  async undeploy(stack: string, signal?: AbortSignal): Promise<void> {
    const docker = this.opts.docker;
    await docker.removeStack(stack);
    // A CI app's data is thrown away: its tasks need no stop grace period (a PID 1 that ignores
    // SIGTERM would hold teardown for its whole stop_grace_period), and its containers need not
    // wait seconds for the swarm agent to reap them. The verification below is unchanged:
    // services, containers and networks must all be gone.
    await docker.removeStackContainers(stack).catch(() => 0);
    await waitUntil(
      async () => {
        const [svcs, ctrs, nets] = await Promise.all([
          docker.listObjects('service', { 'com.docker.stack.namespace': stack }),
          docker.listObjects('container', { 'com.docker.stack.namespace': stack }),
          docker.listObjects('network', { 'com.docker.stack.namespace': stack }),
        ]);
        return svcs.length + ctrs.length + nets.length === 0;
      },
      { timeoutMs: 90_000, intervalMs: 100, signal: undefined },
    ).catch((err) => {
      throw new InfraError(
        'TEARDOWN_FAILED',
        `stack ${stack} was not gone 90 s after "docker stack rm": ${String(err)}`,
      );
    });
    void signal; // teardown must finish even when the run was aborted
  }

  async removeData(stack: string): Promise<void> {
    const docker = this.opts.docker;
    const prefix = `${stack}_`;
    for (const kind of ['volume', 'secret', 'config'] as const) {
      const objs = [
        ...(await docker.listObjects(kind, { 'com.docker.stack.namespace': stack })),
        ...(await docker.listObjectsByPrefix(kind, prefix)),
      ];
      for (const name of new Set(objs.map((o) => o.name))) {
        // A volume can stay "in use" for a moment after its container is removed.
        await waitUntil(
          async () =>
            await docker
              .removeObject(kind, name)
              .then(() => true)
              .catch(() => false),
          {
            timeoutMs: 30_000,
            intervalMs: 500,
          },
        ).catch(() => undefined);
      }
    }
    this.secretsByStack.delete(stack);
  }
}

/** Poll `check` until it returns true; bounded by time (and hence by count). */
export async function waitUntil(
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs: number; signal?: AbortSignal | undefined },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await check()) return;
    if (opts.signal?.aborted) throw new Error('aborted');
    if (Date.now() >= deadline) throw new Error(`condition not met within ${opts.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}
