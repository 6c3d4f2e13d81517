/**
 * Run locks: one run per app domain at a time, and the liveness test the janitor relies on.
 * A lock is a file `<stateDir>/locks/<domain>.lock` created exclusively, holding the owner's
 * pid, host and start time. The holder renews a lease on it (the file's mtime) every
 * LEASE_RENEW_MS while it runs. A lock is live while its lease is fresh (renewed within
 * LEASE_TTL_MS); on the holder's own host a dead pid ends it at once. So a lock left by a killed
 * run in another container (Drone gives every step its own hostname and pid namespace) expires
 * after the TTL instead of counting as live forever. Behind the RunLocks port so a swarm-wide
 * implementation can replace it.
 */
import { hostname } from 'node:os';
import { mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';

/** How often a live run renews its lease. */
export const LEASE_RENEW_MS = 10_000;
/** A lease not renewed for this long is expired: its run is dead (six missed renewals). */
export const LEASE_TTL_MS = 60_000;

export interface LockInfo {
  readonly domain: string;
  readonly runId: string;
  readonly pid: number;
  readonly host: string;
  readonly started: string;
}

export interface RunLocks {
  /** Identifies this lock namespace; runs are labelled with it so a janitor judges only its own. */
  readonly scope: string;
  acquire(info: Omit<LockInfo, 'pid' | 'host'>): Promise<{ release(): Promise<void> }>;
  /** Is a live process holding the lock of this domain? */
  isHeld(domain: string): Promise<boolean>;
  list(): Promise<LockInfo[]>;
  /** Remove the lock files of dead runs (only list them, with dryRun); returns their domains. */
  removeStale(dryRun?: boolean): Promise<string[]>;
}

export interface FileLockOptions {
  readonly renewMs?: number;
  readonly ttlMs?: number;
  readonly now?: () => number;
}

/** Is a process of this pid namespace alive (EPERM: alive, another user's)? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function fileLocks(stateDir: string, opts: FileLockOptions = {}): RunLocks {
  const renewMs = opts.renewMs ?? LEASE_RENEW_MS;
  const ttlMs = opts.ttlMs ?? LEASE_TTL_MS;
  const now = opts.now ?? Date.now;
  const dir = join(stateDir, 'locks');
  const path = (domain: string) => join(dir, `${domain}.lock`);
  const read = async (domain: string): Promise<LockInfo | null> => {
    try {
      return JSON.parse(await readFile(path(domain), 'utf8')) as LockInfo;
    } catch {
      return null;
    }
  };
  const live = async (info: LockInfo): Promise<boolean> => {
    if (info.host === hostname() && !pidAlive(info.pid)) return false;
    try {
      return now() - (await stat(path(info.domain))).mtimeMs < ttlMs;
    } catch {
      return false;
    }
  };
  const lockLive = async (domain: string) => {
    const info = await read(domain);
    return info !== null && (await live(info));
  };
  const list = async (): Promise<LockInfo[]> => {
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const infos = await Promise.all(
      names.filter((n) => n.endsWith('.lock')).map((n) => read(n.slice(0, -5))),
    );
    return infos.filter((i): i is LockInfo => i !== null);
  };
  return {
    scope: createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 12),
    async acquire(partial) {
      await mkdir(dir, { recursive: true });
      const info: LockInfo = { ...partial, pid: process.pid, host: hostname() };
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await writeFile(path(info.domain), JSON.stringify(info), { flag: 'wx' });
          // Renew only while the file is still ours (an expired lease may have been taken over).
          const renew = setInterval(() => {
            const t = new Date(now());
            void read(info.domain).then((current) =>
              current?.runId === info.runId
                ? utimes(path(info.domain), t, t).catch(() => undefined)
                : undefined,
            );
          }, renewMs);
          renew.unref();
          return {
            release: async () => {
              clearInterval(renew);
              const current = await read(info.domain);
              if (current?.runId === info.runId) await rm(path(info.domain), { force: true });
            },
          };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const holder = await read(info.domain);
          if (holder && (await live(holder))) {
            throw new InputError(
              'LOCKED',
              `app domain ${info.domain} is locked by run ${holder.runId} (pid ${holder.pid} on ${holder.host} since ${holder.started})`,
            );
          }
          // A stale lock of a dead process: take it over.
          await rm(path(info.domain), { force: true });
        }
      }
      throw new InputError('LOCKED', `could not take the lock for ${info.domain}`);
    },
    isHeld: lockLive,
    list,
    async removeStale(dryRun = false) {
      const removed: string[] = [];
      for (const info of await list()) {
        if (await lockLive(info.domain)) continue;
        if (!dryRun) await rm(path(info.domain), { force: true });
        removed.push(info.domain);
      }
      return removed;
    },
  };
}
