/**
 * The Docker port: the queries and commands the tiers, readiness checks, teardown and janitor
 * need from a Docker Swarm manager. The adapter (adapters/docker/) drives the docker CLI with
 * argument arrays and translates its JSON into these types; nothing vendor-specific leaks out.
 */

import type { ProxyProbe, ProxyProbeOptions } from './proxy-probe.js';

export type SwarmObjectKind = 'service' | 'network' | 'volume' | 'secret' | 'config' | 'container';

export interface UpdateStatus {
  /** Swarm's UpdateStatus.State: updating, paused, completed, rollback_started, rollback_paused, rollback_completed. */
  readonly state: string;
  readonly message: string;
}

export interface ServiceInfo {
  readonly id: string;
  /** Full swarm name, `<stack>_<service>`. */
  readonly name: string;
  /** Labels of the current Spec (deploy.labels). */
  readonly labels: Readonly<Record<string, string>>;
  /** Labels of PreviousSpec, or null when swarm keeps no previous spec. */
  readonly previousLabels: Readonly<Record<string, string>> | null;
  readonly image: string;
  /** Desired replicas (null for global services). */
  readonly replicas: number | null;
  readonly updateStatus: UpdateStatus | null;
}

export interface TaskInfo {
  readonly id: string;
  readonly serviceName: string;
  /** Task Status.State: new, pending, assigned, accepted, preparing, starting, running, complete, failed, rejected, shutdown, orphaned … */
  readonly state: string;
  readonly desiredState: string;
  /** Status.Err (why a task failed or was rejected). */
  readonly error: string;
  readonly message: string;
  readonly exitCode: number | null;
  readonly containerId: string | null;
  /** ISO time of the last status change. */
  readonly timestamp: string;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface SwarmObject {
  readonly kind: SwarmObjectKind;
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface VolumeUsage {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly bytes: number;
}

export interface MountInfo {
  readonly type: string;
  /** Volume name (for volumes), or source path (binds). */
  readonly name: string;
  readonly destination: string;
}

/**
 * Work on one volume in a short-lived helper container that mounts it at /volume — the way
 * backupbot reads volumes, never inside the app's own container (which may have no shell and no
 * tools). The helper has no network and carries the run's labels (the janitor finds it).
 */
export interface VolumeHelper {
  /** A local image with sh, tar, find, md5sum (ccci/web:1 by default). */
  readonly image: string;
  /** The volume's name on the daemon (`<stack>_<volume>`). */
  readonly volume: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface DockerPort {
  /**
   * A constant script (`sh -c`) with positional arguments in a volume helper; small outputs only.
   * The helper is kept for the next script on the same volume until releaseVolumeHelpers().
   */
  volumeScript(
    helper: VolumeHelper,
    script: string,
    args: readonly string[],
    stdin?: string,
  ): Promise<ExecResult>;
  /**
   * Archive `paths` (relative to the volume root; empty = all of it) into the tar file `file` on
   * cc-ci's own file system, streamed (over the Engine API from a read-only helper's `tar -cf -`;
   * with the CLI, by `docker cp`) — never through a buffer held in memory. A failed archive
   * leaves no file.
   */
  archiveVolume(helper: VolumeHelper, paths: readonly string[], file: string): Promise<ExecResult>;
  /** Extract the tar file `file` into the volume root (streamed into `tar -xf -`, or `docker cp`). */
  restoreVolume(helper: VolumeHelper, file: string): Promise<ExecResult>;
  /**
   * Start the helper a later volumeScript (or, read-only, archiveVolume) will use, without
   * waiting for it: its container starts while the caller does other work. Never fails (a
   * helper that did not start is started again on use); false when nothing was started.
   */
  warmVolumeHelper(helper: VolumeHelper, readOnly: boolean): Promise<boolean>;
  /** Remove the helpers volumeScript kept (before the volumes go); returns how many. */
  releaseVolumeHelpers(): Promise<number>;
  /** Mounts of a container (for backups: which volume is where). */
  containerMounts(containerId: string): Promise<MountInfo[]>;
  /** Services of a stack (label com.docker.stack.namespace=<stack>). */
  listServices(stack: string): Promise<ServiceInfo[]>;
  /** One service by full name, or null when it does not exist. */
  inspectService(name: string): Promise<ServiceInfo | null>;
  /** Tasks of a service, newest first. */
  listTasks(serviceName: string): Promise<TaskInfo[]>;
  /** Run argv (no shell) in a container; stdin optional; bounded by timeoutMs. */
  exec(
    containerId: string,
    argv: readonly string[],
    opts?: { stdin?: Buffer | string; timeoutMs?: number },
  ): Promise<ExecResult>;
  /** Service logs, the last `tail` lines, with timestamps. */
  serviceLogs(serviceName: string, tail: number): Promise<string>;
  /** Objects of a kind carrying all the given labels (value '' = label present with any value). */
  listObjects(
    kind: SwarmObjectKind,
    labels: Readonly<Record<string, string>>,
  ): Promise<SwarmObject[]>;
  /** Objects of a kind whose name starts with the prefix (stack-owned objects). */
  listObjectsByPrefix(kind: SwarmObjectKind, prefix: string): Promise<SwarmObject[]>;
  /** Remove one object; resolves false when it was already gone. */
  removeObject(kind: SwarmObjectKind, idOrName: string): Promise<boolean>;
  /** Create a secret holding `value` (never on a command line) with these labels. */
  createSecret(
    name: string,
    value: string,
    labels: Readonly<Record<string, string>>,
  ): Promise<void>;
  /**
   * Deploy a stack from compose files (`docker stack deploy --prune --resolve-image never`, the
   * one call with no Engine API). `env` is the whole environment of the deploy: the compose
   * interpolation variables and nothing of the caller's. A refusal of the files is an
   * InputError (COMPOSE_INVALID), any other failure an InfraError.
   */
  deployStack(
    stack: string,
    files: readonly string[],
    opts: { env: NodeJS.ProcessEnv; signal?: AbortSignal },
  ): Promise<void>;
  /** Ask the swarm to remove a stack; returns before its objects are gone. */
  removeStack(stack: string): Promise<void>;
  /**
   * SIGKILL this daemon's containers of a stack, at once (no stop grace period). Only for apps
   * whose data is thrown away; returns how many were killed.
   */
  killStackContainers(stack: string): Promise<number>;
  /**
   * Force-remove this daemon's containers of a removed stack (SIGKILL, then remove), so teardown
   * does not wait for the swarm agent to reap them. Only for apps whose data is thrown away, after
   * removeStack; returns how many there were.
   */
  removeStackContainers(stack: string): Promise<number>;
  /**
   * Set a service's replica count (`docker service scale --detach`); returns once the swarm
   * accepted it, before the tasks stopped or started. Stops are graceful (their grace period).
   */
  scaleService(service: string, replicas: number): Promise<void>;
  /** Add (or overwrite) labels on a service's spec without redeploying its tasks. */
  addServiceLabels(service: string, labels: Readonly<Record<string, string>>): Promise<void>;
  /** Daemon events between two times whose labels match, one formatted line each. */
  events(labels: Readonly<Record<string, string>>, since: Date, until: Date): Promise<string[]>;
  /** The image a container was started from, or null when there is no such container. */
  containerImage(idOrName: string): Promise<string | null>;
  /** When a container's process started (State.StartedAt), or null when this daemon has no such container. */
  containerStartedAt(idOrName: string): Promise<string | null>;
  /** Whether a container's process runs now (State.Running), or null when this daemon has no such container. */
  containerRunning(idOrName: string): Promise<boolean | null>;
  /** Every local volume with its labels and the disk it uses (`docker system df -v`). */
  volumeUsage(): Promise<VolumeUsage[]>;
  /** Start the run's probe container on the proxy network (ports/proxy-probe.ts). */
  openProxyProbe(opts: ProxyProbeOptions): Promise<ProxyProbe>;
}
