/**
 * Server-rendered HTML for the status page. Pure string building; every value from results or
 * the store goes through `esc` (text and attribute contexts), so hostile test names or failure
 * messages stay text. No JavaScript; styles come from /static/style.css (strict CSP).
 */
import { TIER_NAMES, type IsolationLabel, type Results } from '@cc-ci/harness-core';
import type { RunView } from './run-view.js';
import type { TriggerView } from './trigger-view.js';
import {
  FLAKY_WINDOW,
  ISOLATION_MEANING,
  isolationSentence,
  type FlakyRecipe,
} from './isolation.js';
import { httpLink } from './links.js';
import { regressionSentence, type Regression } from './regression.js';

export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Encode a path segment for an href (recipe names are validated, but never trust that). */
const seg = (s: string) => encodeURIComponent(s);

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · cc-ci</title>
<link rel="stylesheet" href="/static/style.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<header><a class="brand" href="/">cc-ci</a> <span class="tagline">CI for Co-op Cloud recipes</span></header>
<main>
${body}
</main>
<footer>cc-ci status page · <a href="/triggers">Triggers</a> · <a href="/api/recipes">API</a></footer>
</body>
</html>
`;
}

export function age(fromIso: string | null, now: Date): string {
  if (!fromIso) return '';
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(fromIso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129_600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

const VERDICT_CLASS: Record<string, string> = { pass: 'pass', fail: 'fail', error: 'error' };
const STATUS_MARK: Record<string, string> = { pass: '✓', fail: '✗', skip: '–', unver: '?' };

export function verdictCell(run: RunView | null): string {
  if (!run) return '<span class="muted">no runs</span>';
  if (!run.verdict) return `<span class="running">${esc(run.status)}</span>`;
  return `<span class="verdict ${VERDICT_CLASS[run.verdict] ?? ''}">${esc(run.verdict)}</span>`;
}

export interface RecipeListItem {
  readonly recipe: string;
  readonly latest: RunView | null;
  /** Set when the recipe's newest run that counts is a regression (domain/regression.ts). */
  readonly regression?: Regression | null;
}

/** The status page's regression mark: the sentence, the previous release and its run. */
export function regressionMark(r: Regression): string {
  return `<span class="regression" title="${esc(`${r.previousVersion} reached level ${r.previousLevel} in run ${r.previousRunId}`)}">regression: ${esc(regressionSentence(r))}</span>`;
}

/** A run's isolation label (docs/status-page.md): the label, what it means in its tooltip. */
export function isolationMark(label: IsolationLabel | null): string {
  if (!label) return '';
  return ` <span class="isolation ${esc(label)}" title="${esc(`Isolation re-run: ${ISOLATION_MEANING[label]}`)}">${esc(label)}</span>`;
}

/** "2 of the last 10 runs"; "its only run". */
function flakyCount(f: FlakyRecipe): string {
  if (f.runs === 1) return 'its only run';
  return `${f.flaky} of the last ${f.runs} runs`;
}

/** Recipes with a flaky label among their last runs; nothing when there are none. */
export function flakySection(flaky: readonly FlakyRecipe[]): string {
  if (flaky.length === 0) return '';
  const items = flaky
    .map(
      (f) =>
        `<li><a href="/recipes/${seg(f.recipe)}">${esc(f.recipe)}</a>: flaky in ${esc(flakyCount(f))}</li>`,
    )
    .join('\n');
  return `<section class="flaky-recent" aria-labelledby="flaky-recent">
<h2 id="flaky-recent">Flaky recently</h2>
<p class="muted">Recipes with a run among their last ${FLAKY_WINDOW} that failed, then passed when re-run alone on the swarm: the run page says what differed.</p>
<ul>
${items}
</ul>
</section>`;
}

export function renderIndex(
  items: readonly RecipeListItem[],
  filter: string | null,
  now: Date,
  flaky: readonly FlakyRecipe[] = [],
): string {
  const filters = ['all', 'pass', 'fail', 'error', 'running', 'none']
    .map(
      (f) =>
        `<a href="/?state=${f}"${(filter ?? 'all') === f ? ' aria-current="page"' : ''}>${f}</a>`,
    )
    .join(' ');
  const rows = items
    .map(({ recipe, latest, regression }) => {
      const badge = `<img src="/badge/${seg(recipe)}.svg" alt="cc-ci level badge for ${esc(recipe)}" height="20">`;
      return `<tr>
<td><a href="/recipes/${seg(recipe)}">${esc(recipe)}</a></td>
<td>${verdictCell(latest)}${isolationMark(latest?.isolation ?? null)}${regression ? ` ${regressionMark(regression)}` : ''}</td>
<td>${badge}</td>
<td>${esc(latest?.version ?? '')}</td>
<td>${latest ? `<a href="/runs/${seg(latest.runId)}">${esc(age(latest.finishedAt ?? latest.createdAt, now))}</a>` : ''}</td>
</tr>`;
    })
    .join('\n');
  return layout(
    'Recipes',
    `<h1>Recipes</h1>
${flakySection(flaky)}
<nav class="filters" aria-label="Filter by state">${filters}</nav>
<table>
<thead><tr><th>recipe</th><th>latest</th><th>level</th><th>version</th><th>when</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="5" class="muted">No recipes match.</td></tr>'}
</tbody>
</table>`,
  );
}

/** A small inline SVG of levels over time (oldest left). */
export function levelTrend(levels: readonly number[]): string {
  if (levels.length === 0) return '';
  const w = 8;
  const bars = levels
    .map(
      (l, i) =>
        `<rect x="${i * w}" y="${50 - l * 10}" width="${w - 2}" height="${Math.max(1, l * 10)}" class="lv${Math.max(0, Math.min(5, l))}"><title>level ${l}</title></rect>`,
    )
    .join('');
  return `<svg class="trend" role="img" aria-label="level trend" width="${levels.length * w}" height="50" viewBox="0 0 ${levels.length * w} 50">${bars}</svg>`;
}

export function renderRecipe(
  recipe: string,
  runs: readonly RunView[],
  next: string | null,
  now: Date,
): string {
  const rows = runs
    .map(
      (r) => `<tr>
<td><a href="/runs/${seg(r.runId)}">${esc(r.runId)}</a></td>
<td>${verdictCell(r)}${isolationMark(r.isolation)}</td>
<td>${r.level ?? ''}</td>
<td>${esc(r.version ?? '')}</td>
<td>${r.pr ? `#${esc(r.pr)}` : ''}</td>
<td>${esc(age(r.finishedAt ?? r.createdAt, now))}</td>
</tr>`,
    )
    .join('\n');
  const levels = runs
    .filter((r) => r.level !== null)
    .map((r) => r.level!)
    .reverse();
  return layout(
    recipe,
    `<h1>${esc(recipe)}</h1>
<p><img src="/badge/${seg(recipe)}.svg" alt="cc-ci level badge" height="20"></p>
${levelTrend(levels)}
<table>
<thead><tr><th>run</th><th>verdict</th><th>level</th><th>version</th><th>PR</th><th>when</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="6" class="muted">No runs yet.</td></tr>'}
</tbody>
</table>
${next ? `<p><a rel="next" href="/recipes/${seg(recipe)}?cursor=${encodeURIComponent(next)}">older runs →</a></p>` : ''}`,
  );
}

/** The run page's account of the isolation re-run: the sentence, what differed, where. */
function isolationDetails(i: NonNullable<Results['isolation']>): string {
  const differences = i.differences.map((d) => `<li>${esc(d)}</li>`).join('');
  return `<dt>isolation re-run</dt><dd>${isolationMark(i.label).trim()} ${esc(isolationSentence(i))}.${differences ? ` What differed:<ul class="differences">${differences}</ul>` : i.label === 'flaky' ? ' The results name no difference between the two runs.' : ''} <span class="muted">The verdict and tiers shown are the re-run's; the first run's artifacts are in <code>${esc(i.first_dir)}</code> of the run directory.</span></dd>`;
}

export function renderRun(
  run: RunView,
  results: Results | null,
  junitFiles: readonly string[],
  hasLog: boolean,
): string {
  const tiers = results
    ? TIER_NAMES.filter((t) => results.stages[t])
        .map((t) => {
          const s = results.stages[t]!;
          const tests = s.tests
            .map(
              (row) =>
                `<li class="${esc(row.status)}">${STATUS_MARK[row.status] ?? ''} ${esc(row.name)} <span class="muted">${(row.ms / 1000).toFixed(1)} s</span>${row.message ? `<pre>${esc(row.message)}</pre>` : ''}</li>`,
            )
            .join('');
          return `<tr><td>${esc(t)}</td><td>${STATUS_MARK[s.status] ?? ''} ${esc(s.status)}${s.retried ? ' (retried)' : ''}</td><td>${(s.duration_ms / 1000).toFixed(1)} s</td><td>${esc(s.reason ?? '')}${tests ? `<ul class="tests">${tests}</ul>` : ''}</td></tr>`;
        })
        .join('\n')
    : '';
  const files = [
    ...junitFiles.map(
      (f) => `<li><a href="/runs/${seg(run.runId)}/junit/${seg(f)}">junit/${esc(f)}</a></li>`,
    ),
    ...(hasLog ? [`<li><a href="/runs/${seg(run.runId)}/log">run.log</a></li>`] : []),
  ].join('');
  return layout(
    `run ${run.runId}`,
    `<h1>${esc(run.recipe)} · run ${esc(run.runId)}</h1>
<p>${verdictCell(run)} ${run.level !== null ? `level ${esc(run.level)} of 5` : ''} ${results?.mode === 'quick' ? '<span class="muted">(quick run: lower confidence)</span>' : ''}</p>
<dl>
<dt>recipe</dt><dd><a href="/recipes/${seg(run.recipe)}">${esc(run.recipe)}</a></dd>
<dt>version</dt><dd>${esc(results?.base_version ? `${results.base_version} → ` : '')}${esc(run.version ?? '')}</dd>
<dt>ref</dt><dd><code>${esc(run.ref ?? '')}</code></dd>
${run.pr ? `<dt>PR</dt><dd>#${esc(run.pr)}</dd>` : ''}
${httpLink(run.buildLink) ? `<dt>build</dt><dd><a href="${esc(httpLink(run.buildLink))}">${esc(run.buildLink)}</a></dd>` : ''}
${results ? `<dt>teardown</dt><dd>${results.flags.clean_teardown ? 'clean' : 'left objects behind'}; secrets ${results.flags.no_secret_leak ? 'not leaked' : 'leaked'}</dd>` : ''}
${results?.isolation ? isolationDetails(results.isolation) : ''}
${run.error ? `<dt>error</dt><dd><pre>${esc(run.error)}</pre></dd>` : ''}
</dl>
${results ? `<table><thead><tr><th>tier</th><th>status</th><th>time</th><th>details</th></tr></thead><tbody>${tiers}</tbody></table>` : '<p class="muted">No results uploaded for this run.</p>'}
${files ? `<h2>Files</h2><ul>${files}</ul>` : ''}`,
  );
}

export const STYLE = `
:root { --fg:#1d1d1f; --muted:#6b6b70; --pass:#1a7f37; --fail:#cf222e; --error:#9a6700; --bg:#fff; --line:#d8dee4; }
body { font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 0.75rem 1rem; }
header { border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; color: var(--fg); text-decoration: none; }
.tagline, .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.verdict { font-weight: 600; text-transform: uppercase; }
.verdict.pass { color: var(--pass); } .verdict.fail { color: var(--fail); } .verdict.error { color: var(--error); }
.running { color: var(--muted); font-style: italic; }
.regression { color: var(--fail); font-size: 0.9em; }
.isolation { font-size: 0.8em; border: 1px solid currentColor; border-radius: 0.6em; padding: 0 0.4em; }
.isolation.flaky { color: var(--error); } .isolation.genuine { color: var(--fail); } .isolation.changed { color: var(--muted); }
.filters a { margin-right: 0.5rem; } .filters a[aria-current] { font-weight: 700; }
pre { white-space: pre-wrap; word-break: break-word; background: #f6f8fa; padding: 0.4rem; margin: 0.25rem 0; }
ul.tests { margin: 0.25rem 0 0; padding-left: 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dt { color: var(--muted); } dd { margin: 0; }
.trend rect.lv0 { fill: #cf222e; } .trend rect.lv1 { fill: #fe7d37; } .trend rect.lv2 { fill: #dfb317; }
.trend rect.lv3 { fill: #a4a61d; } .trend rect.lv4 { fill: #97ca00; } .trend rect.lv5 { fill: #4c1; }
footer { color: var(--muted); border-top: 1px solid var(--line); }
`;

export const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1a7f37"/><path d="M4 8.5l2.5 2.5L12 5" stroke="#fff" stroke-width="2" fill="none"/></svg>`;

/** Recent triggers, refused and unknown-repository ones included: nothing is silent. */
export function renderTriggers(items: readonly TriggerView[], now: Date): string {
  const rows = items
    .map(
      (t) =>
        `<tr class="trigger-${esc(t.state)}"><td>${esc(t.id)}</td><td>${esc(t.repo)} #${esc(t.pr)}</td><td>${esc(t.commenter)}</td><td>${esc(t.state)}</td><td>${t.buildNumber !== null ? `<a href="/runs/${seg(String(t.buildNumber))}">${esc(t.buildNumber)}</a>` : ''}</td><td>${esc(t.reason ?? '')}</td><td>${esc(age(t.createdAt, now))}</td></tr>`,
    )
    .join('\n');
  return layout(
    'Triggers',
    `<h1>Recent triggers</h1>
<p>Every <code>!testme</code> the bridge has seen, including refused ones and ones on repositories that are not enrolled.</p>
<table class="runs"><thead><tr><th>#</th><th>Pull request</th><th>By</th><th>State</th><th>Run</th><th>Reason</th><th>Age</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="7">No triggers yet.</td></tr>'}
</tbody></table>`,
  );
}
