/**
 * The disk budget of the warm canonicals: what each recipe's warm volumes use on this host (the
 * sweep's summary reports it, so an operator sees what keeping deploys warm costs).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
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

/** `<stateDir>/warm-disk.json`: the sweep's last measurement, read by the bridge's /metrics. */
export const WARM_DISK_FILE = 'warm-disk.json';

export interface WarmDiskReport {
  readonly measured_at: string;
  readonly recipes: readonly WarmDisk[];
}

const WarmDiskReportSchema = z
  .object({
    measured_at: z.iso.datetime(),
    recipes: z.array(
      z
        .object({
          recipe: z.string().min(1),
          stack: z.string().min(1),
          volumes: z.number().int().nonnegative(),
          bytes: z.number().int().nonnegative(),
        })
        .strict(),
    ),
  })
  .strict();

/** Write the measurement atomically (temp + rename); returns the file's path. */
export async function writeWarmDiskReport(
  stateDir: string,
  recipes: readonly WarmDisk[],
  now: Date,
): Promise<string> {
  const file = join(stateDir, WARM_DISK_FILE);
  await mkdir(stateDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const report: WarmDiskReport = { measured_at: now.toISOString(), recipes };
  await writeFile(tmp, JSON.stringify(report, null, 2) + '\n');
  await rename(tmp, file);
  return file;
}

/** Parse a warm-disk.json; throws a readable error when it is not one. */
export function parseWarmDiskReport(text: string): WarmDiskReport {
  const parsed = WarmDiskReportSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new Error(
      `not a warm-disk report: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}
