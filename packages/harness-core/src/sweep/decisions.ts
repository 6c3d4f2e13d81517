/**
 * The sweep's decisions, pure (docs/domain.md, "Warm canonicals and the weekly sweep"):
 * - test a recipe only when its latest release tag is newer than its canonical version (never
 *   keyed on commits);
 * - promote only when enrolled, green, cold, not a PR, and the tested version is exactly the
 *   release tag that was asked for, at that tag's commit.
 */
import type { Results } from '../domain/results.js';
import { compareVersions, isReleaseTag, sortReleases } from '../domain/versions.js';

export interface Canonical {
  readonly recipe: string;
  readonly version: string;
  readonly commit: string;
  readonly domain: string;
  readonly stack: string;
  readonly run_id: string;
  readonly ts: string;
}

export type SweepDecision =
  | { readonly action: 'test'; readonly tag: string; readonly reason: string }
  | { readonly action: 'skip'; readonly reason: string }
  | { readonly action: 'error'; readonly reason: string };

export function sweepDecision(canonical: Canonical | null, tags: readonly string[]): SweepDecision {
  const releases = sortReleases(tags.filter(isReleaseTag));
  const latest = releases.at(-1);
  if (!latest) return { action: 'error', reason: 'no release tags (expected <semver>+<upstream>)' };
  if (!canonical)
    return { action: 'test', tag: latest, reason: `no canonical yet; latest release ${latest}` };
  const cmp = compareVersions(latest, canonical.version);
  if (cmp > 0)
    return {
      action: 'test',
      tag: latest,
      reason: `latest release ${latest} is newer than the canonical ${canonical.version}`,
    };
  return {
    action: 'skip',
    reason: `up to date: the canonical is ${canonical.version}, the latest release is ${latest}`,
  };
}

export type PromotionDecision =
  { readonly promote: true } | { readonly promote: false; readonly reason: string };

export function promotionDecision(input: {
  results: Results;
  enrolled: boolean;
  tag: string;
  tagCommit: string;
}): PromotionDecision {
  const r = input.results;
  if (!input.enrolled)
    return { promote: false, reason: 'the recipe is not enrolled for a warm canonical' };
  if (r.verdict !== 'pass')
    return { promote: false, reason: `the run is not green (verdict ${r.verdict})` };
  if (r.mode !== 'cold') return { promote: false, reason: 'quick runs never promote' };
  if (r.pr !== null) return { promote: false, reason: 'a pull request run never promotes' };
  if (!isReleaseTag(input.tag))
    return { promote: false, reason: `${input.tag} is not a release tag` };
  if (r.version !== input.tag)
    return {
      promote: false,
      reason: `tested version ${r.version ?? 'unknown'} is not the release ${input.tag}`,
    };
  if (r.commit !== input.tagCommit)
    return {
      promote: false,
      reason: `tested commit ${r.commit ?? 'unknown'} is not ${input.tag}'s commit`,
    };
  if (!r.meta?.kept_warm) return { promote: false, reason: 'the deploy was not kept warm' };
  return { promote: true };
}
