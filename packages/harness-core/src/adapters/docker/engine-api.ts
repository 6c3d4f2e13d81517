/**
 * The Docker port's reads over the Engine API (the daemon's unix socket, one kept-alive
 * connection pool for the process) instead of one `docker` CLI process per question: a list or
 * an inspect costs ~3 ms here against ~25 ms to spawn the CLI. Writes — stack deploy (which has
 * no API), rm, exec, the volume helpers — stay on the CLI (docker-cli.ts), so behaviour and
 * error texts of every write are unchanged. The answers are the same JSON the CLI's inspect
 * prints, mapped by the same code.
 */
import { Agent, request } from 'node:http';
import { InfraError } from '../../errors.js';
import type {
  MountInfo,
  ServiceInfo,
  SwarmObject,
  SwarmObjectKind,
  TaskInfo,
} from '../../ports/docker.js';
import { dockerSocketPath } from '../process/host-env.js';
import { DockerCli, type DockerCliOptions, type RawService, type RawTask } from './docker-cli.js';

const LIST_PATH: Record<SwarmObjectKind, string> = {
  service: '/services',
  network: '/networks',
  volume: '/volumes',
  secret: '/secrets',
  config: '/configs',
  container: '/containers/json?all=1',
};

/** One object of a list answer, as SwarmObject (each kind answers in its own shape). */
function toObject(kind: SwarmObjectKind, raw: Record<string, unknown>): SwarmObject {
  const spec = (raw.Spec ?? {}) as { Name?: string; Labels?: Record<string, string> };
  const names = raw.Names as string[] | undefined;
  const name = String(spec.Name ?? names?.[0] ?? raw.Name ?? raw.ID ?? raw.Id ?? '').replace(
    /^\//,
    '',
  );
  const labels = spec.Labels ?? (raw.Labels as Record<string, string> | null | undefined) ?? {};
  return { kind, id: String(raw.ID ?? raw.Id ?? raw.Name), name, labels };
}

export class EngineApiDocker extends DockerCli {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });

  constructor(
    private readonly socketPath: string,
    opts: DockerCliOptions = {},
  ) {
    super(opts);
  }

  /** GET a path of the Engine API; 404 → null; anything else not 2xx → InfraError. */
  private get<T>(path: string): Promise<T | null> {
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: this.socketPath, path, method: 'GET', agent: this.agent, timeout: 60_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode === 404) return resolve(null);
            if (!res.statusCode || res.statusCode >= 300)
              return reject(
                new InfraError(
                  'DOCKER_FAILED',
                  `Engine API GET ${path.split('?')[0]} answered ${res.statusCode}: ${body.slice(0, 500)}`,
                ),
              );
            try {
              resolve(JSON.parse(body) as T);
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 60 s')));
      req.on('error', (err) =>
        reject(
          err instanceof InfraError
            ? err
            : new InfraError(
                'DOCKER_FAILED',
                `Engine API GET ${path.split('?')[0]} on ${this.socketPath}: ${err.message}`,
                { cause: err },
              ),
        ),
      );
      req.end();
    });
  }

  private withFilters(path: string, filters: Record<string, string[]>): string {
    const q = `filters=${encodeURIComponent(JSON.stringify(filters))}`;
    return `${path}${path.includes('?') ? '&' : '?'}${q}`;
  }

  private async list(
    kind: SwarmObjectKind,
    filters: Record<string, string[]>,
  ): Promise<Array<Record<string, unknown>>> {
    const answer = await this.get<unknown>(this.withFilters(LIST_PATH[kind], filters));
    // /volumes answers {Volumes: [...]}; the others a list.
    const items = kind === 'volume' ? (answer as { Volumes?: unknown[] } | null)?.Volumes : answer;
    return (Array.isArray(items) ? items : []) as Array<Record<string, unknown>>;
  }

  override async listServices(stack: string): Promise<ServiceInfo[]> {
    const raws = await this.list('service', { label: [`com.docker.stack.namespace=${stack}`] });
    return raws.map((r) => this.toService(r as unknown as RawService));
  }

  override async inspectService(name: string): Promise<ServiceInfo | null> {
    const raw = await this.get<RawService>(`/services/${encodeURIComponent(name)}`);
    return raw ? this.toService(raw) : null;
  }

  override async listTasks(serviceName: string): Promise<TaskInfo[]> {
    // The daemon resolves a `service` filter as `docker service ps` does: full ID, exact name,
    // then ID prefix; an unknown service has no tasks.
    const raws = await this.get<RawTask[]>(this.withFilters('/tasks', { service: [serviceName] }));
    return this.toTasks(serviceName, raws ?? []);
  }

  override async listObjects(
    kind: SwarmObjectKind,
    labels: Readonly<Record<string, string>>,
  ): Promise<SwarmObject[]> {
    const label = Object.entries(labels).map(([k, v]) => (v ? `${k}=${v}` : k));
    return (await this.list(kind, label.length ? { label } : {})).map((r) => toObject(kind, r));
  }

  override async listObjectsByPrefix(
    kind: SwarmObjectKind,
    prefix: string,
  ): Promise<SwarmObject[]> {
    return (await this.list(kind, { name: [prefix] }))
      .map((r) => toObject(kind, r))
      .filter((o) => o.name.startsWith(prefix));
  }

  override async containerMounts(containerId: string): Promise<MountInfo[]> {
    return ((await this.inspectContainer(containerId))?.Mounts ?? []).map((m) => ({
      type: m.Type,
      name: m.Name ?? m.Source ?? '',
      destination: m.Destination,
    }));
  }

  override async containerImage(idOrName: string): Promise<string | null> {
    return (await this.inspectContainer(idOrName))?.Config?.Image || null;
  }

  override async containerStartedAt(idOrName: string): Promise<string | null> {
    return (await this.inspectContainer(idOrName))?.State?.StartedAt || null;
  }

  override async containerRunning(idOrName: string): Promise<boolean | null> {
    const raw = await this.inspectContainer(idOrName);
    return raw ? raw.State?.Running === true : null;
  }

  /** GET /containers/{id}/json: the fields read here, or null when there is no such container. */
  private inspectContainer(idOrName: string) {
    return this.get<{
      Mounts?: Array<{ Type: string; Name?: string; Source?: string; Destination: string }>;
      Config?: { Image?: string };
      State?: { StartedAt?: string; Running?: boolean };
    }>(`/containers/${encodeURIComponent(idOrName)}/json`);
  }

  /** Close the kept-alive connections (a long-lived process need not). */
  close(): void {
    this.agent.destroy();
  }
}

/** The Docker port for this process: reads over the Engine API when the daemon is local. */
export function createDocker(opts: DockerCliOptions = {}): DockerCli {
  const socket = dockerSocketPath();
  return socket ? new EngineApiDocker(socket, opts) : new DockerCli(opts);
}
