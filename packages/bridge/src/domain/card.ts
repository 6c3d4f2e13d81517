/**
 * The PR conversation's words: the single cc-ci comment (queued → running tier by tier → result
 * card), the commit-status description, and the one-off replies. Pure; see docs/card.md.
 *
 * Every string that comes from a run or a user is untrusted. `md` makes it inert in Gitea
 * markdown: no HTML, no links, images or mentions, no breaking out of a table cell, and bounded
 * length. A rendering problem falls back to plain text and never changes what the status says.
 */
import { TIER_NAMES, TIER_PROGRESS_STATES, type Results, type TierName } from '@cc-ci/harness-core';
import { isolationSentence } from './isolation.js';
import { httpLink } from './links.js';
import { regressionSentence, type Regression } from './regression.js';

/** Hidden marker that identifies the cc-ci comment on a PR; always the first line. */
export const CARD_MARKER = '<!-- cc-ci:testme -->';

export interface CardLinks {
  readonly runUrl: string;
  readonly buildUrl: string | null;
  readonly badgeUrl: string;
}

export interface CardRun {
  readonly runId: string | null;
  readonly recipe: string;
  readonly pr: number;
  readonly headSha: string;
  readonly quick: boolean;
  readonly requestedBy: string;
  readonly links: CardLinks | null;
}

/**
 * A tier's state on the card: the progress the plugin reports (harness-core's
 * TIER_PROGRESS_STATES), or 'waiting' (not started yet). The progress route accepts exactly these.
 */
export const CARD_TIER_STATES = [...TIER_PROGRESS_STATES, 'waiting'] as const;
export type TierProgress = (typeof CARD_TIER_STATES)[number];

export type CardState =
  | { readonly kind: 'queued'; readonly position: number | null }
  | { readonly kind: 'started'; readonly note?: string }
  | { readonly kind: 'progress'; readonly tiers: Partial<Record<TierName, TierProgress>> }
  | {
      readonly kind: 'result';
      readonly results: Results;
      /** Set when the run's level is below the previous release's (domain/regression.ts). */
      readonly regression?: Regression | null;
    }
  | { readonly kind: 'error'; readonly message: string };

const MARK: Record<string, string> = {
  pass: '✅',
  fail: '❌',
  skip: '⏭️',
  unver: '⚠️',
  running: '⏳',
  waiting: '·',
};
const VERDICT_MARK: Record<string, string> = { pass: '✅', fail: '❌', error: '⚠️' };
const MAX_TEXT = 300;

/**
 * Make untrusted text inert in Gitea markdown (also inside a table cell): HTML entities for
 * `< > & " '`, backslash-escapes for markdown punctuation, `|` escaped, newlines flattened,
 * `@` followed by a zero-width joiner (no mention), bounded length.
 */
export function md(value: unknown, max = MAX_TEXT): string {
  let s = String(value ?? '')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[\u0000-\u001f\u007f]/g, '');
  if (s.length > max) s = `${s.slice(0, max - 1)}…`;
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/([\\`*_{}[\]()#+\-.!|~:])/g, '\\$1')
    .replace(/@/g, '@\u200d');
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${s} s`;
}

const short = (sha: string) => (/^[0-9a-f]{7,40}$/.test(sha) ? sha.slice(0, 10) : md(sha, 12));
const rerun = (quick: boolean) => (quick ? '`!testme --quick`' : '`!testme`');
/** URLs we build ourselves; still refuse anything that is not plain http(s). */
const safeUrl = httpLink;

function header(run: CardRun, title: string, badge?: string): string[] {
  return [
    CARD_MARKER,
    `### cc-ci · ${md(run.recipe)} — ${title}`,
    '',
    ...(badge ? [badge, ''] : []),
    `Commit \`${short(run.headSha)}\` · asked by ${md(run.requestedBy)}${run.quick ? ' · quick run' : ''}`,
  ];
}

function linksLine(run: CardRun): string {
  const l = run.links;
  if (!l) return '';
  const parts: string[] = [];
  const runUrl = safeUrl(l.runUrl);
  const buildUrl = safeUrl(l.buildUrl);
  if (runUrl) parts.push(`[run page](${runUrl})`);
  if (buildUrl) parts.push(`[Drone build](${buildUrl})`);
  return parts.join(' · ');
}

function footer(run: CardRun): string[] {
  const links = linksLine(run);
  return [
    '',
    ...(links ? [links, ''] : []),
    `<sub>Re-run: comment ${rerun(run.quick)} on this pull request.</sub>`,
  ];
}

function tierReason(results: Results, tier: TierName): string {
  const stage = results.stages[tier];
  if (!stage) return '';
  if (stage.reason) return stage.reason;
  if (stage.status === 'fail' || stage.status === 'unver') {
    const t = stage.tests.find((x) => x.status === stage.status && x.message);
    return t?.message ?? '';
  }
  return '';
}

/** A tier's notes: its error code (docs/errors.md says how to fix it), then its reason. */
function tierNotes(results: Results, tier: TierName): string {
  const code = results.stages[tier]?.code;
  const reason = md(tierReason(results, tier));
  return code ? `\`${code}\`${reason ? ` ${reason}` : ''}` : reason;
}

/** The regression line: our own words and numbers; the versions are untrusted. */
function regressionLine(r: Regression): string {
  return `> ⚠️ **Regression:** ${regressionSentence(r)} (last release: ${md(r.previousVersion)}, run ${md(r.previousRunId)}).`;
}

const MAX_DIFFERENCES = 10;

/**
 * The isolation re-run (results.isolation): the label told from both runs' summaries in our
 * words, then the harness's `differences`, each untrusted. A flaky label always says what
 * differed, or that the results name nothing.
 */
function isolationLines(i: NonNullable<Results['isolation']>): string[] {
  const lines = [`> 🔁 **Isolation re-run:** ${isolationSentence(i)}.`];
  const shown = i.differences.slice(0, MAX_DIFFERENCES);
  if (shown.length > 0) {
    lines.push('>', '> What differed between the two runs:');
    for (const d of shown) lines.push(`> - ${md(d)}`);
    if (i.differences.length > shown.length)
      lines.push(`> - … and ${i.differences.length - shown.length} more`);
  } else if (i.label === 'flaky') {
    lines.push('>', '> The results name no difference between the two runs.');
  }
  return lines;
}

function renderResult(run: CardRun, results: Results, regression?: Regression | null): string {
  const v = results.verdict;
  const badgeUrl = safeUrl(run.links?.badgeUrl);
  const lines = header(
    run,
    `${VERDICT_MARK[v] ?? ''} ${v} · level ${results.level} of 5`,
    badgeUrl ? `![cc-ci level ${results.level}](${badgeUrl})` : undefined,
  );
  lines.push('');
  const versions = results.base_version
    ? `${md(results.base_version)} → ${md(results.version ?? 'unversioned')}`
    : md(results.version ?? 'unversioned');
  lines.push(`Version: ${versions}`, '');
  if (regression) lines.push(regressionLine(regression), '');
  if (results.isolation) lines.push(...isolationLines(results.isolation), '');
  const paths = results.upgrade_paths ?? [];
  if (paths.length > 1)
    lines.push(
      `Upgrade paths: ${paths.map((p) => `${md(p.base_version)} → head ${MARK[p.status] ?? ''} ${p.status}`).join(' · ')}`,
      '',
    );
  const quick = quickLine(results, run.quick);
  if (quick) lines.push(quick, '');
  if (v === 'error' && results.error)
    lines.push(
      `**Error:** ${results.error_code ? `\`${results.error_code}\` ` : ''}${md(results.error)}`,
      '',
    );
  lines.push('| Tier | Result | Time | Notes |', '|---|---|---|---|');
  for (const tier of TIER_NAMES) {
    const stage = results.stages[tier];
    if (!stage) continue;
    const retried = stage.retried ? ' (retried once)' : '';
    lines.push(
      `| ${tier} | ${MARK[stage.status] ?? ''} ${stage.status} | ${formatDuration(stage.duration_ms)} | ${tierNotes(results, tier)}${retried} |`,
    );
  }
  if (!results.flags.clean_teardown || !results.flags.no_secret_leak) {
    lines.push('');
    if (!results.flags.clean_teardown)
      lines.push('⚠️ Teardown left objects behind on the CI host.');
    if (!results.flags.no_secret_leak)
      lines.push('⚠️ A secret value was found in the run artifacts.');
  }
  lines.push(...footer(run));
  return lines.join('\n');
}

function renderProgress(run: CardRun, tiers: Partial<Record<TierName, TierProgress>>): string {
  const lines = header(run, '⏳ running');
  lines.push('', '| Tier | State |', '|---|---|');
  for (const tier of TIER_NAMES) {
    const s = tiers[tier] ?? 'waiting';
    lines.push(`| ${tier} | ${MARK[s] ?? ''} ${s} |`);
  }
  lines.push(...footer(run));
  return lines.join('\n');
}

function renderUnsafe(run: CardRun, state: CardState): string {
  switch (state.kind) {
    case 'queued':
      return [
        ...header(run, '🕓 queued'),
        '',
        state.position !== null && state.position > 1
          ? `Waiting for a free runner slot (position ${state.position}).`
          : 'Waiting for a runner slot.',
        ...footer(run),
      ].join('\n');
    case 'started':
      return [
        ...header(run, '⏳ started'),
        '',
        state.note
          ? md(state.note)
          : 'The Drone build has been created; tiers report here as they run.',
        ...footer(run),
      ].join('\n');
    case 'progress':
      return renderProgress(run, state.tiers);
    case 'result':
      return renderResult(run, state.results, state.regression);
    case 'error':
      return [
        ...header(run, '⚠️ error'),
        '',
        `**Error:** ${md(state.message)}`,
        ...footer(run),
      ].join('\n');
  }
}

/** Plain-text fallback: still the marker first, the verdict and the run link. Never throws. */
export function renderPlainCard(run: CardRun, state: CardState): string {
  try {
    const what =
      state.kind === 'result'
        ? `${md(state.results.verdict)} · level ${Number(state.results.level)} of 5`
        : state.kind === 'error'
          ? `error: ${md(state.message)}`
          : state.kind;
    const link = safeUrl(run.links?.runUrl);
    return `${CARD_MARKER}\ncc-ci · ${md(run.recipe)}: ${what}${link ? `\n\n${link}` : ''}`;
  } catch {
    return `${CARD_MARKER}\ncc-ci: see the commit status for the result.`;
  }
}

/** The comment body. Never throws: a rendering problem gives the plain-text card. */
/**
 * What a quick run did, from results.json's `quick` block (what ran, never what was asked):
 * the canonical it upgraded and whether it was put back, or why it ran cold.
 */
function quickLine(results: Results, asked: boolean): string | null {
  const q = results.quick;
  const c = q?.canonical;
  if (results.mode === 'quick' && c) {
    const where = `> Quick run on the warm canonical ${md(c.version)}`;
    const what =
      q.head_deployed === false
        ? 'the run ended before the head was deployed over it'
        : 'the head was deployed over it';
    return q.snapshot_restored
      ? `${where}: ${what}, then the canonical was put back as it was (its version, its data). Backup and restore are not run in a quick run; lower confidence than \`!testme\`.`
      : `${where}: ${what}; **the canonical could not be put back as it was** (${md(q.restore_detail ?? 'no detail')}); an operator should look at ${md(c.stack)}.`;
  }
  if (q?.cold_reason) return `> Quick run asked for, ran cold: ${md(q.cold_reason)}.`;
  if (asked) return '> Quick run asked for: no warm deploy was reattached, so this ran cold.';
  return null;
}

export function renderCard(run: CardRun, state: CardState): string {
  try {
    return renderUnsafe(run, state);
  } catch {
    return renderPlainCard(run, state);
  }
}

const STATUS_MAX = 140;
const clip = (s: string) => (s.length > STATUS_MAX ? `${s.slice(0, STATUS_MAX - 1)}…` : s);

/** Commit-status description (plain text, at most 140 characters). */
export function statusDescription(state: CardState): string {
  try {
    switch (state.kind) {
      case 'queued':
        return 'queued';
      case 'started':
        return state.note ? clip(`started: ${state.note.replace(/\s+/g, ' ')}`) : 'started';
      case 'progress': {
        const running = TIER_NAMES.find((t) => state.tiers[t] === 'running');
        return running ? `running: ${running}` : 'running';
      }
      case 'result': {
        const r = state.results;
        const failed = TIER_NAMES.find((t) => r.stages[t]?.status === 'fail');
        const text = `${r.verdict} · level ${r.level} of 5${failed ? ` · ${failed} failed` : ''}${r.mode === 'quick' ? ' · quick' : ''}${r.isolation ? ` · ${r.isolation.label} (re-run alone)` : ''}`;
        return clip(text);
      }
      case 'error':
        return clip(`error: ${state.message.replace(/\s+/g, ' ')}`);
    }
  } catch {
    return 'see the run page';
  }
}

/** The one reply to a malformed trigger (e.g. `!testme foo`). */
export function renderGrammarHelp(body: string): string {
  return [
    `cc-ci did not start a run: “${md(body.trim(), 60)}” is not a valid trigger.`,
    '',
    'Comment exactly one of these, alone in the comment:',
    '- `!testme` — the full lifecycle (install, upgrade, backup, restore, custom tests, lint)',
    '- `!testme --quick` — a quicker, lower-confidence run on a warm deploy',
  ].join('\n');
}

/** Reply when a trigger is refused (untrusted commenter, closed PR, unknown repository). */
export function renderRefusal(login: string, reason: string): string {
  return `cc-ci did not start a run for ${md(login)}: ${md(reason)}.\n\nSee the cc-ci security model for who may trigger runs.`;
}
