/**
 * The isolation re-run (docs/isolation.md): a failed run, when its policy and its recipe allow,
 * is run once more, cold, at the same ref, with the swarm to itself (the host slot of
 * host-slot.ts). The re-run's verdict is the run's; results.json says which label the pair
 * earned (genuine, flaky, changed), both runs' summaries and what differed.
 *
 * The run directory keeps one layout: results.json, junit/ and run.log are always the final
 * run's; the first run's artifacts move to `first-run/` before the re-run starts.
 */
import { appendFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadRecipeConfig } from '../config/recipe-config.js';
import { AbortedError, CcciError, errorMessage } from '../errors.js';
import { isolationOf, rerunDecision, type IsolationPolicy } from '../domain/isolation.js';
import { withJunitProperties } from '../domain/junit.js';
import { ResultsSchema, type Results } from '../domain/results.js';
import { acquireSlot } from './host-slot.js';
import { locksOf, runLifecycle, type LifecycleAdapters } from './run-lifecycle.js';
import type { RunDeps, RunOptions, RunOutcome } from './types.js';

/** Where the first run's artifacts go, relative to the run directory. */
export const FIRST_RUN_DIR = 'first-run';

export async function runWithIsolation(
  options: RunOptions,
  deps: RunDeps,
  adapters: LifecycleAdapters,
  policy: IsolationPolicy,
): Promise<RunOutcome> {
  const first = await runLifecycle(options, deps, adapters);
  if (first.results.verdict === 'pass') return first;
  const decision = rerunDecision(first.results, policy, await recipeAllows(options));
  const log = deps.log;
  if (!decision.rerun) {
    log.info(`no isolation re-run: ${decision.why}`);
    return first;
  }
  log.info(
    `isolation re-run: ${decision.why}; waiting until the swarm is free, then running alone`,
  );
  let slot;
  try {
    slot = await acquireSlot(
      locksOf(options, adapters),
      { runId: options.runId, started: new Date().toISOString() },
      {
        log,
        signal: deps.signal,
        ...(adapters.slotPollMs ? { pollMs: adapters.slotPollMs } : {}),
      },
    );
  } catch (err) {
    if (!(err instanceof AbortedError || err instanceof CcciError)) throw err;
    log.warn(`isolation re-run not done (${errorMessage(err)}); the first run's verdict stands`);
    return first;
  }
  try {
    await moveInto(options.outDir, FIRST_RUN_DIR);
    await appendFile(
      join(options.outDir, 'run.log'),
      `${new Date().toISOString()} INFO  isolation re-run of a failed run (${decision.why}); the first run is in ${FIRST_RUN_DIR}/\n`,
    );
    // The re-run is cold, always: a quick run's re-run alone must not touch the canonical again.
    const rerun = await runLifecycle(
      { ...options, isolated: true, quick: false },
      deps,
      adapters,
    ).catch(async (err: unknown) => {
      log.error(
        `the isolation re-run did not finish (${errorMessage(err)}); the first run's verdict stands`,
      );
      await moveBack(options.outDir, FIRST_RUN_DIR);
      return null;
    });
    if (!rerun) return first;
    return await label(options.outDir, first.results, rerun, log);
  } finally {
    await slot.release();
  }
}

/** cc-ci.yml `isolation_rerun` (the first run loaded the same file, so it parses). */
async function recipeAllows(options: RunOptions): Promise<boolean> {
  try {
    return (await loadRecipeConfig(options.configDir, options.recipe)).isolationRerun;
  } catch {
    return true;
  }
}

/** The final results: the re-run's, with the isolation block; JUnit files carry the label. */
async function label(
  outDir: string,
  firstResults: Results,
  rerun: RunOutcome,
  log: RunDeps['log'],
): Promise<RunOutcome> {
  const isolation = isolationOf(firstResults, rerun.results, FIRST_RUN_DIR);
  const results = ResultsSchema.parse({ ...rerun.results, isolation });
  await writeFile(rerun.resultsPath, JSON.stringify(results, null, 2) + '\n');
  const junitDir = join(outDir, 'junit');
  for (const name of await readdir(junitDir).catch(() => [])) {
    if (!name.endsWith('.xml')) continue;
    const path = join(junitDir, name);
    await writeFile(
      path,
      withJunitProperties(await readFile(path, 'utf8'), {
        isolation: isolation.label,
        'isolation.first_rung': isolation.first.failed_rung ?? '',
        'isolation.first_code': isolation.first.code ?? '',
      }),
    );
  }
  log.info(`isolation re-run: ${isolation.label} — ${isolation.differences.join('; ')}`);
  return { ...rerun, results };
}

/** Move every entry of `dir` into `dir/sub` (created). */
async function moveInto(dir: string, sub: string): Promise<void> {
  const target = join(dir, sub);
  await rm(target, { recursive: true, force: true });
  const entries = await readdir(dir);
  await mkdir(target);
  for (const entry of entries) await rename(join(dir, entry), join(target, entry));
}

/** Undo moveInto after a re-run that did not finish: its partial files go, the first run's come back. */
async function moveBack(dir: string, sub: string): Promise<void> {
  const source = join(dir, sub);
  for (const entry of await readdir(dir))
    if (entry !== sub) await rm(join(dir, entry), { recursive: true, force: true });
  for (const entry of await readdir(source)) await rename(join(source, entry), join(dir, entry));
  await rm(source, { recursive: true, force: true });
}
