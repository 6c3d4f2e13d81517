/**
 * DockerPort over the docker CLI: every call is an argument array, JSON output is translated
 * into our own types here, and daemon failures become InfraError with the command and stderr.
 */
import { randomBytes } from 'node:crypto';
import { InfraError, InputError, RecipeError } from '../../errors.js';
import type {
  DockerPort,
  ExecResult,
  MountInfo,
  ServiceInfo,
  SwarmObject,
  SwarmObjectKind,
  TaskInfo,
  VolumeHelper,
  VolumeUsage,
} from '../../ports/docker.js';
import type { ProxyProbe, ProxyProbeOptions } from '../../ports/proxy-probe.js';
import { runProcess, type ProcessRunner } from '../process/run-process.js';
import {
  HELPER_GONE,
  KEPT_HELPER_LIFETIME_S,
  KeptHelpers,
  type KeptHelperSpec,
} from './kept-helpers.js';
import { openProxyProbe } from './proxy-probe.js';

export interface DockerCliOptions {
  readonly run?: ProcessRunner;
  /** The docker binary (default `docker` on PATH). */
  readonly bin?: string;
  readonly timeoutMs?: number;
}

/** A service as `docker service inspect` and the Engine API's /services answer it. */
export interface RawService {
  ID: string;
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    TaskTemplate?: { ContainerSpec?: { Image?: string } };
    Mode?: { Replicated?: { Replicas?: number } };
  };
  PreviousSpec?: { Labels?: Record<string, string> };
  UpdateStatus?: { State?: string; Message?: string };
}

/** A task as `docker inspect --type task` and the Engine API's /tasks answer it. */
export interface RawTask {
  ID: string;
  ServiceID: string;
  DesiredState: string;
  Status: {
    State: string;
    Err?: string;
    Message?: string;
    Timestamp?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
}

/** `docker … ` failed because the object does not exist (rather than because the daemon failed). */
const NO_SUCH = /no such (service|task|container|object|secret|network|volume|config)|not found/i;

/** `docker stack deploy` over a config or secret whose content changed under the same name. */
const IMMUTABLE_CHANGED =
  /failed to update (config|secret) (\S+?):.*only updates to Labels are allowed/s;

/** `<stack>_migrate_sql_v1` → `MIGRATE_SQL_VERSION` (the abra.sh convention). */
const versionVarOf = (stack: string, objectName: string) => {
  const own = objectName.startsWith(`${stack}_`) ? objectName.slice(stack.length + 1) : objectName;
  return `${own.replace(/_[^_]*$/, '').toUpperCase()}_VERSION`;
};

/** What `docker stack deploy` says when it refuses the compose files themselves. */
const COMPOSE_REFUSAL =
  /yaml|compose|additional propert|unsupported|invalid|undefined (volume|network|secret|config)|must be a/i;

/** `docker system df` sizes: "307.2kB", "1.5GB", "0B" (decimal units); unknown → 0. */
export function parseDockerSize(text: string): number {
  const m = /^([0-9.]+)\s*([kMGTP]?)B$/.exec(text.trim());
  if (!m) return 0;
  const power = ['', 'k', 'M', 'G', 'T', 'P'].indexOf(m[2]!);
  return Math.round(Number(m[1]) * 1000 ** power);
}

/** The CLI's `k=v,k2=v2` label list. */
function parseLabelList(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const i = pair.indexOf('=');
    if (i > 0) labels[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return labels;
}

const labelArgs = (flag: string, labels: Readonly<Record<string, string>>) =>
  Object.entries(labels).flatMap(([k, v]) => [flag, `${k}=${v}`]);

const LIST_CMD: Record<SwarmObjectKind, string[]> = {
  service: ['service', 'ls'],
  network: ['network', 'ls'],
  volume: ['volume', 'ls'],
  secret: ['secret', 'ls'],
  config: ['config', 'ls'],
  container: ['ps', '-a'],
};

const RM_CMD: Record<SwarmObjectKind, string[]> = {
  service: ['service', 'rm'],
  network: ['network', 'rm'],
  volume: ['volume', 'rm', '--force'],
  secret: ['secret', 'rm'],
  config: ['config', 'rm'],
  container: ['rm', '--force', '--volumes'],
};

const INSPECT_CMD: Record<SwarmObjectKind, string[]> = {
  service: ['service', 'inspect'],
  network: ['network', 'inspect'],
  volume: ['volume', 'inspect'],
  secret: ['secret', 'inspect'],
  config: ['config', 'inspect'],
  container: ['container', 'inspect'],
};

/**
 * The sandbox of a volume helper, whichever way it is created: no network, every capability
 * dropped but the three a file copy needs, no privilege gained through setuid.
 */
export const HELPER_SANDBOX = {
  network: 'none',
  capAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'],
  securityOpt: ['no-new-privileges'],
} as const;

/** What `docker info` says of the daemon's swarm, and the daemon's clock. */
export interface DaemonInfo {
  readonly Swarm?: {
    readonly NodeID?: string;
    readonly ControlAvailable?: boolean;
    readonly Cluster?: { readonly ID?: string };
  };
  readonly SystemTime?: string;
}

/** A service's name, labels and last update time (the manager's clock), as inspect gives them. */
export interface ServiceMeta {
  readonly name: string;
  readonly updatedAt: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A service's inspect JSON, the fields of ServiceMeta. */
export interface RawServiceMeta {
  readonly Spec: { readonly Name: string; readonly Labels?: Record<string, string> };
  readonly UpdatedAt: string;
}

export const toServiceMeta = (s: RawServiceMeta): ServiceMeta => ({
  name: s.Spec.Name,
  updatedAt: s.UpdatedAt,
  labels: s.Spec.Labels ?? {},
});

/** A service with no replicas that only holds labels (a swarm lock): never pulled, never run. */
export interface LabelService {
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A container runDetached starts. */
export interface DetachedContainer {
  readonly name: string;
  readonly image: string;
  readonly network: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly entrypoint: string;
  readonly args: readonly string[];
  readonly memoryBytes: number;
  /** Its stdin kept open (`--interactive`), for a process that serves requests on it. */
  readonly interactive?: boolean;
}

export class DockerCli implements DockerPort {
  private readonly run: ProcessRunner;
  private readonly bin: string;
  private readonly timeoutMs: number;

  constructor(opts: DockerCliOptions = {}) {
    this.run = opts.run ?? runProcess;
    this.bin = opts.bin ?? 'docker';
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /**
   * Run docker; throw InfraError on a non-zero exit unless `allowFail`. The raw argv door: only
   * the Docker adapter (adapters/docker/) calls it — everything else goes through DockerPort's
   * typed methods (an ESLint rule enforces it).
   */
  async docker(
    args: readonly string[],
    opts: {
      allowFail?: boolean;
      stdin?: string | Buffer;
      timeoutMs?: number;
      env?: NodeJS.ProcessEnv;
      signal?: AbortSignal;
    } = {},
  ) {
    let res;
    try {
      res = await this.run(this.bin, args, {
        timeoutMs: opts.timeoutMs ?? this.timeoutMs,
        ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
        ...(opts.env ? { env: opts.env } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      throw new InfraError(
        'DOCKER_FAILED',
        `could not run "${this.bin}": ${String(err)}; is the docker CLI installed?`,
        { cause: err },
      );
    }
    if (res.timedOut) {
      throw new InfraError(
        'DOCKER_FAILED',
        `docker ${args.slice(0, 3).join(' ')} timed out after ${opts.timeoutMs ?? this.timeoutMs} ms`,
      );
    }
    if (res.exitCode !== 0 && !opts.allowFail) {
      throw new InfraError(
        'DOCKER_FAILED',
        `docker ${args.slice(0, 3).join(' ')} failed (exit ${res.exitCode}): ${res.stderr.trim().slice(0, 2000)}`,
      );
    }
    return res;
  }

  private async inspectJson<T>(kind: SwarmObjectKind, ids: readonly string[]): Promise<T[]> {
    if (ids.length === 0) return [];
    const res = await this.docker([...INSPECT_CMD[kind], ...ids], { allowFail: true });
    if (res.exitCode !== 0) {
      if (!NO_SUCH.test(res.stderr))
        throw new InfraError(
          'DOCKER_FAILED',
          `docker ${INSPECT_CMD[kind].join(' ')} failed (exit ${res.exitCode}): ${res.stderr.trim().slice(0, 500)}`,
        );
      // Objects can vanish between list and inspect; inspect them one by one.
      if (ids.length === 1) return [];
      const each = await Promise.all(ids.map((id) => this.inspectJson<T>(kind, [id])));
      return each.flat();
    }
    return JSON.parse(res.stdout) as T[];
  }

  protected toService(raw: RawService): ServiceInfo {
    return {
      id: raw.ID,
      name: raw.Spec.Name,
      labels: raw.Spec.Labels ?? {},
      previousLabels: raw.PreviousSpec ? (raw.PreviousSpec.Labels ?? {}) : null,
      image: raw.Spec.TaskTemplate?.ContainerSpec?.Image ?? '',
      replicas: raw.Spec.Mode?.Replicated?.Replicas ?? null,
      updateStatus: raw.UpdateStatus?.State
        ? { state: raw.UpdateStatus.State, message: raw.UpdateStatus.Message ?? '' }
        : null,
    };
  }

  async listServices(stack: string): Promise<ServiceInfo[]> {
    const ids = await this.listIds('service', [
      '--filter',
      `label=com.docker.stack.namespace=${stack}`,
    ]);
    return (await this.inspectJson<RawService>('service', ids)).map((s) => this.toService(s));
  }

  async inspectService(name: string): Promise<ServiceInfo | null> {
    const [raw] = await this.inspectJson<RawService>('service', [name]);
    return raw ? this.toService(raw) : null;
  }

  /**
   * Tasks of a service. A service that does not exist has none; any other failure (a daemon that
   * stops answering mid-convergence) is an InfraError, never an empty list a caller would read
   * as "no tasks yet" and blame on the recipe.
   */
  async listTasks(serviceName: string): Promise<TaskInfo[]> {
    const res = await this.docker(['service', 'ps', '--no-trunc', '--quiet', serviceName], {
      allowFail: true,
    });
    if (res.exitCode !== 0) {
      if (NO_SUCH.test(res.stderr)) return [];
      throw new InfraError(
        'DOCKER_FAILED',
        `docker service ps ${serviceName} failed (exit ${res.exitCode}): ${res.stderr.trim().slice(0, 500)}`,
      );
    }
    const ids = res.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (ids.length === 0) return [];
    const r = await this.docker(['inspect', '--type', 'task', ...ids], { allowFail: true });
    if (r.exitCode !== 0) {
      // Tasks can be pruned between the list and the inspect: ask again once, one by one.
      if (!NO_SUCH.test(r.stderr))
        throw new InfraError(
          'DOCKER_FAILED',
          `docker inspect of ${serviceName}'s tasks failed: ${r.stderr.trim().slice(0, 500)}`,
        );
      return this.listTasksOneByOne(serviceName, ids);
    }
    return this.toTasks(serviceName, JSON.parse(r.stdout) as RawTask[]);
  }

  private async listTasksOneByOne(serviceName: string, ids: string[]): Promise<TaskInfo[]> {
    const raws: RawTask[] = [];
    for (const id of ids) {
      const r = await this.docker(['inspect', '--type', 'task', id], { allowFail: true });
      if (r.exitCode === 0) raws.push(...(JSON.parse(r.stdout) as RawTask[]));
      else if (!NO_SUCH.test(r.stderr))
        throw new InfraError('DOCKER_FAILED', `docker inspect task ${id}: ${r.stderr.trim()}`);
    }
    return this.toTasks(serviceName, raws);
  }

  protected toTasks(serviceName: string, raws: RawTask[]): TaskInfo[] {
    const tasks = raws.map((t): TaskInfo => ({
      id: t.ID,
      serviceName,
      state: t.Status.State,
      desiredState: t.DesiredState,
      error: t.Status.Err ?? '',
      message: t.Status.Message ?? '',
      exitCode: t.Status.ContainerStatus?.ExitCode ?? null,
      containerId: t.Status.ContainerStatus?.ContainerID || null,
      timestamp: t.Status.Timestamp ?? '',
    }));
    return tasks.sort((a, b) => b.timestamp.localeCompare(a.timestamp));
  }

  async exec(
    containerId: string,
    argv: readonly string[],
    opts: { stdin?: Buffer | string; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    const args = ['exec', ...(opts.stdin !== undefined ? ['-i'] : []), containerId, ...argv];
    const res = await this.docker(args, {
      allowFail: true,
      timeoutMs: opts.timeoutMs ?? 60_000,
      ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
    });
    return { exitCode: res.exitCode, stdout: res.stdout, stderr: res.stderr };
  }

  private helperArgs(helper: VolumeHelper, readOnly: boolean): string[] {
    return [
      '--network',
      HELPER_SANDBOX.network,
      '--cap-drop',
      'ALL',
      ...HELPER_SANDBOX.capAdd.flatMap((c) => ['--cap-add', c]),
      ...HELPER_SANDBOX.securityOpt.flatMap((o) => ['--security-opt', o]),
      ...Object.entries(helper.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
      '-v',
      `${helper.volume}:/volume${readOnly ? ':ro' : ''}`,
      '--entrypoint',
      'sh',
      helper.image,
    ];
  }

  /** Start a kept volume helper (an idle `sleep`); its container ID. */
  protected async startKeptHelper(helper: KeptHelperSpec): Promise<string> {
    const res = await this.docker([
      'run',
      '--detach',
      '--rm',
      ...this.helperArgs(helper, helper.readOnly === true),
      '-c',
      `sleep ${KEPT_HELPER_LIFETIME_S}`,
    ]);
    return res.stdout.trim();
  }

  /** Force-remove containers; one already gone is not an error. */
  protected async removeContainers(ids: readonly string[]): Promise<void> {
    await this.docker(['rm', '--force', ...ids], { allowFail: true });
  }

  protected readonly helpers = new KeptHelpers(
    (helper) => this.startKeptHelper(helper),
    (ids) => this.removeContainers(ids),
  );

  async volumeScript(
    helper: VolumeHelper,
    script: string,
    args: readonly string[],
    stdin?: string,
  ): Promise<ExecResult> {
    const timeoutMs = helper.timeoutMs ?? 300_000;
    return this.inKeptHelper(helper, (id) =>
      this.exec(id, ['sh', '-c', script, 'sh', ...args], {
        timeoutMs,
        ...(stdin !== undefined ? { stdin } : {}),
      }),
    );
  }

  /**
   * Run an exec in the helper kept for this volume; a helper found gone (it expired, something
   * removed it) is replaced once. One whose exec threw (timed out) may still be running the
   * script: the helper goes with it.
   */
  protected async inKeptHelper(
    helper: KeptHelperSpec,
    run: (containerId: string) => Promise<ExecResult>,
  ): Promise<ExecResult> {
    for (let attempt = 1; ; attempt++) {
      const id = await this.helpers.get(helper);
      let res;
      try {
        res = await run(id);
      } catch (err) {
        await this.helpers.discard(helper);
        throw err;
      }
      if (res.exitCode !== 0 && HELPER_GONE.test(res.stderr) && attempt === 1) {
        await this.helpers.discard(helper);
        continue;
      }
      return res;
    }
  }

  /**
   * Whether archives run in a kept read-only helper (over the Engine API); through the CLI an
   * archive copies out of a helper of its own, so only read-write helpers are kept.
   */
  protected readonly keepsReadOnlyHelpers: boolean = false;

  async warmVolumeHelper(helper: VolumeHelper, readOnly: boolean): Promise<boolean> {
    if (readOnly && !this.keepsReadOnlyHelpers) return false;
    return this.helpers.get({ ...helper, readOnly }).then(
      () => true,
      () => false,
    );
  }

  releaseVolumeHelpers(): Promise<number> {
    return this.helpers.release();
  }

  /** Create a helper, optionally copy a file in, run it, optionally copy a file out; always remove it. */
  private async helperRun(
    helper: VolumeHelper,
    readOnly: boolean,
    script: string,
    args: readonly string[],
    copy: { in?: string; out?: string },
  ): Promise<ExecResult> {
    const name = `ccci-volume-${randomBytes(6).toString('hex')}`;
    const inside = '/tmp/ccci-archive.tar';
    const timeoutMs = helper.timeoutMs ?? 600_000;
    try {
      await this.docker([
        'create',
        '--name',
        name,
        ...this.helperArgs(helper, readOnly),
        '-c',
        script,
        'sh',
        ...args,
      ]);
      if (copy.in) await this.docker(['cp', copy.in, `${name}:${inside}`], { timeoutMs });
      const res = await this.docker(['start', '--attach', name], { allowFail: true, timeoutMs });
      if (res.exitCode === 0 && copy.out)
        await this.docker(['cp', `${name}:${inside}`, copy.out], { timeoutMs });
      return { exitCode: res.exitCode, stdout: res.stdout, stderr: res.stderr };
    } finally {
      await this.docker(['rm', '--force', name], { allowFail: true });
    }
  }

  archiveVolume(helper: VolumeHelper, paths: readonly string[], file: string) {
    return this.helperRun(
      helper,
      true,
      'cd /volume && tar -cf /tmp/ccci-archive.tar "$@"',
      paths.length ? paths : ['.'],
      { out: file },
    );
  }

  restoreVolume(helper: VolumeHelper, file: string) {
    return this.helperRun(helper, false, 'cd /volume && tar -xf /tmp/ccci-archive.tar', [], {
      in: file,
    });
  }

  async containerMounts(containerId: string): Promise<MountInfo[]> {
    const [raw] = await this.inspectJson<{
      Mounts?: Array<{ Type: string; Name?: string; Source?: string; Destination: string }>;
    }>('container', [containerId]);
    return (raw?.Mounts ?? []).map((m) => ({
      type: m.Type,
      name: m.Name ?? m.Source ?? '',
      destination: m.Destination,
    }));
  }

  async serviceLogs(serviceName: string, tail: number): Promise<string> {
    const res = await this.docker(
      [
        'service',
        'logs',
        '--timestamps',
        '--no-trunc',
        '--raw',
        '--tail',
        String(tail),
        serviceName,
      ],
      { allowFail: true, timeoutMs: 20_000 },
    );
    return res.stdout + res.stderr;
  }

  private async listIds(kind: SwarmObjectKind, filters: string[]): Promise<string[]> {
    // Volumes have no ID column; their name is the identifier.
    const format = kind === 'volume' ? '{{.Name}}' : '{{.ID}}';
    const res = await this.docker([...LIST_CMD[kind], ...filters, '--format', format]);
    return res.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }

  private async objects(kind: SwarmObjectKind, ids: string[]): Promise<SwarmObject[]> {
    const raws = await this.inspectJson<Record<string, unknown>>(kind, ids);
    return raws.map((raw) => {
      const spec = (raw.Spec ?? {}) as { Name?: string; Labels?: Record<string, string> };
      const config = (raw.Config ?? {}) as { Labels?: Record<string, string> };
      const name = String(spec.Name ?? raw.Name ?? raw.ID ?? '').replace(/^\//, '');
      const labels =
        spec.Labels ?? (raw.Labels as Record<string, string> | undefined) ?? config.Labels ?? {};
      return { kind, id: String(raw.ID ?? raw.Id ?? raw.Name), name, labels };
    });
  }

  async listObjects(
    kind: SwarmObjectKind,
    labels: Readonly<Record<string, string>>,
  ): Promise<SwarmObject[]> {
    const filters = Object.entries(labels).flatMap(([k, v]) => [
      '--filter',
      v ? `label=${k}=${v}` : `label=${k}`,
    ]);
    return this.objects(kind, await this.listIds(kind, filters));
  }

  async listObjectsByPrefix(kind: SwarmObjectKind, prefix: string): Promise<SwarmObject[]> {
    // `name=` filters match substrings; keep exact prefixes only.
    const ids = await this.listIds(kind, ['--filter', `name=${prefix}`]);
    return (await this.objects(kind, ids)).filter((o) => o.name.startsWith(prefix));
  }

  async removeObject(kind: SwarmObjectKind, idOrName: string): Promise<boolean> {
    if (kind === 'volume') await this.helpers.releaseVolume(idOrName);
    const res = await this.docker([...RM_CMD[kind], idOrName], { allowFail: true });
    if (res.exitCode === 0) return true;
    if (/no such|not found/i.test(res.stderr)) return false;
    throw new InfraError(
      'DOCKER_FAILED',
      `could not remove ${kind} ${idOrName}: ${res.stderr.trim()}`,
    );
  }

  async createSecret(
    name: string,
    value: string,
    labels: Readonly<Record<string, string>>,
  ): Promise<void> {
    await this.docker(['secret', 'create', ...labelArgs('--label', labels), name, '-'], {
      stdin: value,
    });
  }

  async deployStack(
    stack: string,
    files: readonly string[],
    opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal },
  ): Promise<void> {
    const res = await this.docker(
      [
        'stack',
        'deploy',
        '--prune',
        '--resolve-image',
        'never',
        ...files.flatMap((f) => ['-c', f]),
        stack,
      ],
      {
        allowFail: true,
        env: opts.env,
        timeoutMs: 120_000,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
    );
    if (res.exitCode === 0) return;
    const msg = res.stderr.trim();
    const immutable = IMMUTABLE_CHANGED.exec(msg);
    if (immutable)
      throw new RecipeError(
        'IMMUTABLE_CHANGED',
        `${immutable[1]} ${immutable[2]} already exists with other content, and swarm ${immutable[1]}s cannot change: the recipe changed its file without a new version (bump the ${immutable[1]}'s version in abra.sh, e.g. ${versionVarOf(stack, immutable[2]!)})`,
      );
    if (COMPOSE_REFUSAL.test(msg))
      throw new InputError(
        'COMPOSE_INVALID',
        `docker stack deploy refused the recipe's compose files: ${msg.slice(0, 1500)}`,
      );
    throw new InfraError(
      'DOCKER_FAILED',
      `docker stack deploy ${stack} failed: ${msg.slice(0, 1500)}`,
    );
  }

  async removeStack(stack: string): Promise<void> {
    const res = await this.docker(['stack', 'rm', stack], { allowFail: true });
    // "Nothing found in stack" is not a failure: the stack is already gone.
    if (res.exitCode !== 0 && !/nothing found|not found/i.test(res.stderr + res.stdout))
      throw new InfraError('DOCKER_FAILED', `docker stack rm ${stack}: ${res.stderr.trim()}`);
  }

  async killStackContainers(stack: string): Promise<number> {
    const ids = await this.listIds('container', [
      '--filter',
      `label=com.docker.stack.namespace=${stack}`,
      '--filter',
      'status=running',
    ]);
    if (ids.length === 0) return 0;
    // A container that exits meanwhile is not an error: it is what we want.
    const res = await this.docker(['kill', ...ids], { allowFail: true });
    if (res.exitCode !== 0 && !/is not running|no such container/i.test(res.stderr))
      throw new InfraError('DOCKER_FAILED', `docker kill: ${res.stderr.trim().slice(0, 500)}`);
    return ids.length;
  }

  async removeStackContainers(stack: string): Promise<number> {
    const ids = await this.listIds('container', [
      '--filter',
      `label=com.docker.stack.namespace=${stack}`,
    ]);
    if (ids.length === 0) return 0;
    // One the agent removed meanwhile is not an error: it is what we want.
    const res = await this.docker(['rm', '--force', ...ids], { allowFail: true });
    if (
      res.exitCode !== 0 &&
      !/no such container|removal of container .* is already in progress/i.test(res.stderr)
    )
      throw new InfraError(
        'DOCKER_FAILED',
        `docker rm --force: ${res.stderr.trim().slice(0, 500)}`,
      );
    return ids.length;
  }

  async scaleService(service: string, replicas: number): Promise<void> {
    await this.docker(['service', 'scale', '--detach', `${service}=${replicas}`]);
  }

  async addServiceLabels(service: string, labels: Readonly<Record<string, string>>): Promise<void> {
    await this.docker([
      'service',
      'update',
      '--detach',
      '--quiet',
      // A label change never re-resolves (and so never re-pins) the service's image.
      '--no-resolve-image',
      ...labelArgs('--label-add', labels),
      service,
    ]);
  }

  async events(
    labels: Readonly<Record<string, string>>,
    since: Date,
    until: Date,
  ): Promise<string[]> {
    const res = await this.docker(
      [
        'events',
        '--since',
        since.toISOString(),
        '--until',
        until.toISOString(),
        ...Object.entries(labels).flatMap(([k, v]) => ['--filter', `label=${k}=${v}`]),
        '--format',
        '{{json .}}',
      ],
      { allowFail: true, timeoutMs: 15_000 },
    );
    return res.stdout.split('\n').filter(Boolean);
  }

  async volumeUsage(): Promise<VolumeUsage[]> {
    const res = await this.docker(['system', 'df', '-v', '--format', '{{json .Volumes}}'], {
      timeoutMs: 120_000,
    });
    const raw = JSON.parse(res.stdout.trim() || '[]') as Array<{
      Name: string;
      Labels?: string;
      Size?: string;
    }>;
    return raw.map((v) => ({
      name: v.Name,
      labels: parseLabelList(v.Labels ?? ''),
      bytes: parseDockerSize(v.Size ?? ''),
    }));
  }

  /**
   * `docker run --detach` of a long-running sandboxed container (the proxy probe): read-only
   * root, every capability dropped, no-new-privileges, a memory cap. A failure is reported as
   * the CLI reports it (exit 125, the daemon's message), not thrown.
   */
  async runDetached(c: DetachedContainer): Promise<ExecResult> {
    const res = await this.docker(
      [
        'run',
        '--detach',
        '--name',
        c.name,
        '--network',
        c.network,
        '--read-only',
        '--cap-drop',
        'ALL',
        '--security-opt',
        'no-new-privileges',
        '--memory',
        `${c.memoryBytes}b`,
        ...(c.interactive ? ['--interactive'] : []),
        ...labelArgs('--label', c.labels),
        '--entrypoint',
        c.entrypoint,
        c.image,
        ...c.args,
      ],
      { allowFail: true, timeoutMs: 60_000 },
    );
    return { exitCode: res.exitCode, stdout: res.stdout, stderr: res.stderr };
  }

  async daemonInfo(): Promise<DaemonInfo> {
    return JSON.parse((await this.docker(['info', '--format', '{{json .}}'])).stdout) as DaemonInfo;
  }

  /** Create a zero-replica service; a refusal (the name is taken) is reported, not thrown. */
  async createLabelService(s: LabelService): Promise<ExecResult> {
    const res = await this.docker(
      [
        'service',
        'create',
        '--detach',
        '--no-resolve-image',
        '--replicas',
        '0',
        '--name',
        s.name,
        ...labelArgs('--label', s.labels),
        s.image,
      ],
      { allowFail: true },
    );
    return { exitCode: res.exitCode, stdout: res.stdout, stderr: res.stderr };
  }

  /** Name, labels and UpdatedAt of these services (by name or ID); the missing ones left out. */
  async serviceMeta(names: readonly string[]): Promise<ServiceMeta[]> {
    return (await this.inspectJson<RawServiceMeta>('service', names)).map(toServiceMeta);
  }

  /** serviceMeta of every service carrying the label `key=value`. */
  async serviceMetaByLabel(key: string, value: string): Promise<ServiceMeta[]> {
    return this.serviceMeta(await this.listIds('service', ['--filter', `label=${key}=${value}`]));
  }

  openProxyProbe(opts: ProxyProbeOptions): Promise<ProxyProbe> {
    return openProxyProbe(this, opts);
  }

  containerImage(idOrName: string): Promise<string | null> {
    return this.containerField(idOrName, '{{.Config.Image}}');
  }

  containerStartedAt(idOrName: string): Promise<string | null> {
    return this.containerField(idOrName, '{{.State.StartedAt}}');
  }

  async containerRunning(idOrName: string): Promise<boolean | null> {
    const running = await this.containerField(idOrName, '{{.State.Running}}');
    return running === null ? null : running === 'true';
  }

  /** One field of `docker container inspect`, or null when there is no such container. */
  private async containerField(idOrName: string, format: string): Promise<string | null> {
    const res = await this.docker(['container', 'inspect', '--format', format, idOrName], {
      allowFail: true,
    });
    if (res.exitCode === 0) return res.stdout.trim() || null;
    if (NO_SUCH.test(res.stderr)) return null;
    throw new InfraError(
      'DOCKER_FAILED',
      `docker container inspect ${idOrName}: ${res.stderr.trim()}`,
    );
  }
}
