/**
 * HostPort over the docker CLI (argument arrays, no shell) and statfs for disk space.
 */
import { statfs } from 'node:fs/promises';
import { InfraError } from '../../errors.js';
import type {
  DiskUsage,
  HostPort,
  NetworkInfo,
  PruneCount,
  ServiceState,
  TaskProblem,
} from '../../ports/host.js';
import type { DockerCli } from './docker-cli.js';

const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

const UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, kB: 1e3 };

/** "Total reclaimed space: 1.234MB" → bytes. */
export function parseReclaimed(output: string): number {
  const m = /Total reclaimed space:\s*([\d.]+)\s*([kKMGT]?B)/.exec(output);
  if (!m) return 0;
  return Math.round(Number(m[1]) * (UNITS[m[2]!] ?? UNITS[m[2]!.toUpperCase()] ?? 1));
}

export class DockerHost implements HostPort {
  constructor(private readonly cli: DockerCli) {}

  async disk(): Promise<DiskUsage> {
    const res = await this.cli.docker(['info', '--format', '{{.DockerRootDir}}']);
    const path = res.stdout.trim() || '/var/lib/docker';
    let s;
    try {
      s = await statfs(path);
    } catch (err) {
      throw new InfraError(
        'DOCKER_FAILED',
        `cannot read the free space of the daemon's root dir ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); in a container, mount it read-only at the same path (${path}:${path}:ro)`,
      );
    }
    return { path, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  }

  async services(): Promise<ServiceState[]> {
    const res = await this.cli.docker(['service', 'ls', '--format', '{{json .}}']);
    const out: ServiceState[] = [];
    for (const l of lines(res.stdout)) {
      const row = JSON.parse(l) as { Name: string; Replicas: string; Mode: string };
      const m = /^(\d+)\/(\d+)/.exec(row.Replicas);
      const info = await this.cli.inspectService(row.Name);
      const st = info?.updateStatus?.state ?? '';
      out.push({
        name: row.Name,
        desired: row.Mode === 'global' ? null : m ? Number(m[2]) : null,
        running: m ? Number(m[1]) : 0,
        updating: st === 'updating' || st === 'rollback_started',
      });
    }
    return out;
  }

  async taskProblems(): Promise<TaskProblem[]> {
    const services = lines((await this.cli.docker(['service', 'ls', '--quiet'])).stdout);
    const problems: TaskProblem[] = [];
    for (const id of services) {
      const info = await this.cli.inspectService(id);
      if (!info) continue;
      for (const t of await this.cli.listTasks(info.name)) {
        if (t.desiredState !== 'running' || t.state === 'running') continue;
        if (t.error || t.message)
          problems.push({ service: info.name, state: t.state, error: t.error || t.message });
      }
    }
    return problems;
  }

  async networks(): Promise<NetworkInfo[]> {
    const ids = lines((await this.cli.docker(['network', 'ls', '--quiet', '--no-trunc'])).stdout);
    if (ids.length === 0) return [];
    const res = await this.cli.docker(['network', 'inspect', ...ids], { allowFail: true });
    if (res.exitCode !== 0) return [];
    const raw = JSON.parse(res.stdout) as Array<{
      Id: string;
      Name: string;
      Driver: string;
      Scope: string;
      Attachable?: boolean;
      Ingress?: boolean;
      IPAM?: { Config?: Array<{ Subnet?: string }> | null };
      Labels?: Record<string, string> | null;
    }>;
    return raw.map((n) => ({
      id: n.Id,
      name: n.Name,
      driver: n.Driver,
      scope: n.Scope,
      attachable: n.Attachable ?? false,
      ingress: n.Ingress ?? false,
      subnets: (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').filter(Boolean),
      labels: n.Labels ?? {},
    }));
  }

  async removeNetwork(id: string): Promise<'removed' | 'in_use' | 'gone'> {
    const res = await this.cli.docker(['network', 'rm', id], { allowFail: true });
    if (res.exitCode === 0) return 'removed';
    if (/no such network|not found/i.test(res.stderr)) return 'gone';
    if (/in use|active endpoints/i.test(res.stderr)) return 'in_use';
    throw new InfraError('DOCKER_FAILED', `could not remove network ${id}: ${res.stderr.trim()}`);
  }

  /** Created times of images or containers, by id. */
  private async created(kind: 'image' | 'container', ids: readonly string[]): Promise<Date[]> {
    if (ids.length === 0) return [];
    const res = await this.cli.docker([kind, 'inspect', '--format', '{{.Created}}', ...ids], {
      allowFail: true,
    });
    return lines(res.stdout).map((t) => new Date(t));
  }

  async pruneDanglingImages(dryRun: boolean, minAgeHours: number): Promise<PruneCount> {
    if (dryRun) {
      const ids = [
        ...new Set(
          lines(
            (
              await this.cli.docker([
                'image',
                'ls',
                '--quiet',
                '--no-trunc',
                '--filter',
                'dangling=true',
              ])
            ).stdout,
          ),
        ),
      ];
      const cutoff = Date.now() - minAgeHours * 3_600_000;
      return {
        items: (await this.created('image', ids)).filter((d) => d.getTime() <= cutoff).length,
        reclaimedBytes: 0,
      };
    }
    const res = await this.cli.docker(
      ['image', 'prune', '--force', '--filter', `until=${minAgeHours * 60}m`],
      { timeoutMs: 600_000 },
    );
    return {
      items: lines(res.stdout).filter((l) => /^deleted:/i.test(l)).length,
      reclaimedBytes: parseReclaimed(res.stdout),
    };
  }

  async pruneStoppedContainers(dryRun: boolean, minAgeHours: number): Promise<PruneCount> {
    if (dryRun) {
      const ids = lines(
        (
          await this.cli.docker([
            'container',
            'ls',
            '--all',
            '--quiet',
            '--no-trunc',
            '--filter',
            'status=exited',
            '--filter',
            'status=created',
            '--filter',
            'status=dead',
          ])
        ).stdout,
      );
      const cutoff = Date.now() - minAgeHours * 3_600_000;
      return {
        items: (await this.created('container', ids)).filter((d) => d.getTime() <= cutoff).length,
        reclaimedBytes: 0,
      };
    }
    const res = await this.cli.docker(
      ['container', 'prune', '--force', '--filter', `until=${minAgeHours * 60}m`],
      { timeoutMs: 600_000 },
    );
    return {
      items: lines(res.stdout).filter((l) => /^[0-9a-f]{64}$/.test(l)).length,
      reclaimedBytes: parseReclaimed(res.stdout),
    };
  }
}
