/**
 * Run locks: one run per app domain at a time, and the liveness test the janitor relies on.
 * A lock is a file `<stateDir>/locks/<domain>.lock` created exclusively, holding the owner's
 * pid, host and start time. A lock is held when its file exists and its pid is alive on this
 * host. Behind the RunLocks port so a swarm-wide implementation can replace it.
 */
import { hostname } from 'node:os';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';

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
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function fileLocks(stateDir: string): RunLocks {
  const dir = join(stateDir, 'locks');
  const path = (domain: string) => join(dir, `${domain}.lock`);
  const read = async (domain: string): Promise<LockInfo | null> => {
    try {
      return JSON.parse(await readFile(path(domain), 'utf8')) as LockInfo;
    } catch {
      return null;
    }
  };
  const live = (info: LockInfo) => (info.host === hostname() ? pidAlive(info.pid) : true);
  return {
    scope: createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 12),
    async acquire(partial) {
      await mkdir(dir, { recursive: true });
      const info: LockInfo = { ...partial, pid: process.pid, host: hostname() };
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await writeFile(path(info.domain), JSON.stringify(info), { flag: 'wx' });
          return {
            release: async () => {
              const current = await read(info.domain);
              if (current?.runId === info.runId) await rm(path(info.domain), { force: true });
            },
          };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const holder = await read(info.domain);
          if (holder && live(holder)) {
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
    async isHeld(domain) {
      const info = await read(domain);
      return info !== null && live(info);
    },
    async list() {
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
    },
  };
}
