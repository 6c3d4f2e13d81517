/**
 * The Docker port: the queries and commands the tiers, readiness checks, teardown and janitor
 * need from a Docker Swarm manager. The adapter (adapters/docker/) drives the docker CLI with
 * argument arrays and translates its JSON into these types; nothing vendor-specific leaks out.
 */

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

export interface MountInfo {
  readonly type: string;
  /** Volume name (for volumes), or source path (binds). */
  readonly name: string;
  readonly destination: string;
}

export interface DockerPort {
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
}
