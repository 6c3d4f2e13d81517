/** Plain-text rendering of a run for people reading the Drone log or a terminal. Pure. */
import { TIER_NAMES, type Results, type Stage } from '@cc-ci/harness-core';

const MARK: Record<string, string> = {
  pass: 'PASS ',
  fail: 'FAIL ',
  skip: 'skip ',
  unver: 'UNVER',
};

/** A stage's code and reason, after two spaces: "  CRASH_LOOP: service … is crash-looping". */
function notes(s: Stage): string {
  const text = [s.code, s.reason].filter(Boolean).join(': ');
  return text ? `  ${text}` : '';
}

export function renderSummary(r: Results): string {
  const lines = [
    '',
    `cc-ci: ${r.recipe} ${r.version ?? ''}${r.base_version ? ` (upgraded from ${r.base_version})` : ''} — verdict ${r.verdict.toUpperCase()}, level ${r.level} of 5${r.mode === 'quick' ? ' (quick run: lower confidence)' : ''}`,
    '',
  ];
  for (const tier of TIER_NAMES) {
    const s = r.stages[tier];
    if (!s) continue;
    lines.push(
      `  ${MARK[s.status] ?? s.status} ${tier.padEnd(8)} ${(s.duration_ms / 1000).toFixed(1).padStart(6)} s${s.retried ? ' (retried once)' : ''}${notes(s)}`,
    );
  }
  lines.push(
    '',
    `  teardown ${r.flags.clean_teardown ? 'clean' : 'LEFT OBJECTS BEHIND'}; secrets ${r.flags.no_secret_leak ? 'not leaked' : 'LEAKED INTO ARTIFACTS'}; deploys: ${r.deploy_count}`,
  );
  const q = r.quick;
  if (q?.canonical)
    lines.push(
      `  quick run on the warm canonical ${q.canonical.version} (${q.canonical.stack}): ${q.snapshot_restored ? 'put back as it was' : `NOT PUT BACK — ${q.restore_detail ?? 'no detail'}`}`,
    );
  else if (q)
    lines.push(`  quick run asked for, ran cold: ${q.cold_reason ?? 'no reason recorded'}`);
  if (r.error) lines.push(`  error: ${r.error_code ? `${r.error_code}: ` : ''}${r.error}`);
  const codes = [...new Set(TIER_NAMES.flatMap((t) => r.stages[t]?.code ?? []))];
  if (codes.length) lines.push(`  error codes (${codes.join(', ')}): see docs/errors.md`);
  if (r.isolation) {
    const { label, first, first_dir } = r.isolation;
    lines.push(
      '',
      `  isolation re-run: ${label.toUpperCase()} — the first run (${first_dir}/) ended ${first.verdict} at level ${first.level}; alone it ended ${r.verdict} at level ${r.level}`,
      ...r.isolation.differences.map((d) => `    ${d}`),
    );
  }
  return lines.join('\n');
}
