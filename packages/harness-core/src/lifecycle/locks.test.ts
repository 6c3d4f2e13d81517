import { describe, expect, it } from '@jest/globals';
import { mkdtemp, mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileLocks, LEASE_TTL_MS } from './locks.js';

/** A lock file as another container (own hostname, own pid namespace) leaves it. */
async function foreignLock(stateDir: string, domain: string, ageMs: number): Promise<void> {
  await mkdir(join(stateDir, 'locks'), { recursive: true });
  const file = join(stateDir, 'locks', `${domain}.lock`);
  const info = { domain, runId: 'other-7', pid: 1, host: 'drone-step-3f2a', started: '2026-01-01' };
  await writeFile(file, JSON.stringify(info));
  const t = new Date(Date.now() - ageMs);
  await utimes(file, t, t);
}

describe('fileLocks (lease)', () => {
  it('counts a lock from another host as dead once its lease expired, takes it over and removes it', async () => {
    const state = await mkdtemp(join(tmpdir(), 'ccci-locks-'));
    await foreignLock(state, 'a.ci.localhost', LEASE_TTL_MS + 5_000);
    const locks = fileLocks(state);
    expect(await locks.isHeld('a.ci.localhost')).toBe(false);
    expect(await locks.removeStale(true)).toEqual(['a.ci.localhost']);
    expect(await readdir(join(state, 'locks'))).toEqual(['a.ci.localhost.lock']);
    expect(await locks.removeStale()).toEqual(['a.ci.localhost']);
    expect(await readdir(join(state, 'locks'))).toEqual([]);

    await foreignLock(state, 'a.ci.localhost', LEASE_TTL_MS + 5_000);
    const held = await locks.acquire({ domain: 'a.ci.localhost', runId: 'r2', started: 'now' });
    expect(await locks.isHeld('a.ci.localhost')).toBe(true);
    await held.release();
    expect(await locks.isHeld('a.ci.localhost')).toBe(false);
  });

  it('never takes over or removes a lock from another host whose lease is fresh', async () => {
    const state = await mkdtemp(join(tmpdir(), 'ccci-locks-'));
    await foreignLock(state, 'b.ci.localhost', 1_000);
    const locks = fileLocks(state);
    expect(await locks.isHeld('b.ci.localhost')).toBe(true);
    await expect(
      locks.acquire({ domain: 'b.ci.localhost', runId: 'r3', started: 'now' }),
    ).rejects.toMatchObject({ code: 'LOCKED', message: expect.stringContaining('other-7') });
    expect(await locks.removeStale()).toEqual([]);
    expect(await readdir(join(state, 'locks'))).toEqual(['b.ci.localhost.lock']);
  });

  it('keeps a live holder’s lease fresh by renewing it', async () => {
    const state = await mkdtemp(join(tmpdir(), 'ccci-locks-'));
    let clock = Date.now();
    const locks = fileLocks(state, { renewMs: 5, ttlMs: 1_000, now: () => clock });
    const held = await locks.acquire({ domain: 'c.ci.localhost', runId: 'r4', started: 'now' });
    // Seen from another host the lock's age is all that counts: jump past the TTL ...
    clock += 10_000;
    // ... and the holder's next renewal makes it fresh again (bounded wait for the interval).
    let fresh = false;
    for (let i = 0; i < 200 && !fresh; i++) {
      await new Promise((r) => setTimeout(r, 5));
      fresh = await locks.isHeld('c.ci.localhost');
    }
    expect(fresh).toBe(true);
    await held.release();
  });

  it('ends a lock of a dead pid on the same host at once, lease or not', async () => {
    const state = await mkdtemp(join(tmpdir(), 'ccci-locks-'));
    const locks = fileLocks(state);
    await mkdir(join(state, 'locks'), { recursive: true });
    const { hostname } = await import('node:os');
    await writeFile(
      join(state, 'locks', 'd.ci.localhost.lock'),
      JSON.stringify({
        domain: 'd.ci.localhost',
        runId: 'r5',
        pid: 2 ** 22 + 17,
        host: hostname(),
        started: 'x',
      }),
    );
    expect(await locks.isHeld('d.ci.localhost')).toBe(false);
  });
});
