/**
 * The Docker port over the Engine API (the daemon's unix socket, one kept-alive connection pool
 * for the process) instead of one `docker` CLI process per request: a list, an inspect or an
 * exec create costs a few ms here against ~25 ms to spawn the CLI. Reads map the same JSON the
 * CLI's inspect prints by the same code; writes report what the CLI reports (exit codes, the
 * daemon's messages). What has no API — `stack deploy`, `stack rm` — and the janitor's
 * `system df` stay on the CLI (docker-cli.ts).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { InfraError } from '../../errors.js';
import type {
  ExecResult,
  MountInfo,
  ServiceInfo,
  SwarmObject,
  SwarmObjectKind,
  TaskInfo,
  VolumeHelper,
} from '../../ports/docker.js';
import { dockerSocketPath } from '../process/host-env.js';
import {
  DockerCli,
  HELPER_SANDBOX,
  type DaemonInfo,
  type DetachedContainer,
  type LabelService,
  type RawServiceMeta,
  type ServiceMeta,
  toServiceMeta,
  type DockerCliOptions,
  type RawService,
  type RawTask,
} from './docker-cli.js';
import { daemonMessage, EngineClient, FrameSplitter, type EngineAnswer } from './engine-client.js';
import { openProxyProbe, type LineChannel } from './proxy-probe.js';
import type { ProxyProbe, ProxyProbeOptions } from '../../ports/proxy-probe.js';
import { KEPT_HELPER_LIFETIME_S, type KeptHelperSpec } from './kept-helpers.js';

/** DELETE paths per kind (the daemon takes a name wherever it takes an ID). */
const REMOVE_PATH: Record<SwarmObjectKind, string> = {
  service: '/services',
  network: '/networks',
  volume: '/volumes',
  secret: '/secrets',
  config: '/configs',
  container: '/containers',
};

/** As the CLI removes them: `volume rm --force`, `rm --force --volumes`. */
const REMOVE_QUERY: Record<SwarmObjectKind, string> = {
  service: '',
  network: '',
  volume: '?force=1',
  secret: '',
  config: '',
  container: '?force=1&v=1',
};

/** How often an ended exec's exit code is asked for, 10 ms apart, before giving up. */
const EXEC_EXIT_POLLS = 300;

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
  private readonly client: EngineClient;
  protected override readonly keepsReadOnlyHelpers = true;

  constructor(socketPath: string, opts: DockerCliOptions = {}) {
    super(opts);
    this.client = new EngineClient(socketPath);
  }

  /** GET a path of the Engine API; 404 → null; anything else not 2xx → InfraError. */
  private get<T>(path: string): Promise<T | null> {
    return this.client.json<T>('GET', path);
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
    this.client.close();
  }

  // --- writes -------------------------------------------------------------------------------

  override exec(
    containerId: string,
    argv: readonly string[],
    opts: { stdin?: Buffer | string; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    return this.execStream(containerId, argv, {
      timeoutMs: opts.timeoutMs ?? 60_000,
      ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
    });
  }

  /**
   * `docker exec [-i]` over the API: create the exec, start it on a hijacked connection (stdin
   * in, stdout and stderr out), then read its exit code. What the CLI reports, this reports: a
   * refusal (no such container, not running) as exit 1 with the daemon's message on stderr, a
   * program that cannot start as exit 126 with the runtime's message on stdout.
   */
  private async execStream(
    containerId: string,
    argv: readonly string[],
    opts: {
      timeoutMs: number;
      stdin?: string | Buffer | (() => Readable);
      stdoutSink?: () => Writable;
    },
  ): Promise<ExecResult> {
    const created = await this.client.call(
      'POST',
      `/containers/${encodeURIComponent(containerId)}/exec`,
      {
        AttachStdin: opts.stdin !== undefined,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        Cmd: argv,
      },
    );
    const refusal = (answer: EngineAnswer): ExecResult => ({
      exitCode: 1,
      stdout: '',
      stderr: `Error response from daemon: ${daemonMessage(answer)}\n`,
    });
    if (created.status !== 201) return refusal(created);
    const { Id: execId } = JSON.parse(created.body) as { Id: string };
    const res = await this.client.stream(
      `/exec/${execId}/start`,
      { Detach: false, Tty: false },
      opts,
    );
    if (res.refused) return refusal(res.refused);
    if (res.timedOut)
      throw new InfraError(
        'DOCKER_FAILED',
        `docker exec ${containerId} ${argv[0] ?? ''} timed out after ${opts.timeoutMs} ms`,
      );
    return { exitCode: await this.execExitCode(execId), stdout: res.stdout, stderr: res.stderr };
  }

  /** The exit code of an exec whose stream has closed (the daemon records it a moment later). */
  private async execExitCode(execId: string): Promise<number> {
    for (let i = 0; i < EXEC_EXIT_POLLS; i++) {
      const info = await this.get<{ Running?: boolean; ExitCode?: number | null }>(
        `/exec/${execId}/json`,
      );
      if (!info) break;
      if (!info.Running && typeof info.ExitCode === 'number') return info.ExitCode;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new InfraError(
      'DOCKER_FAILED',
      `docker exec ${execId.slice(0, 12)}: its stream closed but no exit code was recorded`,
    );
  }

  /**
   * Create a container and start it; one that was created but would not start is removed.
   * `noImage` when its image is not on this host (the CLI, which pulls, is the fallback).
   */
  private async createStarted(
    name: string | null,
    spec: Record<string, unknown>,
  ): Promise<{ id: string } | { refused: EngineAnswer; noImage: boolean }> {
    const query = name ? `?name=${encodeURIComponent(name)}` : '';
    const created = await this.client.call('POST', `/containers/create${query}`, spec);
    if (created.status !== 201)
      return {
        refused: created,
        noImage: created.status === 404 && /no such image/i.test(daemonMessage(created)),
      };
    const { Id: id } = JSON.parse(created.body) as { Id: string };
    const started = await this.client.call('POST', `/containers/${id}/start`);
    if (started.status >= 300 && started.status !== 304) {
      await this.removeContainers([id]);
      return { refused: started, noImage: false };
    }
    return { id };
  }

  /** A kept volume helper (an idle `sleep`, removed by itself when it ends). */
  protected override async startKeptHelper(helper: KeptHelperSpec): Promise<string> {
    const res = await this.createStarted(null, {
      Image: helper.image,
      Entrypoint: ['sh'],
      Cmd: ['-c', `sleep ${KEPT_HELPER_LIFETIME_S}`],
      Labels: helper.labels,
      HostConfig: {
        NetworkMode: HELPER_SANDBOX.network,
        CapDrop: ['ALL'],
        // As the CLI sends them (it adds the prefix).
        CapAdd: HELPER_SANDBOX.capAdd.map((c) => `CAP_${c}`),
        SecurityOpt: [...HELPER_SANDBOX.securityOpt],
        Binds: [`${helper.volume}:/volume${helper.readOnly === true ? ':ro' : ''}`],
        AutoRemove: true,
      },
    });
    if ('id' in res) return res.id;
    if (res.noImage) return super.startKeptHelper(helper);
    throw new InfraError(
      'DOCKER_FAILED',
      `could not start a volume helper for ${helper.volume}: ${daemonMessage(res.refused)}`,
    );
  }

  protected override async removeContainers(ids: readonly string[]): Promise<void> {
    // One already gone, or being removed by its AutoRemove, is what we want.
    await Promise.all(
      ids.map((id) => this.client.call('DELETE', `/containers/${encodeURIComponent(id)}?force=1`)),
    );
  }

  /**
   * Archive over an exec's stdout, streamed to the file: the volume's read-only helper (the
   * backup cannot change the volume it reads; kept, and started as the backup tier begins) runs
   * `tar -cf -`. A failed archive leaves no file behind.
   */
  override async archiveVolume(
    helper: VolumeHelper,
    paths: readonly string[],
    file: string,
  ): Promise<ExecResult> {
    try {
      const res = await this.inKeptHelper({ ...helper, readOnly: true }, (id) =>
        this.execStream(
          id,
          ['sh', '-c', 'cd /volume && tar -cf - "$@"', 'sh', ...(paths.length ? paths : ['.'])],
          { timeoutMs: helper.timeoutMs ?? 600_000, stdoutSink: () => createWriteStream(file) },
        ),
      );
      if (res.exitCode !== 0) await rm(file, { force: true });
      return res;
    } catch (err) {
      await rm(file, { force: true });
      throw err;
    }
  }

  override openProxyProbe(opts: ProxyProbeOptions): Promise<ProxyProbe> {
    return openProxyProbe(this, opts, (container) => this.attachLines(container));
  }

  /**
   * Attach to a container's own process (its stdin, its stdout): lines written go to its stdin,
   * each whole line of its stdout is handed on. Null when the daemon refuses the attach.
   */
  private async attachLines(container: string): Promise<LineChannel | null> {
    const hijacked = await this.client.hijack(
      `/containers/${encodeURIComponent(container)}/attach?stream=1&stdin=1&stdout=1&stderr=1`,
    );
    if (!hijacked) return null;
    const { socket, head } = hijacked;
    const lineListeners: Array<(line: string) => void> = [];
    const closeListeners: Array<() => void> = [];
    let text = '';
    const frames = new FrameSplitter((type, payload) => {
      if (type !== 1) return;
      text += payload.toString('utf8');
      // A line longer than any answer (64 KiB per task) is not one: drop it.
      if (text.length > 16 * 2 ** 20) text = '';
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n')) {
        const line = text.slice(0, i);
        text = text.slice(i + 1);
        for (const l of lineListeners) l(line);
      }
    });
    if (head.length) frames.push(head);
    socket.on('data', (chunk: Buffer) => frames.push(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => closeListeners.forEach((l) => l()));
    return {
      send: (line) => void socket.write(line),
      onLine: (l) => void lineListeners.push(l),
      onClose: (l) => void closeListeners.push(l),
      close: () => socket.destroy(),
    };
  }

  override async daemonInfo(): Promise<DaemonInfo> {
    return (await this.get<DaemonInfo>('/info')) ?? {};
  }

  override async createLabelService(s: LabelService): Promise<ExecResult> {
    const res = await this.client.call('POST', '/services/create', {
      Name: s.name,
      Labels: s.labels,
      TaskTemplate: { ContainerSpec: { Image: s.image } },
      Mode: { Replicated: { Replicas: 0 } },
    });
    if (res.status === 201) return { exitCode: 0, stdout: '', stderr: '' };
    return {
      exitCode: 1,
      stdout: '',
      stderr: `Error response from daemon: ${daemonMessage(res)}\n`,
    };
  }

  override async serviceMeta(names: readonly string[]): Promise<ServiceMeta[]> {
    const raws = await Promise.all(
      names.map((n) => this.get<RawServiceMeta>(`/services/${encodeURIComponent(n)}`)),
    );
    return raws.filter((s) => s !== null).map(toServiceMeta);
  }

  override async serviceMetaByLabel(key: string, value: string): Promise<ServiceMeta[]> {
    const raws = await this.list('service', { label: [`${key}=${value}`] });
    return raws.map((r) => toServiceMeta(r as unknown as RawServiceMeta));
  }

  /** `docker service logs --raw --timestamps --tail N`: stdout's lines, then stderr's. */
  override async serviceLogs(serviceName: string, tail: number): Promise<string> {
    const res = await this.client.callRaw(
      'GET',
      `/services/${encodeURIComponent(serviceName)}/logs?stdout=1&stderr=1&timestamps=1&tail=${tail}`,
      undefined,
      20_000,
    );
    if (res.status !== 200)
      return `Error response from daemon: ${daemonMessage({ status: res.status, body: res.body.toString() })}\n`;
    const streams: Buffer[][] = [[], [], []];
    new FrameSplitter((type, payload) => streams[type === 2 ? 2 : 1]!.push(payload)).push(res.body);
    return (
      Buffer.concat(streams[1]!).toString('utf8') + Buffer.concat(streams[2]!).toString('utf8')
    );
  }

  /** `docker events --since --until --filter label=… --format '{{json .}}'`: one JSON per line. */
  override async events(
    labels: Readonly<Record<string, string>>,
    since: Date,
    until: Date,
  ): Promise<string[]> {
    const query = [
      `since=${(since.getTime() / 1000).toFixed(3)}`,
      `until=${(until.getTime() / 1000).toFixed(3)}`,
      `filters=${encodeURIComponent(JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) }))}`,
    ].join('&');
    const res = await this.client
      .call('GET', `/events?${query}`, undefined, 15_000)
      .catch(() => null);
    if (!res || res.status !== 200) return [];
    return res.body
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }

  override async runDetached(c: DetachedContainer): Promise<ExecResult> {
    const res = await this.createStarted(c.name, {
      Image: c.image,
      ...(c.interactive ? { OpenStdin: true, StdinOnce: false } : {}),
      Entrypoint: [c.entrypoint],
      Cmd: c.args,
      Labels: c.labels,
      HostConfig: {
        NetworkMode: c.network,
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Memory: c.memoryBytes,
      },
      // As the CLI sends it: without an endpoint for it, a swarm-scoped attachable network
      // (`proxy`) is "not found" on a node where no container uses it yet.
      NetworkingConfig: { EndpointsConfig: { [c.network]: {} } },
    });
    if ('id' in res) return { exitCode: 0, stdout: `${res.id}\n`, stderr: '' };
    if (res.noImage) return super.runDetached(c);
    return {
      exitCode: 125,
      stdout: '',
      stderr: `docker: Error response from daemon: ${daemonMessage(res.refused)}.\n`,
    };
  }

  override async removeObject(kind: SwarmObjectKind, idOrName: string): Promise<boolean> {
    if (kind === 'volume') await this.helpers.releaseVolume(idOrName);
    const res = await this.client.call(
      'DELETE',
      `${REMOVE_PATH[kind]}/${encodeURIComponent(idOrName)}${REMOVE_QUERY[kind]}`,
    );
    if (res.status < 300) return true;
    if (res.status === 404) return false;
    throw new InfraError(
      'DOCKER_FAILED',
      `could not remove ${kind} ${idOrName}: Error response from daemon: ${daemonMessage(res)}`,
    );
  }

  override async createSecret(
    name: string,
    value: string,
    labels: Readonly<Record<string, string>>,
  ): Promise<void> {
    await this.client.json('POST', '/secrets/create', {
      Name: name,
      Labels: labels,
      Data: Buffer.from(value, 'utf8').toString('base64'),
    });
  }

  override async killStackContainers(stack: string): Promise<number> {
    const ids = await this.stackContainers(stack, true);
    const answers = await Promise.all(
      ids.map((id) => this.client.call('POST', `/containers/${id}/kill`)),
    );
    // A container that exits meanwhile is not an error: it is what we want.
    const failed = answers.find((a) => a.status >= 300 && a.status !== 404 && a.status !== 409);
    if (failed)
      throw new InfraError('DOCKER_FAILED', `docker kill: ${daemonMessage(failed).slice(0, 500)}`);
    return ids.length;
  }

  override async removeStackContainers(stack: string): Promise<number> {
    const ids = await this.stackContainers(stack, false);
    const answers = await Promise.all(
      ids.map((id) => this.client.call('DELETE', `/containers/${id}?force=1`)),
    );
    // One the agent removed meanwhile (or is removing) is not an error: it is what we want.
    const failed = answers.find(
      (a) =>
        a.status >= 300 &&
        a.status !== 404 &&
        !(a.status === 409 && /already in progress/i.test(daemonMessage(a))),
    );
    if (failed)
      throw new InfraError(
        'DOCKER_FAILED',
        `docker rm --force: ${daemonMessage(failed).slice(0, 500)}`,
      );
    return ids.length;
  }

  private async stackContainers(stack: string, runningOnly: boolean): Promise<string[]> {
    const filters: Record<string, string[]> = {
      label: [`com.docker.stack.namespace=${stack}`],
      ...(runningOnly ? { status: ['running'] } : {}),
    };
    return (await this.list('container', filters)).map((c) => String(c.Id));
  }

  override scaleService(service: string, replicas: number): Promise<void> {
    return this.updateServiceSpec(service, (spec) => {
      const replicated = (spec.Mode as { Replicated?: { Replicas?: number } } | undefined)
        ?.Replicated;
      if (!replicated)
        throw new InfraError(
          'DOCKER_FAILED',
          `cannot scale ${service}: scale can only be used with replicated mode`,
        );
      replicated.Replicas = replicas;
    });
  }

  override addServiceLabels(
    service: string,
    labels: Readonly<Record<string, string>>,
  ): Promise<void> {
    return this.updateServiceSpec(service, (spec) => {
      spec.Labels = { ...((spec.Labels as Record<string, string> | undefined) ?? {}), ...labels };
    });
  }

  /**
   * What `docker service update` and `scale` do: read the spec and its version, change it, send
   * it back at that version. A concurrent update (the version moved on) is retried, a few times.
   */
  private async updateServiceSpec(
    service: string,
    change: (spec: Record<string, unknown>) => void,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const raw = await this.get<{
        ID: string;
        Version: { Index: number };
        Spec: Record<string, unknown>;
      }>(`/services/${encodeURIComponent(service)}`);
      if (!raw)
        throw new InfraError('DOCKER_FAILED', `cannot update service ${service}: no such service`);
      change(raw.Spec);
      const res = await this.client.call(
        'POST',
        `/services/${raw.ID}/update?version=${raw.Version.Index}`,
        raw.Spec,
      );
      if (res.status < 300) return;
      if (attempt < 3 && /update out of sequence/i.test(daemonMessage(res))) continue;
      throw new InfraError(
        'DOCKER_FAILED',
        `docker service update ${service} failed: ${daemonMessage(res).slice(0, 1000)}`,
      );
    }
  }

  /** Restore over an exec's stdin, streamed from the file, in the volume's kept helper. */
  override restoreVolume(helper: VolumeHelper, file: string): Promise<ExecResult> {
    return this.inKeptHelper(helper, (id) =>
      this.execStream(id, ['sh', '-c', 'cd /volume && tar -xf -'], {
        timeoutMs: helper.timeoutMs ?? 600_000,
        stdin: () => createReadStream(file),
      }),
    );
  }
}

/** The Docker port for this process: reads over the Engine API when the daemon is local. */
export function createDocker(opts: DockerCliOptions = {}): DockerCli {
  const socket = dockerSocketPath();
  return socket ? new EngineApiDocker(socket, opts) : new DockerCli(opts);
}
