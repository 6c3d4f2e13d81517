/**
 * The disk budget of the warm canonicals: what each recipe's warm volumes use on this host (the
 * sweep's summary reports it, so an operator sees what keeping deploys warm costs).
 */
import type { DockerPort } from '../ports/docker.js';
import { canonicalStore } from './canonicals.js';

export interface WarmDisk {
  readonly recipe: string;
  readonly stack: string;
  readonly volumes: number;
  readonly bytes: number;
}

export async function warmDiskUsage(docker: DockerPort, stateDir: string): Promise<WarmDisk[]> {
  const canonicals = await canonicalStore(stateDir).list();
  if (canonicals.length === 0) return [];
  const volumes = await docker.volumeUsage();
  return canonicals.map((c) => {
    const mine = volumes.filter((v) => v.labels['com.docker.stack.namespace'] === c.stack);
    return {
      recipe: c.recipe,
      stack: c.stack,
      volumes: mine.length,
      bytes: mine.reduce((n, v) => n + v.bytes, 0),
    };
  });
}

/** 1234567 → "1.2 MB" (decimal units, as docker prints them). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
