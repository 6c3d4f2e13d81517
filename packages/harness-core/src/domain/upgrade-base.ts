/**
 * Which version the upgrade tier starts from. Pure.
 * 1. the warm canonical, when one exists and is strictly older than the head version;
 * 2. else the newest release tag strictly older than the head version;
 * 3. else a structural skip. A base equal to the head version is never used: that would be a
 *    vacuous upgrade (docs/domain.md, "Vacuous upgrades").
 */
import { compareVersions, isReleaseTag } from './versions.js';

export type BaseChoice =
  | { readonly kind: 'base'; readonly version: string; readonly source: 'canonical' | 'release' }
  | { readonly kind: 'skip'; readonly reason: string };

export function chooseUpgradeBase(input: {
  headVersion: string | null;
  releases: readonly string[];
  canonical?: { version: string } | null;
}): BaseChoice {
  const head = input.headVersion;
  if (!head || !isReleaseTag(head)) {
    return {
      kind: 'skip',
      reason: `the head has no release version (${head ?? 'no coop-cloud.${STACK_NAME}.version label'}); nothing to upgrade from`,
    };
  }
  const canonical = input.canonical?.version;
  if (
    canonical &&
    isReleaseTag(canonical) &&
    compareVersions(canonical, head) < 0 &&
    input.releases.includes(canonical)
  ) {
    return { kind: 'base', version: canonical, source: 'canonical' };
  }
  const older = input.releases
    .filter((r) => isReleaseTag(r) && compareVersions(r, head) < 0)
    .sort(compareVersions);
  const newest = older.at(-1);
  if (newest) return { kind: 'base', version: newest, source: 'release' };
  return { kind: 'skip', reason: `no previous release older than ${head}` };
}
