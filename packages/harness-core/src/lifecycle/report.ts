/**
 * Reporting a run: `buildResults` turns the run state into results.json's content (pure,
 * unit-tested), `writeArtifacts` writes the JUnit files, scans every artifact for raw secret
 * values and writes results.json.
 */
import { hostname } from 'node:os';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { computeLevel, computeVerdict } from '../domain/level.js';
import { renderJunit } from '../domain/junit.js';
import type { Redactor } from '../domain/redactor.js';
import {
  RESULTS_SCHEMA_VERSION,
  ResultsSchema,
  TIER_NAMES,
  type Results,
  type Stage,
  type TierName,
} from '../domain/results.js';
import type { Deployer } from '../ports/deployer.js';
import type { RunLogger } from '../tiers/types.js';
import { rungsOf } from './rungs.js';
import type { QuickRecord, RunState } from './run-state.js';
import type { RunOptions } from './types.js';

export interface ReportInput {
  readonly options: RunOptions;
  readonly state: RunState;
  readonly head: { readonly version: string | null; readonly commit: string };
  readonly ref: string;
  readonly domain: string;
  readonly stack: string;
  readonly deployerKind: Deployer['kind'];
  readonly started: Date;
  readonly finished: Date;
}

export function buildResults(input: ReportInput): Results {
  const { options, state, head } = input;
  const rungs = rungsOf(state.stages);
  const verdict = state.aborted ? 'error' : computeVerdict(rungs);
  return {
    schema: RESULTS_SCHEMA_VERSION,
    recipe: options.recipe,
    version: head.version,
    base_version: state.baseVersion,
    ...(state.upgradePaths.length
      ? {
          upgrade_paths: state.upgradePaths.map((p) => ({
            base_version: p.base_version,
            status: p.stage.status,
            duration_ms: p.stage.duration_ms,
            ...(p.stage.reason ? { reason: p.stage.reason } : {}),
            ...(p.stage.code ? { code: p.stage.code } : {}),
          })),
        }
      : {}),
    pr: options.pr,
    ref: input.ref,
    commit: head.commit,
    run_id: options.runId,
    started: input.started.toISOString(),
    finished: input.finished.toISOString(),
    // What ran, not what was asked for: quick only when the head ran on the warm canonical.
    mode: state.quick?.canonical ? 'quick' : 'cold',
    ...(state.quick ? { quick: quickOf(state.quick) } : {}),
    verdict,
    level: computeLevel(rungs),
    rungs,
    stages: Object.fromEntries(
      TIER_NAMES.filter((t) => state.stages[t]).map((t) => [t, state.stages[t]!]),
    ),
    // A quick run that could not put the canonical back left something of itself on the host.
    flags: {
      clean_teardown: state.teardown.clean && (state.quick?.restore?.restored ?? true),
      no_secret_leak: true,
    },
    domain: input.domain,
    deploy_count: state.deployCount,
    concurrent_runs: state.concurrentRuns,
    ...(state.error ? { error: state.error } : {}),
    ...(state.errorCode ? { error_code: state.errorCode } : {}),
    ...(state.diagnostics.length ? { diagnostics: state.diagnostics } : {}),
    meta: {
      deployer: input.deployerKind,
      ...(state.keptWarm ? { kept_warm: { stack: input.stack, domain: input.domain } } : {}),
      ...(options.buildLink ? { build_link: options.buildLink } : {}),
    },
  };
}

/** results.json `quick`: the canonical used (or why the run was cold) and whether it was put back. */
function quickOf(q: QuickRecord): NonNullable<Results['quick']> {
  const c = q.canonical;
  return {
    canonical: c
      ? { version: c.version, commit: c.commit, stack: c.stack, domain: c.domain }
      : null,
    ...(q.coldReason ? { cold_reason: q.coldReason } : {}),
    ...(c ? { head_deployed: q.headDeployed ?? false } : {}),
    snapshot_restored: c ? (q.restore?.restored ?? false) : null,
    ...(c
      ? { restore_detail: q.restore?.detail ?? 'the run ended before the canonical was put back' }
      : {}),
  };
}

/** JUnit per tier, the secret-leak scan of every artifact, then results.json (schema-checked). */
export async function writeArtifacts(
  results: Results,
  outDir: string,
  redactor: Redactor,
  log: RunLogger,
): Promise<{ results: Results; resultsPath: string }> {
  const junitDir = join(outDir, 'junit');
  await mkdir(junitDir, { recursive: true });
  const timestamp = results.started.slice(0, 19);
  for (const [tier, stage] of Object.entries(results.stages) as Array<[TierName, Stage]>) {
    if (stage.status === 'skip' && stage.tests.length === 0) continue;
    await writeFile(
      join(junitDir, `${tier}.xml`),
      redactor.redact(
        renderJunit({
          tier,
          recipe: results.recipe,
          stage,
          timestamp,
          hostname: hostname() || 'localhost',
        }),
      ),
    );
  }
  const leaks: string[] = [];
  for (const file of await listFiles(outDir)) {
    if ((await stat(file)).size > 32 * 1024 * 1024) continue;
    const found = redactor.findLeaks(await readFile(file, 'latin1'));
    if (found.length) leaks.push(`${relative(outDir, file)} (${found.join(', ')})`);
  }
  if (leaks.length) log.error(`secret values found in artifacts: ${leaks.join('; ')}`);
  const valid = ResultsSchema.parse({
    ...results,
    flags: { ...results.flags, no_secret_leak: leaks.length === 0 },
  });
  const resultsPath = join(outDir, 'results.json');
  await writeFile(resultsPath, redactor.redact(JSON.stringify(valid, null, 2)) + '\n');
  return { results: valid, resultsPath };
}

/** The checkouts of a run directory: the head, upgrade bases, a quick run's canonical. */
const CHECKOUTS = new Set(['recipe', 'base', 'canonical', '.git']);

/** Every artifact of the run directory (the checkouts are not artifacts). */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (CHECKOUTS.has(entry.name)) continue;
      out.push(...(await listFiles(path)));
    } else out.push(path);
  }
  return out;
}
