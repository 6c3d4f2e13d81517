/**
 * Which version the upgrade tier starts from. Pure.
 * 1. the warm canonical, when one exists and is strictly older than the head version;
 * 2. else the newest release tag strictly older than the head version;
 * 3. else a structural skip. A base equal to the head version is never used: that would be a
 *    vacuous upgrade (docs/domain.md, "Vacuous upgrades").
 * With `upgrade_paths: N`, the next older releases follow the first base until there are N,
 * and the paths run oldest first.
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

export type BasesChoice =
  | {
      readonly kind: 'bases';
      /** Oldest first; the last is the newest base (the one a single-path run would use). */
      readonly bases: ReadonlyArray<{
        readonly version: string;
        readonly source: 'canonical' | 'release';
      }>;
      /** Set when fewer releases than asked for exist. */
      readonly short?: string;
    }
  | { readonly kind: 'skip'; readonly reason: string };

/** The bases of `paths` upgrade paths: the first base of chooseUpgradeBase, then older releases. */
export function chooseUpgradeBases(input: {
  headVersion: string | null;
  releases: readonly string[];
  canonical?: { version: string } | null;
  paths: number;
}): BasesChoice {
  const first = chooseUpgradeBase(input);
  if (first.kind === 'skip') return first;
  const wanted = Math.max(1, input.paths) - 1;
  const older =
    wanted === 0
      ? []
      : input.releases
          .filter((r) => isReleaseTag(r) && compareVersions(r, first.version) < 0)
          .sort(compareVersions)
          .slice(-wanted)
          .map((version) => ({ version, source: 'release' as const }));
  const bases = [...older, { version: first.version, source: first.source }];
  return {
    kind: 'bases',
    bases,
    ...(bases.length < input.paths
      ? {
          short: `upgrade_paths asks for ${input.paths}, but only ${bases.length} release(s) older than ${input.headVersion} exist`,
        }
      : {}),
  };
}
