/**
 * Run locks kept in the swarm itself, seen alike by every runner, container and host that talks
 * to the swarm's managers. A lock is a service with no replicas named after the app domain
 * (`ccci-lock-<hash of the domain>`): service names are unique in a swarm, so creating one is an
 * atomic test-and-set, and no task ever runs (the image is never pulled). The holder renews its
 * lease every LEASE_RENEW_MS by updating a label; the lease's age is the swarm's own clock minus
 * the service's `UpdatedAt` (both from the manager), so clock skew between hosts plays no part.
 *
 * A lock is live while its lease is fresh (younger than LEASE_TTL_MS) — unless its holder is
 * provably dead sooner: the same host and container with a dead pid, or a holder container on
 * the same daemon that no longer runs (Drone removes a cancelled step's container at once).
 * docs/harness.md ("Locks and leases") states the rules and what a daemon restart does.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { InfraError, InputError } from '../../errors.js';
import type { DaemonInfo, DockerCli, ServiceMeta } from './docker-cli.js';
import {
  LEASE_RENEW_MS,
  LEASE_TTL_MS,
  pidAlive,
  type LockInfo,
  type RunLocks,
} from '../../lifecycle/locks.js';

const PREFIX = 'ccci-lock-';
const L = {
  lock: 'cc-ci.lock',
  domain: 'cc-ci.lock.domain',
  runId: 'cc-ci.lock.run-id',
  host: 'cc-ci.lock.host',
  pid: 'cc-ci.lock.pid',
  container: 'cc-ci.lock.container',
  node: 'cc-ci.lock.node',
  started: 'cc-ci.lock.started',
  renewals: 'cc-ci.lock.renewals',
} as const;
/** Never pulled: a lock service has no replicas. */
const LOCK_IMAGE = 'cc-ci/lock:none';

export function lockServiceName(domain: string): string {
  return PREFIX + createHash('sha256').update(domain).digest('hex').slice(0, 20);
}

/** The id of the container this process runs in, from its /etc/hostname mount; null on a host. */
export async function ownContainerId(): Promise<string | null> {
  try {
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    return /\/containers\/([0-9a-f]{64})\/hostname /.exec(mounts)?.[1] ?? null;
  } catch {
    return null;
  }
}

type LockService = ServiceMeta;

export interface SwarmLockOptions {
  readonly renewMs?: number;
  readonly ttlMs?: number;
}

type SwarmInfo = NonNullable<DaemonInfo['Swarm']>;

async function swarmInfo(docker: DockerCli): Promise<SwarmInfo> {
  return (await docker.daemonInfo()).Swarm ?? {};
}

export async function swarmLocks(
  docker: DockerCli,
  opts: SwarmLockOptions = {},
  known?: SwarmInfo,
): Promise<RunLocks> {
  const swarm = known ?? (await swarmInfo(docker));
  if (!swarm.ControlAvailable || !swarm.NodeID) {
    throw new InfraError(
      'DOCKER_FAILED',
      'swarm locks need a swarm manager; this daemon is not one (use file locks)',
    );
  }
  const me = { host: hostname(), pid: process.pid, container: (await ownContainerId()) ?? '' };
  return new SwarmLocks(docker, swarm, swarm.NodeID, me, {
    renewMs: opts.renewMs ?? LEASE_RENEW_MS,
    ttlMs: opts.ttlMs ?? LEASE_TTL_MS,
  });
}

interface Holder {
  readonly host: string;
  readonly pid: number;
  readonly container: string;
}

/** RunLocks as zero-replica services of the swarm (see the module comment). */
class SwarmLocks implements RunLocks {
  readonly scope: string;

  constructor(
    private readonly docker: DockerCli,
    swarm: SwarmInfo,
    private readonly node: string,
    private readonly me: Holder,
    private readonly lease: { readonly renewMs: number; readonly ttlMs: number },
  ) {
    this.scope = `swarm-${(swarm.Cluster?.ID ?? node).slice(0, 12)}`;
  }

  async acquire(partial: Omit<LockInfo, 'pid' | 'host'>): Promise<{ release(): Promise<void> }> {
    const name = lockServiceName(partial.domain);
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await this.createLockService(name, partial);
      if (res.exitCode === 0) return this.held(name, partial.runId);
      if (!/already exists|AlreadyExists|name conflicts/i.test(res.stderr)) {
        throw new InfraError(
          'DOCKER_FAILED',
          `could not create the swarm lock for ${partial.domain}: ${res.stderr.trim().slice(0, 500)}`,
        );
      }
      const [holder] = await this.inspect([name]);
      if (holder) {
        const dead = await this.deadBecause(holder, await this.swarmNow());
        if (dead === null) {
          const h = toInfo(holder);
          throw new InputError(
            'LOCKED',
            `app domain ${partial.domain} is locked by run ${h.runId} (pid ${h.pid} on ${h.host} since ${h.started}; its lease is fresh)`,
          );
        }
        // The holder is dead: take the lock over (another taker may win the race; then retry).
        await this.removeService(name);
      }
    }
    throw new InputError('LOCKED', `could not take the swarm lock for ${partial.domain}`);
  }

  async isHeld(domain: string): Promise<boolean> {
    const [s] = await this.inspect([lockServiceName(domain)]);
    return s !== undefined && (await this.deadBecause(s, await this.swarmNow())) === null;
  }

  async list(): Promise<LockInfo[]> {
    return (await this.lockServices()).map(toInfo);
  }

  async removeStale(dryRun = false): Promise<string[]> {
    const removed: string[] = [];
    const now = await this.swarmNow();
    for (const s of await this.lockServices()) {
      if ((await this.deadBecause(s, now)) === null) continue;
      if (!dryRun) await this.removeService(s.name);
      removed.push(s.labels[L.domain] ?? s.name);
    }
    return removed;
  }

  /** The atomic test-and-set: create the lock service (fails when the name exists). */
  private createLockService(name: string, partial: Omit<LockInfo, 'pid' | 'host'>) {
    const labels: Record<string, string> = {
      [L.lock]: 'true',
      [L.domain]: partial.domain,
      [L.runId]: partial.runId,
      [L.host]: this.me.host,
      [L.pid]: String(this.me.pid),
      [L.container]: this.me.container,
      [L.node]: this.node,
      [L.started]: partial.started,
      [L.renewals]: '0',
    };
    return this.docker.createLabelService({ name, image: LOCK_IMAGE, labels });
  }

  /** A taken lock: renew its lease until released; release only what is still ours. */
  private held(name: string, runId: string): { release(): Promise<void> } {
    let renewals = 0;
    const renew = setInterval(() => {
      renewals++;
      void this.renewIfOurs(name, runId, renewals);
    }, this.lease.renewMs);
    renew.unref();
    return {
      release: async () => {
        clearInterval(renew);
        const [current] = await this.inspect([name]);
        if (current?.labels[L.runId] === runId) await this.removeService(name);
      },
    };
  }

  private async renewIfOurs(name: string, runId: string, renewals: number): Promise<void> {
    const [current] = await this.inspect([name]).catch(() => []);
    if (current?.labels[L.runId] !== runId) return;
    await this.docker
      .addServiceLabels(name, { [L.renewals]: String(renewals) })
      .catch(() => undefined);
  }

  private async removeService(name: string): Promise<void> {
    await this.docker.removeObject('service', name).catch(() => false);
  }

  /** The manager's clock: lease ages never depend on this host's. */
  private async swarmNow(): Promise<number> {
    return Date.parse((await this.docker.daemonInfo()).SystemTime ?? '');
  }

  private inspect(names: readonly string[]): Promise<LockService[]> {
    return this.docker.serviceMeta(names);
  }

  private lockServices(): Promise<LockService[]> {
    return this.docker.serviceMetaByLabel(L.lock, 'true');
  }

  /** Why the lock's holder is dead, or null while it may be alive. */
  private async deadBecause(s: LockService, now: number): Promise<string | null> {
    const age = now - Date.parse(s.updatedAt);
    if (age > this.lease.ttlMs) return `lease not renewed for ${Math.round(age / 1000)} s`;
    const holderContainer = s.labels[L.container] ?? '';
    if (
      s.labels[L.host] === this.me.host &&
      holderContainer === this.me.container &&
      !pidAlive(Number(s.labels[L.pid]))
    )
      return `pid ${s.labels[L.pid]} on ${this.me.host} is gone`;
    if (
      holderContainer &&
      s.labels[L.node] === this.node &&
      holderContainer !== this.me.container
    ) {
      const running = await this.docker.containerRunning(holderContainer);
      if (running === null) return `its container ${holderContainer.slice(0, 12)} is gone`;
      if (!running) return `its container ${holderContainer.slice(0, 12)} has stopped`;
    }
    return null;
  }
}

const toInfo = (s: LockService): LockInfo => ({
  domain: s.labels[L.domain] ?? '',
  runId: s.labels[L.runId] ?? '',
  pid: Number(s.labels[L.pid] ?? 0),
  host: s.labels[L.host] ?? '',
  started: s.labels[L.started] ?? '',
});

/**
 * The locks for this daemon: in the swarm when it is a manager (every runner of the swarm sees
 * them), else files under `stateDir` (a single host without a swarm manager).
 */
export async function runLocksFor(
  docker: DockerCli,
  stateDir: string,
  fileLocks: (dir: string) => RunLocks,
): Promise<RunLocks> {
  const swarm = await swarmInfo(docker);
  return swarm.ControlAvailable ? swarmLocks(docker, {}, swarm) : fileLocks(stateDir);
}
