/**
 * The VIP guard (`cc-ci vip-guard`). The original system's shared `proxy` overlay was a /24 that
 * ran out of virtual IPs as `docker stack rm` leaked endpoints; tasks then hung in `new` and runs
 * failed as if the recipe were broken. The guard checks that the proxy network is an attachable
 * overlay of /16 or larger, finds tasks failing on IP allocation, removes unused overlay networks
 * (never the proxy network, never ingress, never one in use), and restarts the daemon only when
 * allowed and allocation errors persist.
 */
import { LABEL_DOMAIN, LABEL_WARM } from '../lifecycle/labels.js';
import type { RunLocks } from '../lifecycle/locks.js';
import type { HostPort, NetworkInfo, TaskProblem } from '../ports/host.js';

/** Pure: does a task error say swarm could not allocate an address? */
export function isAllocationError(error: string): boolean {
  return /could not allocate (ip|vip|an ip)|no available ip|ipam|address pool|allocat\w* (virtual )?ip|no more (addresses|ips)|pool exhausted/i.test(
    error,
  );
}

/** Pure: what is wrong with the proxy network, if anything. */
export function proxyProblems(name: string, net: NetworkInfo | undefined): string[] {
  if (!net)
    return [
      `network "${name}" does not exist (create it: docker network create -d overlay --attachable --subnet 10.200.0.0/16 ${name})`,
    ];
  const problems: string[] = [];
  if (net.driver !== 'overlay')
    problems.push(`network "${name}" uses driver ${net.driver}, not overlay`);
  if (!net.attachable) problems.push(`network "${name}" is not attachable`);
  for (const s of net.subnets) {
    const prefix = Number(s.split('/')[1]);
    if (Number.isFinite(prefix) && prefix > 16)
      problems.push(
        `network "${name}" has subnet ${s}: /${prefix} leaves too few VIPs (use /16 or larger)`,
      );
  }
  return problems;
}

export interface VipGuardReport {
  readonly dryRun: boolean;
  readonly proxyProblems: readonly string[];
  readonly allocationErrors: readonly TaskProblem[];
  readonly removedNetworks: readonly string[];
  readonly keptInUse: readonly string[];
  readonly daemonRestarted: boolean;
  /** true when nothing is left wrong after the guard's actions. */
  readonly healthy: boolean;
}

export async function runVipGuard(input: {
  host: HostPort;
  locks: RunLocks;
  dryRun: boolean;
  proxyNetwork?: string;
  /** Remove unused overlay networks even without allocation errors. */
  pruneNetworks?: boolean;
  /** How to restart the Docker daemon (argv), or null to never do it. */
  restartDaemon?: (() => Promise<void>) | null;
  log?: (line: string) => void;
}): Promise<VipGuardReport> {
  const { host, dryRun } = input;
  const log = input.log ?? (() => undefined);
  const proxyName = input.proxyNetwork ?? 'proxy';
  const networks = await host.networks();
  const proxy = proxyProblems(
    proxyName,
    networks.find((n) => n.name === proxyName),
  );
  for (const p of proxy) log(`proxy: ${p}`);
  const allocation = (await host.taskProblems()).filter((t) => isAllocationError(t.error));
  for (const a of allocation) log(`allocation error: ${a.service} task ${a.state}: ${a.error}`);

  const removed: string[] = [];
  const inUse: string[] = [];
  if (allocation.length > 0 || input.pruneNetworks) {
    const candidates = networks.filter(
      (n) =>
        n.driver === 'overlay' &&
        !n.ingress &&
        n.name !== proxyName &&
        n.name !== 'ingress' &&
        n.labels['cc-ci.keep'] !== 'true',
    );
    for (const n of candidates) {
      // A live run's network may exist a moment before its services: never race a deploy.
      const domain = n.labels[LABEL_DOMAIN];
      if (n.labels[LABEL_WARM] === 'true' || (domain && (await input.locks.isHeld(domain)))) {
        inUse.push(n.name);
        continue;
      }
      if (dryRun) {
        log(`would try to remove overlay network ${n.name} (kept if in use)`);
        continue;
      }
      const r = await host.removeNetwork(n.id);
      if (r === 'removed') {
        removed.push(n.name);
        log(`removed unused overlay network ${n.name}`);
      } else if (r === 'in_use') inUse.push(n.name);
    }
  }

  let restarted = false;
  if (allocation.length > 0 && input.restartDaemon) {
    const live: string[] = [];
    for (const l of await input.locks.list())
      if (await input.locks.isHeld(l.domain)) live.push(l.runId);
    const still = dryRun
      ? allocation
      : (await host.taskProblems()).filter((t) => isAllocationError(t.error));
    if (still.length === 0) log('allocation errors cleared after removing unused networks');
    else if (live.length > 0)
      log(`allocation errors remain but ${live.length} run(s) are live: not restarting the daemon`);
    else if (dryRun) log('would restart the Docker daemon');
    else {
      log('allocation errors remain: restarting the Docker daemon');
      await input.restartDaemon();
      restarted = true;
    }
  }
  return {
    dryRun,
    proxyProblems: proxy,
    allocationErrors: allocation,
    removedNetworks: removed,
    keptInUse: inUse,
    daemonRestarted: restarted,
    healthy: proxy.length === 0 && (allocation.length === 0 || restarted),
  };
}
