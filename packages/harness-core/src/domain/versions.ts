/**
 * Recipe versions: release tags `<semver>+<upstream>` (e.g. `1.13.0+1.31.1`), ordered by the
 * recipe semver first, then the upstream version. Pure.
 */
const RELEASE = /^(\d+)\.(\d+)\.(\d+)\+(\S+)$/;

/**
 * The value abra stamps as `coop-cloud.<stack>.chaos-version` on a chaos deploy: the checkout's
 * commit cut to 8 characters, `+U` when the working tree has uncommitted changes. The one
 * definition: the deployers stamp it and the upgrade checks expect it.
 */
export function chaosVersion(commit: string, dirty: boolean): string {
  return `${commit.slice(0, 8)}${dirty ? '+U' : ''}`;
}

export function isReleaseTag(tag: string): boolean {
  return RELEASE.test(tag);
}

function compareLoose(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    const c = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return Math.sign(c);
  }
  return 0;
}

/** Negative when a < b, 0 when equal, positive when a > b. Non-release strings sort first. */
export function compareVersions(a: string, b: string): number {
  const ma = RELEASE.exec(a);
  const mb = RELEASE.exec(b);
  if (!ma || !mb) return ma ? 1 : mb ? -1 : a.localeCompare(b);
  for (let i = 1; i <= 3; i++) {
    const d = Number(ma[i]) - Number(mb[i]);
    if (d !== 0) return Math.sign(d);
  }
  return compareLoose(ma[4]!, mb[4]!);
}

export function sortReleases(tags: readonly string[]): string[] {
  return tags.filter(isReleaseTag).sort(compareVersions);
}

/** The version label value `coop-cloud.${STACK_NAME}.version=<v>` in compose text, if any. */
export function versionLabelFromCompose(composeText: string): string | null {
  const m = /coop-cloud\.\$\{STACK_NAME\}\.version=([^"'\s]+)/.exec(composeText);
  return m?.[1] ?? null;
}
