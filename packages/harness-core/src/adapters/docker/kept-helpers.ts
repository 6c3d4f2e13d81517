/**
 * Volume helpers kept for a run: one idle container per (image, volume, labels), started on first
 * use and reused through `docker exec` (about 0.07 s here) instead of a `docker run --rm` per
 * script (about 0.35 s). The container is the same sandbox either way (no network, all
 * capabilities dropped but the three file ones, no-new-privileges; an exec inherits them).
 *
 * Removing a volume first removes the helpers kept on it (a mounted volume cannot be removed,
 * and the next deploy would find the old data). The run's finish releases the rest before its
 * teardown verifies that nothing is left; each also ends by itself after KEPT_HELPER_LIFETIME_S,
 * and a killed run leaves them carrying its labels for the janitor.
 */
import type { VolumeHelper } from '../../ports/docker.js';

/** A kept helper: its volume mounted read-write (scripts, restore) or read-only (archives). */
export interface KeptHelperSpec extends VolumeHelper {
  readonly readOnly?: boolean;
}

/** An idle helper exits after this long (a script it is running then ends with it). */
export const KEPT_HELPER_LIFETIME_S = 3 * 3600;

/** What docker exec says when the helper is gone (it expired, or something removed it). */
export const HELPER_GONE =
  /Error response from daemon: (Container \S+ is not running|No such container)/i;

export class KeptHelpers {
  private readonly kept = new Map<string, { volume: string; id: Promise<string> }>();

  constructor(
    private readonly start: (helper: KeptHelperSpec) => Promise<string>,
    private readonly remove: (ids: readonly string[]) => Promise<void>,
  ) {}

  /** The helper container for this volume, started when there is none. */
  get(helper: KeptHelperSpec): Promise<string> {
    const key = keyOf(helper);
    const known = this.kept.get(key);
    if (known) return known.id;
    const entry = { volume: helper.volume, id: this.start(helper) };
    this.kept.set(key, entry);
    // A helper that failed to start is not kept: the next use tries again.
    entry.id.catch(() => {
      if (this.kept.get(key) === entry) this.kept.delete(key);
    });
    return entry.id;
  }

  /** Stop using this helper (it is gone, or an exec in it timed out) and remove it. */
  discard(helper: KeptHelperSpec): Promise<number> {
    return this.removeWhere((key) => key === keyOf(helper));
  }

  /** Remove the helpers kept on a volume (before the volume is removed). */
  releaseVolume(volume: string): Promise<number> {
    return this.removeWhere((_key, entry) => entry.volume === volume);
  }

  /** Remove every kept helper; returns how many there were. */
  release(): Promise<number> {
    return this.removeWhere(() => true);
  }

  private async removeWhere(
    match: (key: string, entry: { volume: string; id: Promise<string> }) => boolean,
  ): Promise<number> {
    const chosen = [...this.kept].filter(([key, entry]) => match(key, entry));
    for (const [key] of chosen) this.kept.delete(key);
    const ids = (await Promise.all(chosen.map(([, e]) => e.id.catch(() => null)))).filter(
      (id): id is string => id !== null,
    );
    if (ids.length) await this.remove(ids);
    return ids.length;
  }
}

function keyOf(helper: KeptHelperSpec): string {
  return JSON.stringify([
    helper.image,
    helper.volume,
    Object.entries(helper.labels).sort(),
    helper.readOnly === true,
  ]);
}
