#!/usr/bin/env node
/**
 * The `cc-ci` command: composition root. Parses the command line and Drone's environment,
 * wires harness-core, prints readable progress, uploads results, and maps outcomes to exit codes
 * (0 pass, 1 fail, 2 bad input, 3 infrastructure error).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  DockerCli,
  createDocker,
  DockerDeployer,
  DockerHost,
  InputError,
  codeOf,
  formatBytes,
  warmDiskUsage,
  writeWarmDiskReport,
  WARM_DISK_FILE,
  errorInfo,
  errorMessage,
  DEFAULT_PROBE_IMAGE,
  fileLocks,
  generateRunId,
  isRecipeName,
  ownContainerId,
  runLocksFor,
  type RunLocks,
  runJanitor,
  runWithIsolation,
  runProcess,
  runPrune,
  runSweep,
  type SweepRecipe,
  type MirrorSyncOutcome,
  runVipGuard,
  loadRecipeConfig,
  type Results,
  type RunLogger,
} from '@cc-ci/harness-core';
import {
  USAGE,
  UsageError,
  parseCommand,
  type JanitorCommand,
  type PruneCommand,
  type RunCommand,
  type SweepCommand,
  type VipGuardCommand,
} from './cli.js';
import { renderSummary } from './render.js';
import { progressReporter } from './progress.js';
import { uploadResults } from './upload.js';

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

function clock(): string {
  return new Date().toISOString().slice(11, 19);
}

/** Readable lines for Drone logs and terminals: `12:00:01 [install] message`. */
export function consoleLogger(bindings: Record<string, unknown> = {}): RunLogger {
  const line = (level: string, message: string, fields?: Record<string, unknown>) => {
    const tier = (fields?.tier ?? bindings.tier) as string | undefined;
    out(
      `${clock()} ${level === 'info' ? '' : `${level.toUpperCase()} `}${tier ? `[${tier}] ` : ''}${message}`,
    );
  };
  return {
    info: (m, f) => line('info', m, f),
    warn: (m, f) => line('warn', m, f),
    error: (m, f) => line('error', m, f),
    child: (b) => consoleLogger({ ...bindings, ...b }),
  };
}

/** Locks in the swarm when the daemon is a manager (every runner sees them), else files. */
function locksFor(docker: DockerCli, stateDir: string): Promise<RunLocks> {
  return runLocksFor(docker, stateDir, fileLocks);
}

/**
 * The probe container's image: inside a container (the plugin as a Drone step), the image this
 * process runs from, which has node and exists on the host; on a host, the local default.
 */
async function probeImage(docker: DockerCli): Promise<string> {
  const id = await ownContainerId();
  if (!id) return DEFAULT_PROBE_IMAGE;
  return (await docker.containerImage(id).catch(() => null)) ?? DEFAULT_PROBE_IMAGE;
}

async function janitor(cmd: Pick<JanitorCommand, 'dryRun' | 'stateDir'>): Promise<number> {
  const docker = createDocker();
  const report = await runJanitor({
    docker,
    deployer: new DockerDeployer({ docker, workDir: join(tmpdir(), 'cc-ci-janitor') }),
    locks: await locksFor(docker, cmd.stateDir),
    dryRun: cmd.dryRun,
    log: (l) => out(`janitor: ${l}`),
  });
  out(
    `janitor: ${cmd.dryRun ? 'would reap' : 'reaped'} ${report.reaped.length} run(s) (${report.reaped.reduce((n, r) => n + r.objects, 0)} objects); left ${report.skippedLive.length} live run(s) and ${report.skippedWarm.length} warm canonical(s) alone; ${cmd.dryRun ? 'would remove' : 'removed'} ${report.staleLocks.length} stale lock(s)`,
  );
  return 0;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

async function prune(cmd: PruneCommand): Promise<number> {
  const docker = createDocker();
  const report = await runPrune({
    host: new DockerHost(docker),
    locks: await locksFor(docker, cmd.stateDir),
    dryRun: cmd.dryRun,
    thresholds: { minFreeBytes: cmd.minFreeGiB * 2 ** 30, minFreePercent: cmd.minFreePercent },
    imageMinAgeHours: cmd.imageMinAgeHours,
    log: (l) => out(`prune: ${l}`),
  });
  const d = report.decision;
  if (!d.prune) {
    out(`prune: ${d.blocked ? 'not pruning (unsafe now)' : 'nothing to do'}: ${d.reason}`);
    return d.blocked ? 1 : 0;
  }
  out(
    `prune: ${cmd.dryRun ? 'would remove' : 'removed'} ${report.images} dangling image(s) and ${report.containers} stopped container(s)` +
      (cmd.dryRun
        ? ''
        : `, reclaimed ${gib(report.reclaimedBytes)}, ${gib(report.freeAfterBytes ?? 0)} free now`) +
      '; volumes, networks and tagged images are never pruned',
  );
  return 0;
}

async function vipGuard(cmd: VipGuardCommand): Promise<number> {
  const restart = cmd.restartDaemon;
  const docker = createDocker();
  const report = await runVipGuard({
    host: new DockerHost(docker),
    locks: await locksFor(docker, cmd.stateDir),
    dryRun: cmd.dryRun,
    proxyNetwork: cmd.proxyNetwork,
    pruneNetworks: cmd.pruneNetworks,
    restartDaemon: restart
      ? async () => {
          const res = await runProcess(restart[0]!, restart.slice(1), { timeoutMs: 120_000 });
          if (res.exitCode !== 0)
            throw new Error(
              `${restart.join(' ')} failed (exit ${res.exitCode}): ${res.stderr.trim()}`,
            );
        }
      : null,
    log: (l) => out(`vip-guard: ${l}`),
  });
  out(
    `vip-guard: ${report.healthy ? 'healthy' : 'PROBLEMS'} — proxy network ${report.proxyProblems.length ? `has ${report.proxyProblems.length} problem(s)` : 'ok'}, ${report.allocationErrors.length} task(s) failing on IP allocation, ${cmd.dryRun ? 'would try to remove unused networks' : `removed ${report.removedNetworks.length} unused network(s)`} (${report.keptInUse.length} in use kept)${report.daemonRestarted ? ', daemon restarted' : ''}`,
  );
  return report.healthy ? 0 : 1;
}

/** Recipes enrolled for a warm canonical: config dirs whose cc-ci.yml says warm_canonical: true. */
async function enrolledForSweep(configDir: string): Promise<string[]> {
  let names: string[] = [];
  try {
    names = (await readdir(configDir, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names.sort()) {
    if (!isRecipeName(n)) continue;
    if ((await loadRecipeConfig(configDir, n)).warmCanonical) out.push(n);
  }
  return out;
}

/** One line of what the mirror sync did (or, in a dry run, would do). */
function syncSummary(s: MirrorSyncOutcome): string {
  const n = (l: readonly unknown[], what: string) => (l.length ? [`${l.length} ${what}`] : []);
  const parts = [
    `main ${s.main?.slice(0, 10)}${s.mainMoved ? ' (moved)' : ''}`,
    ...n(s.tagsAdded, 'tag(s) added'),
    ...n(s.tagsMoved, 'tag(s) moved'),
    ...n(s.tagsRemoved, 'tag(s) removed'),
    ...s.closedPrs.map((p) => `PR #${p.number} ${s.dryRun ? 'would be ' : ''}closed`),
    ...n(s.keptPrs, 'PR(s) left open'),
    ...(s.prError ? [`PRs not handled: ${s.prError.message}`] : []),
  ];
  return `${s.dryRun ? 'would sync: ' : 'synced: '}${parts.join(', ')}`;
}

/** `<base>/<recipe>` for a directory, `<base>/<recipe>.git` for a URL. */
function repoUnder(base: string, recipe: string): string {
  const b = base.replace(/\/+$/, '');
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(b) ? `${b}/${recipe}.git` : join(b, recipe);
}

/** The recipe's repository, and its upstream and Gitea when the repositories are mirrors. */
function sweepRecipeOf(cmd: SweepCommand, recipe: string): SweepRecipe {
  const src = repoUnder(cmd.srcBase, recipe);
  if (!cmd.upstreamBase) return { recipe, src };
  const gitea = cmd.gitea
    ? { url: cmd.gitea.url, token: cmd.gitea.token, repo: `${cmd.gitea.owner}/${recipe}` }
    : undefined;
  return {
    recipe,
    src,
    mirror: { upstream: repoUnder(cmd.upstreamBase, recipe), ...(gitea ? { gitea } : {}) },
  };
}

async function sweep(cmd: SweepCommand): Promise<number> {
  const enrolled = await enrolledForSweep(cmd.configDir);
  const recipes = cmd.only.length ? cmd.only : enrolled;
  if (recipes.length === 0) {
    // A sweep with nothing to do where something was expected is an error, not a green no-op.
    err(`cc-ci sweep: no recipe in ${cmd.configDir} has warm_canonical: true; nothing to sweep`);
    return 2;
  }
  const notEnrolled = recipes.filter((r) => !enrolled.includes(r));
  if (notEnrolled.length) {
    err(
      `cc-ci sweep: not enrolled for a warm canonical (warm_canonical: true): ${notEnrolled.join(', ')}`,
    );
    return 2;
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const sweepDocker = createDocker();
  const outcomes = await runSweep({
    recipes: recipes.map((recipe) => sweepRecipeOf(cmd, recipe)),
    stateDir: cmd.stateDir,
    locks: await locksFor(sweepDocker, cmd.stateDir),
    probeImage: await probeImage(sweepDocker),
    configDir: cmd.configDir,
    runsDir: cmd.runsDir,
    deployer: 'docker',
    domainSuffix: cmd.domainSuffix,
    dryRun: cmd.dryRun,
    log: consoleLogger(),
    signal: controller.signal,
    isolation: cmd.isolation,
  });
  for (const o of outcomes) {
    if (o.sync?.synced) out(`sweep: ${o.recipe}: mirror — ${syncSummary(o.sync)}`);
    out(`sweep: ${o.recipe}: ${o.label} — ${o.detail}`);
  }
  // What keeping deploys warm costs on this host (docs/runbook.md, "Disk").
  const disk = await warmDiskUsage(sweepDocker, cmd.stateDir).catch((e: unknown) => {
    err(`cc-ci sweep: could not measure the warm volumes: ${errorMessage(e)}`);
    return [];
  });
  for (const d of disk)
    out(
      `sweep: warm disk: ${d.recipe} ${formatBytes(d.bytes)} in ${d.volumes} volume(s) (stack ${d.stack})`,
    );
  // The bridge's /metrics reads it (CCCI_WARM_DISK_FILE; docs/metrics.md).
  if (!cmd.dryRun)
    await writeWarmDiskReport(cmd.stateDir, disk, new Date()).catch((e: unknown) =>
      err(`cc-ci sweep: could not write ${WARM_DISK_FILE}: ${errorMessage(e)}`),
    );
  const count = (l: string) => outcomes.filter((o) => o.label === l).length;
  const bad = outcomes.filter((o) => !['promoted', 'up to date', 'would test'].includes(o.label));
  const syncFailed = count('sync failed');
  out(
    `sweep: ${outcomes.length} recipe(s): ${count('promoted')} promoted, ${count('up to date')} up to date, ${cmd.dryRun ? `${count('would test')} would be tested, ` : ''}${syncFailed ? `${syncFailed} not tested (mirror sync failed), ` : ''}${bad.length - syncFailed} failed or not promoted`,
  );
  return bad.some((o) => o.label === 'error' || o.label === 'sync failed') ? 3 : bad.length ? 1 : 0;
}

async function run(cmd: RunCommand): Promise<number> {
  const runId = cmd.runId ?? generateRunId(new Date(), randomBytes(4).toString('hex'));
  const outDir = cmd.outDir ?? join(cmd.runsDir, runId);
  const log = consoleLogger();
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log.warn(
        `${sig} received: stopping the run and tearing down (a second signal does not skip teardown)`,
      );
      controller.abort();
    } else log.warn(`${sig} received again: still tearing down, please wait`);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  if (cmd.janitor) {
    try {
      await janitor({ dryRun: false, stateDir: cmd.stateDir });
    } catch (e) {
      log.warn(
        `janitor before the run failed (continuing): ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  const progress =
    cmd.bridgeUrl && cmd.uploadToken
      ? progressReporter({
          bridgeUrl: cmd.bridgeUrl,
          token: cmd.uploadToken,
          runId,
          buildLink: cmd.buildLink,
        })
      : null;
  let results: Results;
  let exitCode: number;
  const runDocker = createDocker();
  try {
    const outcome = await runWithIsolation(
      {
        recipe: cmd.recipe,
        src: cmd.src,
        ...(cmd.ref ? { ref: cmd.ref } : {}),
        pr: cmd.pr,
        stages: cmd.stages,
        quick: cmd.quick,
        outDir,
        runId,
        configDir: cmd.configDir,
        deployer: cmd.deployer,
        domainSuffix: cmd.domainSuffix,
        ...(cmd.buildLink ? { buildLink: cmd.buildLink } : {}),
      },
      { log, signal: controller.signal, ...(progress ? { onTier: progress.onTier } : {}) },
      {
        stateDir: cmd.stateDir,
        docker: runDocker,
        locks: await locksFor(runDocker, cmd.stateDir),
        probeImage: await probeImage(runDocker),
      },
      cmd.isolation,
    );
    results = outcome.results;
    exitCode = outcome.exitCode;
  } catch (e) {
    if (e instanceof InputError) {
      err(
        `cc-ci: ${e.code}: ${e.message}\n  how to fix: ${errorInfo(e.code).fix} (docs/errors.md)`,
      );
      return 2;
    }
    const code = codeOf(e);
    err(
      `cc-ci: infrastructure error: ${code}: ${errorMessage(e)}\n  how to fix: ${errorInfo(code).fix} (docs/errors.md)`,
    );
    return 3;
  }
  await progress?.flush();
  out(renderSummary(results));
  out(`\nrun directory: ${outDir}`);
  if (cmd.bridgeUrl && cmd.uploadToken) {
    const up = await uploadResults({
      bridgeUrl: cmd.bridgeUrl,
      token: cmd.uploadToken,
      runId,
      runDir: outDir,
    });
    if (up.ok) out(`uploaded results to ${cmd.bridgeUrl} (attempt ${up.attempts})`);
    else
      err(
        `cc-ci: WARNING: could not upload results to ${cmd.bridgeUrl} after ${up.attempts} attempt(s): ${up.error}; the verdict stands`,
      );
  } else if (cmd.bridgeUrl) {
    err(
      'cc-ci: WARNING: PLUGIN_BRIDGE_URL is set but neither CCCI_RUN_TOKEN nor PLUGIN_RESULTS_TOKEN is; results were not uploaded',
    );
  }
  return exitCode;
}

async function main(argv: string[]): Promise<number> {
  let cmd;
  try {
    cmd = parseCommand(argv, process.env);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`cc-ci: bad input (USAGE):\n${e.message}\n  how to fix: ${errorInfo('USAGE').fix}`);
      return 2;
    }
    throw e;
  }
  switch (cmd.kind) {
    case 'help':
      out(USAGE);
      return 0;
    case 'version': {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      out(`cc-ci ${pkg.version}`);
      return 0;
    }
    case 'janitor':
      return janitor(cmd);
    case 'prune':
      return prune(cmd);
    case 'sweep':
      return sweep(cmd);
    case 'vip-guard':
      return vipGuard(cmd);
    case 'run':
      return run(cmd);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    err(`cc-ci: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(3);
  },
);
