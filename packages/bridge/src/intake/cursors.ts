/** Poll and discovery cursors: where each repository's comments (and Drone's builds) were read to. */
import type { IntakeStore } from './intake-store.js';

/** The cursor key of the Drone build discovery. */
export const DRONE_CURSOR = 'drone-builds';

/**
 * The persisted cursor, or — at first sight of the key — now (whole seconds), recorded. Comments
 * and builds from before the bridge knew a repository are not its work; anything after is, even
 * while the bridge is down.
 */
export function cursorOf(
  store: Pick<IntakeStore, 'cursor' | 'setCursor'>,
  now: () => number,
  key: string,
): string {
  const existing = store.cursor(key);
  if (existing !== null) return existing;
  const since = new Date(Math.floor(now() / 1000) * 1000).toISOString();
  store.setCursor(key, since);
  return since;
}
