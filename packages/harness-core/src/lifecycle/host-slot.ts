/**
 * The host slot: an isolation re-run has the swarm to itself (docs/isolation.md).
 *
 * Built on the run locks every run already takes (file locks on one host, swarm locks across
 * runners), so every runner sees the same slot:
 *
 * - The slot is the lock of the reserved name ISOLATION_SLOT. An isolation re-run takes it
 *   (waiting while another re-run holds it), then waits until no other run holds a lock — a run
 *   holds its domain's lock for as long as it deploys — and only then starts.
 * - A regular run waits while the slot is held, takes its domain lock, and looks again: when the
 *   slot was taken meanwhile it lets its lock go and waits again. So a regular run never deploys
 *   while a re-run holds the slot, and a re-run never starts while a regular run holds a lock.
 *
 * Every wait is bounded (HOST_BUSY after `maxWaitMs`), polls at `pollMs`, says what it waits
 * for once, and ends early on abort.
 */
import { AbortedError, InfraError, InputError } from '../errors.js';
import type { RunLogger } from '../tiers/types.js';
import type { LockInfo, RunLocks } from './locks.js';
import { sleep } from './readiness.js';

/** The lock name of the slot; not a domain any app can have (app domains have a suffix). */
export const ISOLATION_SLOT = 'isolation-slot.cc-ci';

export interface SlotWait {
  readonly log: RunLogger;
  readonly signal: AbortSignal;
  readonly pollMs?: number;
  readonly maxWaitMs?: number;
  readonly now?: () => number;
}

/** Default bound of a wait for the host: longer than a slow lifecycle, shorter than a Drone step. */
export const SLOT_MAX_WAIT_MS = 45 * 60_000;
const POLL_MS = 2_000;

type Lock = Awaited<ReturnType<RunLocks['acquire']>>;

/** The runs holding a live lock other than the slot and the given domains (who is deploying). */
export async function otherLiveRuns(
  locks: RunLocks,
  except: readonly string[] = [],
): Promise<LockInfo[]> {
  const skip = new Set([ISOLATION_SLOT, ...except]);
  const held = await Promise.all(
    (await locks.list())
      .filter((l) => !skip.has(l.domain))
      .map(async (l) => ((await locks.isHeld(l.domain)) ? l : null)),
  );
  return held.filter((l): l is LockInfo => l !== null);
}

/** A regular run's lock on its domain, taken only while no isolation re-run holds the host. */
export async function acquireOutsideSlot(
  locks: RunLocks,
  info: Omit<LockInfo, 'pid' | 'host'>,
  wait: SlotWait,
): Promise<Lock> {
  const waiter = waiting(wait);
  for (;;) {
    while (await locks.isHeld(ISOLATION_SLOT))
      await waiter.step('an isolation re-run has the host to itself');
    const lock = await locks.acquire(info);
    if (!(await locks.isHeld(ISOLATION_SLOT))) return lock;
    await lock.release();
  }
}

/** The isolation re-run's hold on the host: the slot, once no other run holds a lock. */
export async function acquireSlot(
  locks: RunLocks,
  info: { readonly runId: string; readonly started: string },
  wait: SlotWait,
): Promise<Lock> {
  const waiter = waiting(wait);
  let slot: Lock | null = null;
  while (!slot) {
    try {
      slot = await locks.acquire({ domain: ISOLATION_SLOT, ...info });
    } catch (err) {
      if (!(err instanceof InputError && err.code === 'LOCKED')) throw err;
      await waiter.step('another isolation re-run holds the host');
    }
  }
  try {
    for (;;) {
      const others = await otherLiveRuns(locks);
      if (others.length === 0) return slot;
      await waiter.step(
        `${others.length} other run(s) to finish (${others.map((o) => `${o.runId} on ${o.domain}`).join(', ')})`,
      );
    }
  } catch (err) {
    await slot.release();
    throw err;
  }
}

/** One bounded wait: logs what it waits for when that changes, throws HOST_BUSY at the bound. */
function waiting(wait: SlotWait) {
  const now = wait.now ?? Date.now;
  const start = now();
  const maxMs = wait.maxWaitMs ?? SLOT_MAX_WAIT_MS;
  let said = '';
  return {
    async step(what: string): Promise<void> {
      if (wait.signal.aborted) throw new AbortedError();
      if (what !== said) {
        wait.log.info(`waiting for the host: ${what}`);
        said = what;
      }
      if (now() - start >= maxMs)
        throw new InfraError(
          'HOST_BUSY',
          `waited ${Math.round((now() - start) / 1000)} s for the host and it is still busy: ${what}`,
        );
      await sleep(wait.pollMs ?? POLL_MS, wait.signal);
    },
  };
}

/**
 * Who else deploys while a run runs: counts the other live runs at once and every `everyMs`,
 * reporting each count (the run keeps the most). A failed count is no count (never throws).
 */
export function watchCompany(
  locks: RunLocks,
  ownDomain: string,
  onCount: (others: number) => void,
  everyMs = 3_000,
): { stop(): Promise<void> } {
  let inFlight: Promise<void> = Promise.resolve();
  const sample = () => {
    inFlight = otherLiveRuns(locks, [ownDomain]).then(
      (others) => onCount(others.length),
      () => undefined,
    );
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
