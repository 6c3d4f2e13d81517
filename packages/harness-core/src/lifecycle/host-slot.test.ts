import { describe, expect, it } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from './run-logger.js';
import { ISOLATION_SLOT, acquireOutsideSlot, acquireSlot, otherLiveRuns } from './host-slot.js';
import { fileLocks, type RunLocks } from './locks.js';
import type { RunLogger } from '../tiers/types.js';

const locksIn = async () => fileLocks(await mkdtemp(join(tmpdir(), 'ccci-slot-')));
const started = '2026-12-03T01:00:00.000Z';
const info = (domain: string, runId = domain) => ({ domain, runId, started });
const wait = (log: RunLogger = silentLogger, signal = new AbortController().signal) => ({
  log,
  signal,
  pollMs: 10,
  maxWaitMs: 5_000,
});
const lines = () => {
  const said: string[] = [];
  const log: RunLogger = { ...silentLogger, info: (m) => void said.push(m) };
  return { said, log };
};
const later = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the host slot', () => {
  it('a regular run waits while an isolation re-run holds the slot, and says so once', async () => {
    const locks = await locksIn();
    const slot = await locks.acquire(info(ISOLATION_SLOT, 'rerun'));
    const { said, log } = lines();
    let got = false;
    const regular = acquireOutsideSlot(locks, info('a.ci.localhost'), wait(log)).then((l) => {
      got = true;
      return l;
    });
    await later(100);
    expect(got).toBe(false);
    expect(await locks.isHeld('a.ci.localhost')).toBe(false);
    await slot.release();
    const lock = await regular;
    expect(await locks.isHeld('a.ci.localhost')).toBe(true);
    expect(said).toEqual(['waiting for the host: an isolation re-run has the host to itself']);
    await lock.release();
  });

  it('a regular run that took its lock as the slot was taken lets the lock go and waits', async () => {
    const inner = await locksIn();
    let slot: Awaited<ReturnType<RunLocks['acquire']>> | null = null;
    let heldDuringSlot = false;
    // The slot is taken right after the regular run's lock (the race the re-check closes).
    const racing: RunLocks = {
      ...inner,
      async acquire(i) {
        const lock = await inner.acquire(i);
        if (!slot) {
          slot = await inner.acquire(info(ISOLATION_SLOT, 'rerun'));
          setTimeout(() => {
            void inner.isHeld('a.ci.localhost').then((held) => {
              heldDuringSlot = held;
              return slot!.release();
            });
          }, 60);
        }
        return lock;
      },
    };
    const lock = await acquireOutsideSlot(racing, info('a.ci.localhost'), wait());
    expect(heldDuringSlot).toBe(false);
    expect(await inner.isHeld(ISOLATION_SLOT)).toBe(false);
    expect(await inner.isHeld('a.ci.localhost')).toBe(true);
    await lock.release();
  });

  it('the re-run takes the slot, then waits until no other run holds a lock', async () => {
    const locks = await locksIn();
    const other = await locks.acquire(info('b.ci.localhost', 'run-b'));
    const { said, log } = lines();
    let got = false;
    const rerun = acquireSlot(locks, { runId: 'rerun', started }, wait(log)).then((s) => {
      got = true;
      return s;
    });
    await later(100);
    expect(got).toBe(false);
    expect(await locks.isHeld(ISOLATION_SLOT)).toBe(true);
    expect(await otherLiveRuns(locks)).toHaveLength(1);
    await other.release();
    const slot = await rerun;
    expect(said).toEqual([
      'waiting for the host: 1 other run(s) to finish (run-b on b.ci.localhost)',
    ]);
    await slot.release();
    expect(await locks.isHeld(ISOLATION_SLOT)).toBe(false);
  });

  it('a second re-run waits for the first one’s slot', async () => {
    const locks = await locksIn();
    const first = await acquireSlot(locks, { runId: 'one', started }, wait());
    const { said, log } = lines();
    const second = acquireSlot(locks, { runId: 'two', started }, wait(log));
    await later(60);
    await first.release();
    await (await second).release();
    expect(said).toEqual(['waiting for the host: another isolation re-run holds the host']);
  });

  it('gives up with HOST_BUSY at the bound and releases the slot it took', async () => {
    const locks = await locksIn();
    const other = await locks.acquire(info('b.ci.localhost'));
    await expect(
      acquireSlot(locks, { runId: 'rerun', started }, { ...wait(), maxWaitMs: 50 }),
    ).rejects.toMatchObject({ code: 'HOST_BUSY' });
    expect(await locks.isHeld(ISOLATION_SLOT)).toBe(false);
    await other.release();
  });

  it('stops waiting when the run is aborted', async () => {
    const locks = await locksIn();
    const slot = await locks.acquire(info(ISOLATION_SLOT, 'rerun'));
    const abort = new AbortController();
    const regular = acquireOutsideSlot(
      locks,
      info('a.ci.localhost'),
      wait(silentLogger, abort.signal),
    );
    setTimeout(() => abort.abort(), 30);
    await expect(regular).rejects.toMatchObject({ code: 'ABORTED' });
    await slot.release();
  });
});
