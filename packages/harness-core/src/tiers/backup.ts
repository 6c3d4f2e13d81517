/**
 * Backup and restore tiers (L3), driven by backupbot labels with the docker deployer, done the
 * way backupbot does them: the hooks run inside the labelled service's running container, and
 * every read or write of a volume happens in a short-lived helper container that mounts the
 * volume (DockerPort.volumeScript / archiveVolume / restoreVolume) — so an app image without a
 * shell or tools is backed up all the same, and archives stream to files in the run directory,
 * never through a buffer held in memory.
 * backup — write a marker into each backed-up volume (inside the backed-up paths), run the
 * pre-hook, archive the selected paths, run the post-hook, and check the archive holds the marker
 * and every declared path;
 * restore — wipe the volume, run the restore pre-hook, extract the archive, run the restore
 * post-hook, and check the marker and every file are back. See docs/tiers/backup-restore.md.
 *
 * A volume whose declared paths are rebuilt into the rest of the volume by a restore post-hook
 * (a database: the pre-hook dumps to `backup.sql`, the post-hook loads it) is judged by what the
 * backup claims: only the declared paths are wiped, restored and compared, and the database
 * itself by the recipe's data probe (cc-ci.yml `data_probe`, data-probe.ts): a row written
 * before the backup must be back after the restore, one written after it must be gone.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError, RecipeError } from '../errors.js';
import { backupPlan, unsafePaths, type BackupPlan } from '../domain/backupbot.js';
import type { TestRow } from '../domain/results.js';
import { runProcess } from '../adapters/process/run-process.js';
import type { Tier, TierContext, TierOutcome } from './types.js';
import type { VolumeHelper } from '../ports/docker.js';
import type { Deployer } from '../ports/deployer.js';
import { describeExec, runningContainer, volumeMounts } from './containers.js';
import { readDataTokens, writeDataToken } from './data-probe.js';

const MARKER = '.ccci-backup-marker';
/**
 * Retry a backup the verify probe rejects, up to 3 attempts in all (docs/domain.md, "Backups
 * that succeed while losing data").
 */
const MAX_BACKUP_ATTEMPTS = 3;
// Checksums of every regular file under the mount, skipping cc-ci's own markers.
const SNAPSHOT_SCRIPT =
  'cd /volume && find . -type f ! -name ".ccci-*" | sort | while IFS= read -r f; do md5sum "$f"; done';

/** The helper container for one of the app's volumes (on the daemon: `<stack>_<volume>`). */
function helper(ctx: TierContext, dockerVolume: string): VolumeHelper {
  return { image: ctx.volumeHelperImage, volume: dockerVolume, labels: ctx.headRequest.labels };
}

async function snapshot(ctx: TierContext, dockerVolume: string): Promise<Map<string, string>> {
  const res = await ctx.docker.volumeScript(helper(ctx, dockerVolume), SNAPSHOT_SCRIPT, []);
  if (res.exitCode !== 0)
    throw new InfraError('DOCKER_FAILED', `could not list ${dockerVolume}: ${describeExec(res)}`);
  return new Map(
    res.stdout
      .split('\n')
      .map((l) => /^([0-9a-f]{32})\s+\.\/(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[2]!, m[1]!]),
  );
}

/**
 * The restore rebuilds the rest of the volume from the declared paths (a database loads its
 * dump, as backupbot restores it: the saved files over the live volume, then the post-hook).
 * Only the declared paths are the backup's to wipe and restore; the volume's files are rewritten
 * by the hook, so they prove nothing about the data: the recipe's data probe checks the rows.
 */
function rebuiltByHook(plan: BackupPlan, paths: readonly string[]): boolean {
  return plan.restorePostHook !== null && paths.length > 0;
}

export interface VolumeBackup {
  readonly service: string;
  readonly volume: string;
  /** The volume's name on the daemon. */
  readonly dockerVolume: string;
  readonly paths: readonly string[];
  /** '' when only files are saved: there is no directory in the backup to hold a marker. */
  readonly markerPath: string;
  readonly token: string;
  /** The archive in the run directory ('' when the deployer keeps its own). */
  readonly archiveFile: string;
  /** md5 of every file in the volume before the backup (cc-ci's own markers excluded). */
  readonly snapshot: ReadonlyMap<string, string>;
}

export interface BackupState {
  readonly plans: readonly BackupPlan[];
  readonly volumes: readonly VolumeBackup[];
  /** Data-probe tokens written just before and just after the backup. */
  readonly rows?: { readonly before: string; readonly after: string };
}

/** One service with backupbot labels: its plan, its running container and where its volumes are. */
interface ServicePlan {
  readonly plan: BackupPlan;
  readonly container: string;
  /** The app's volume name → the volume's name on the daemon. */
  readonly mounts: Map<string, string>;
}

/** A volume's backup marker: its path in the volume and its content ('' and '' when none). */
interface Marker {
  readonly path: string;
  readonly token: string;
}

/** A service ready to be backed up: its markers written and its volumes snapshotted. */
interface PreparedService extends ServicePlan {
  readonly markers: ReadonlyMap<string, Marker>;
  readonly snapshots: ReadonlyMap<string, Map<string, string>>;
}

/** Every service with backupbot labels, with its running container and volume mounts. */
async function plans(ctx: TierContext): Promise<ServicePlan[]> {
  const out: ServicePlan[] = [];
  for (const svc of ctx.app.services) {
    const info = await ctx.docker.inspectService(svc.fullName);
    if (!info) continue;
    const container = await runningContainer(ctx.docker, svc.fullName);
    const mounts = new Map(
      (await volumeMounts(ctx.docker, ctx.app.stack, container)).map((m) => [
        m.volume,
        m.dockerName,
      ]),
    );
    const plan = backupPlan(svc.fullName, info.labels, [...mounts.keys()]);
    if (plan) out.push({ plan, container, mounts });
  }
  return out;
}

async function hook(
  ctx: TierContext,
  container: string,
  what: string,
  command: string | null,
  rows: TestRow[],
  t0: number,
) {
  if (!command) return;
  // The hook text is the recipe's own label, run as backupbot runs it: by a shell in the container.
  const res = await ctx.docker.exec(container, ['sh', '-c', command], { timeoutMs: 300_000 });
  const ok = res.exitCode === 0;
  rows.push({
    name: what,
    status: ok ? 'pass' : 'fail',
    ms: Date.now() - t0,
    ...(ok ? {} : { message: ctx.redact(`${what} "${command}" failed: ${describeExec(res)}`) }),
  });
  if (!ok)
    throw new RecipeError(
      'BAD_RECIPE',
      ctx.redact(`${what} "${command}" failed: ${describeExec(res)}`),
    );
}

interface ArchiveEntry {
  readonly path: string;
  readonly dir: boolean;
  readonly size: number;
}

/** List an archive with GNU tar's verbose format: "-rw-r--r-- root/root 12 2026-11-22 10:00 path". */
async function listArchive(file: string): Promise<ArchiveEntry[]> {
  const res = await runProcess('tar', ['-tvf', file], { timeoutMs: 120_000 });
  if (res.exitCode !== 0)
    throw new InfraError(
      'PROCESS_FAILED',
      `could not list the backup archive: ${res.stderr.trim()}`,
    );
  return res.stdout
    .split('\n')
    .map((l) => /^(\S)\S*\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      dir: m[1] === 'd',
      size: Number(m[2]),
      path: m[3]!.replace(/^\.\//, '').replace(/\/$/, ''),
    }))
    .filter((e) => e.path && e.path !== '.');
}

/** The tier's outcome when there is nothing to back up (or the config forbids it); null to go on. */
function nothingToBackUp(ctx: TierContext, planCount: number): TierOutcome | null {
  if (ctx.config.backup === false)
    return {
      status: 'skip',
      reason: 'backup disabled by the recipe CI config (backup: false)',
      tests: [],
    };
  if (planCount === 0) {
    return ctx.config.backup === true
      ? {
          status: 'fail',
          reason:
            'the CI config says the recipe is backup-capable (backup: true) but no service has backupbot.backup=true',
          tests: [],
        }
      : {
          status: 'skip',
          reason: 'no backupbot labels: the recipe declares nothing to back up',
          tests: [],
        };
  }
  return null;
}

/**
 * Writes the token (stdin) as the marker into the first declared path that is a directory (the
 * volume root when none is declared) and prints where, relative to the volume; exits 3 when only
 * files are declared (there is nowhere in the backup for a marker).
 */
const MARKER_SCRIPT = `tok=$(cat)
if [ $# -eq 0 ]; then printf %s "$tok" > "/volume/${MARKER}" || exit 1; exit 0; fi
for p; do
  if [ -d "/volume/$p" ]; then printf %s "$tok" > "/volume/$p/${MARKER}" || exit 1; printf %s "$p"; exit 0; fi
done
exit 3`;

/**
 * Writes a fresh marker into a volume, inside what will be saved; the marker's path ('' when only
 * files are saved) and its token.
 */
async function writeMarker(
  ctx: TierContext,
  volume: string,
  dockerVolume: string,
  paths: readonly string[],
): Promise<Marker> {
  const token = randomBytes(12).toString('hex');
  const res = await ctx.docker.volumeScript(
    helper(ctx, dockerVolume),
    MARKER_SCRIPT,
    [...paths],
    token,
  );
  // Only files are saved (a dump): the declared files are checked below, and a database by
  // the data probe.
  if (res.exitCode === 3) return { path: '', token: '' };
  if (res.exitCode !== 0)
    throw new InfraError(
      'DOCKER_FAILED',
      `could not write the backup marker into ${volume}: ${describeExec(res)}`,
    );
  const dir = res.stdout;
  return { path: `${dir ? `${dir}/` : ''}${MARKER}`.replace(/^\.\//, ''), token };
}

/**
 * Checks a service's backup paths stay in their volumes, writes a marker into each volume and
 * snapshots what the app has now (steps 1 and 2, before any hook runs).
 */
async function prepareService(ctx: TierContext, service: ServicePlan): Promise<PreparedService> {
  const { plan, mounts } = service;
  const bad = [...plan.volumes.values()].flatMap((p) => unsafePaths(p));
  if (bad.length)
    throw new RecipeError('BAD_RECIPE', `backup paths leave the volume: ${bad.join(', ')}`);
  // 1. markers inside what will be saved, and 2. what the app has now (the snapshot leaves
  // cc-ci's markers out, so the two run at once); then pre-hook, archive, post-hook.
  const markers = new Map<string, Marker>();
  const snapshots = new Map<string, Map<string, string>>();
  for (const [volume, paths] of plan.volumes) {
    const dockerVolume = mounts.get(volume)!;
    const [marker, files] = await Promise.all([
      writeMarker(ctx, volume, dockerVolume, paths),
      rebuiltByHook(plan, paths) ? new Map<string, string>() : snapshot(ctx, dockerVolume),
    ]);
    markers.set(volume, marker);
    snapshots.set(volume, files);
  }
  return { ...service, markers, snapshots };
}

/** What one volume of a prepared service is in the backup, saved to `archiveFile`. */
function volumeBackup(
  service: PreparedService,
  volume: string,
  paths: readonly string[],
  archiveFile: string,
): VolumeBackup {
  const marker = service.markers.get(volume)!;
  return {
    service: service.plan.service,
    volume,
    dockerVolume: service.mounts.get(volume)!,
    paths,
    markerPath: marker.path,
    token: marker.token,
    archiveFile,
    snapshot: service.snapshots.get(volume)!,
  };
}

/** Archives one volume's declared paths (all of it when none) to a file in the run directory. */
async function archiveVolume(
  ctx: TierContext,
  service: PreparedService,
  volume: string,
  paths: readonly string[],
  rows: TestRow[],
  t0: number,
): Promise<{ readonly taken: VolumeBackup } | { readonly failed: TierOutcome }> {
  const { plan } = service;
  const dockerVolume = service.mounts.get(volume)!;
  const archiveFile = join(
    ctx.runDir,
    'backup',
    `${plan.service.slice(ctx.app.stack.length + 1)}-${volume}.tar`,
  );
  // A declared path the pre-hook did not produce is left out of the archive (tar would
  // refuse the lot); the archive check below names it.
  const absent = await ctx.docker.volumeScript(
    helper(ctx, dockerVolume),
    'for p; do [ -e "/volume/$p" ] || printf "%s\\n" "$p"; done',
    [...paths],
  );
  const missing = new Set(absent.stdout.split('\n').filter(Boolean));
  const present = paths.filter((p) => !missing.has(p));
  if (paths.length && present.length === 0) {
    const reason = `${plan.service.slice(ctx.app.stack.length + 1)}-${volume}: declared backup path(s) ${paths.join(', ')} missing from the archive (did the pre-hook produce them?)`;
    rows.push({
      name: `archive ${volume}`,
      status: 'fail',
      ms: Date.now() - t0,
      message: reason,
    });
    return { failed: { status: 'fail', reason: ctx.redact(reason), tests: rows } };
  }
  const res = await ctx.docker.archiveVolume(helper(ctx, dockerVolume), present, archiveFile);
  if (res.exitCode !== 0) {
    const reason = `archiving ${paths.length ? paths.join(', ') : 'the whole volume'} of ${volume} failed: ${describeExec(res)}`;
    rows.push({
      name: `archive ${volume}`,
      status: 'fail',
      ms: Date.now() - t0,
      message: ctx.redact(reason),
    });
    return { failed: { status: 'fail', reason: ctx.redact(reason), tests: rows } };
  }
  return { taken: volumeBackup(service, volume, paths, archiveFile) };
}

/** One backup attempt of a service: its pre-hook, then every volume archived in turn. */
async function backUpOnce(
  ctx: TierContext,
  service: PreparedService,
  rows: TestRow[],
  t0: number,
): Promise<{ readonly taken: VolumeBackup[] } | { readonly failed: TierOutcome }> {
  const { plan, container } = service;
  const taken: VolumeBackup[] = [];
  await hook(ctx, container, `backup pre-hook of ${plan.service}`, plan.preHook, rows, t0);
  await mkdir(join(ctx.runDir, 'backup'), { recursive: true });
  for (const [volume, paths] of plan.volumes) {
    const archived = await archiveVolume(ctx, service, volume, paths, rows, t0);
    if ('failed' in archived) return archived;
    taken.push(archived.taken);
  }
  return { taken };
}

/**
 * Backs a service up through the Docker port; with a verify probe (cc-ci.yml backup_verify), a
 * backup the probe rejects is taken again, at most MAX_BACKUP_ATTEMPTS times in all.
 */
async function backUpVerified(
  ctx: TierContext,
  service: PreparedService,
  rows: TestRow[],
  t0: number,
): Promise<{ readonly taken: VolumeBackup[] } | { readonly failed: TierOutcome }> {
  const { plan, container } = service;
  const verify = ctx.config.backupVerify;
  for (let attempt = 1; ; attempt++) {
    const taken = await backUpOnce(ctx, service, rows, t0);
    if ('failed' in taken || !verify) return taken;
    const probe = await ctx.docker.exec(container, verify, { timeoutMs: 300_000 });
    const ok = probe.exitCode === 0;
    rows.push({
      name: `backup verify probe of ${plan.service} (attempt ${attempt})`,
      status: ok ? 'pass' : attempt < MAX_BACKUP_ATTEMPTS ? 'skip' : 'fail',
      ms: Date.now() - t0,
      ...(ok
        ? {}
        : {
            message: ctx.redact(
              `probe ${verify.join(' ')} ${describeExec(probe)}${attempt < MAX_BACKUP_ATTEMPTS ? '; taking the backup again' : ''}`,
            ),
          }),
    });
    if (ok) return taken;
    if (attempt >= MAX_BACKUP_ATTEMPTS) {
      const reason = ctx.redact(
        `the backup verify probe (${verify.join(' ')}) rejected ${MAX_BACKUP_ATTEMPTS} backups in a row: ${describeExec(probe)}`,
      );
      return { failed: { status: 'fail', reason, tests: rows } };
    }
  }
}

/**
 * The deployer backs up every labelled service itself (abra: backupbot), retried like
 * backUpVerified when the verify probe rejects it; records the backup for the restore tier.
 */
async function deployerBackup(
  ctx: TierContext,
  backup: NonNullable<Deployer['backup']>,
  found: readonly ServicePlan[],
  volumes: readonly VolumeBackup[],
  before: string | null,
  rows: TestRow[],
  t0: number,
): Promise<TierOutcome> {
  for (let attempt = 1; ; attempt++) {
    await backup(ctx.app.stack, ctx.signal);
    const verify = ctx.config.backupVerify;
    const probes = verify
      ? await Promise.all(
          found.map(({ container }) => ctx.docker.exec(container, verify, { timeoutMs: 300_000 })),
        )
      : [];
    const rejected = probes.find((p) => p.exitCode !== 0);
    rows.push({
      name: `${ctx.deployer.kind} backup (attempt ${attempt})`,
      status: !rejected ? 'pass' : attempt < MAX_BACKUP_ATTEMPTS ? 'skip' : 'fail',
      ms: Date.now() - t0,
      ...(rejected ? { message: ctx.redact(`verify probe: ${describeExec(rejected)}`) } : {}),
    });
    if (!rejected) break;
    if (attempt >= MAX_BACKUP_ATTEMPTS) {
      return {
        status: 'fail',
        reason: ctx.redact(
          `the backup verify probe rejected ${MAX_BACKUP_ATTEMPTS} backups in a row: ${describeExec(rejected)}`,
        ),
        tests: rows,
      };
    }
  }
  // The archive is the deployer's; the restore tier proves what it holds.
  ctx.shared.backup = {
    plans: found.map((f) => f.plan),
    volumes,
    ...(await rowsAfter(ctx, before)),
  } satisfies BackupState;
  return { status: 'pass', tests: rows };
}

/** What is wrong with one volume's archive (`name`: service-volume): missing, empty, no marker. */
function archiveProblems(
  name: string,
  v: VolumeBackup,
  entries: readonly ArchiveEntry[],
): string[] {
  const missing = v.paths.filter(
    (p) => !entries.some((e) => e.path === p || e.path.startsWith(`${p}/`)),
  );
  const empty = v.paths.filter((p) => entries.some((e) => e.path === p && !e.dir && e.size === 0));
  const hasMarker = v.markerPath === '' || entries.some((e) => e.path === v.markerPath);
  const problems: string[] = [];
  if (missing.length)
    problems.push(
      `${name}: declared backup path(s) ${missing.join(', ')} missing from the archive (did the pre-hook produce them?)`,
    );
  if (empty.length)
    problems.push(
      `${name}: declared backup path(s) ${empty.join(', ')} are empty (the pre-hook produced nothing)`,
    );
  if (!hasMarker)
    problems.push(
      `${name}: the archive does not contain the data marker ${v.markerPath}: the backup paths (${v.paths.join(', ') || 'whole volume'}) exclude the app's data`,
    );
  return problems;
}

/** 3. Checks every archive (a row each): the declared paths are there and not empty; the marker is in it. */
async function checkArchives(
  ctx: TierContext,
  volumes: readonly VolumeBackup[],
  rows: TestRow[],
  t0: number,
): Promise<string[]> {
  const problems: string[] = [];
  for (const v of volumes) {
    const name = `${v.service.slice(ctx.app.stack.length + 1)}-${v.volume}`;
    const found = archiveProblems(name, v, await listArchive(v.archiveFile));
    problems.push(...found);
    rows.push({
      name: `archive of ${name} holds the data`,
      status: found.length ? 'fail' : 'pass',
      ms: Date.now() - t0,
      ...(found.length ? { message: found.at(-1)! } : {}),
    });
  }
  return problems;
}

export const backupTier: Tier = {
  name: 'backup',
  async run(ctx: TierContext): Promise<TierOutcome> {
    const t0 = Date.now();
    const rows: TestRow[] = [];
    const found = await plans(ctx);
    const nothing = nothingToBackUp(ctx, found.length);
    if (nothing) return nothing;
    // The archives' read-only helpers start while the app is checked and the markers written.
    if (!ctx.deployer.backup)
      for (const s of found)
        for (const [volume] of s.plan.volumes)
          void ctx.docker.warmVolumeHelper(helper(ctx, s.mounts.get(volume)!), true);
    // Backups run only once every service is healthy.
    await ctx.waitReady();
    const probe = ctx.config.dataProbe;
    const before = probe ? await writeDataToken(ctx, probe, 'before the backup') : null;
    const volumes: VolumeBackup[] = [];
    for (const service of found) {
      const prepared = await prepareService(ctx, service);
      if (ctx.deployer.backup) {
        // The deployer backs up every labelled service itself (abra: backupbot), once, below.
        for (const [volume, paths] of service.plan.volumes)
          volumes.push(volumeBackup(prepared, volume, paths, ''));
        continue;
      }
      const taken = await backUpVerified(ctx, prepared, rows, t0);
      if ('failed' in taken) return taken.failed;
      volumes.push(...taken.taken);
      const { plan, container } = service;
      await hook(ctx, container, `backup post-hook of ${plan.service}`, plan.postHook, rows, t0);
    }
    if (ctx.deployer.backup)
      return deployerBackup(
        ctx,
        ctx.deployer.backup.bind(ctx.deployer),
        found,
        volumes,
        before,
        rows,
        t0,
      );
    const problems = await checkArchives(ctx, volumes, rows, t0);
    ctx.shared.backup = {
      plans: found.map((f) => f.plan),
      volumes,
      ...(problems.length ? {} : await rowsAfter(ctx, before)),
    } satisfies BackupState;
    return problems.length
      ? { status: 'fail', reason: problems.join('; '), tests: rows }
      : { status: 'pass', tests: rows };
  },
};

/**
 * Wipes one volume before the restore and proves it is empty: the whole volume (a lost volume is
 * what a restore must recover from), or for a volume the post-hook rebuilds (a database) what the
 * backup holds.
 */
async function wipeVolume(ctx: TierContext, plan: BackupPlan, v: VolumeBackup): Promise<void> {
  const h = helper(ctx, v.dockerVolume);
  const partial = rebuiltByHook(plan, v.paths);
  // Removes, then checks that nothing of it is left (exit 1 when something is).
  const wipe = partial
    ? await ctx.docker.volumeScript(
        h,
        'cd /volume || exit 1; for p; do rm -rf -- "$p"; done; for p; do [ ! -e "$p" ] || exit 1; done',
        [...v.paths],
      )
    : await ctx.docker.volumeScript(
        h,
        'cd /volume || exit 1; rm -rf -- * .[!.]* ..?*; test -z "$(ls -A /volume)"',
        [],
      );
  if (wipe.exitCode !== 0) {
    throw new InfraError(
      'DOCKER_FAILED',
      `could not wipe ${v.volume} before the restore: ${describeExec(wipe)}`,
    );
  }
}

/**
 * Restores one service: wipes its volumes, then (unless the deployer restores itself) the restore
 * pre-hook, every archive extracted, the restore post-hook. The tier's outcome when an extraction
 * fails, else null.
 */
async function restoreService(
  ctx: TierContext,
  state: BackupState,
  plan: BackupPlan,
  rows: TestRow[],
  t0: number,
): Promise<TierOutcome | null> {
  const container = await runningContainer(ctx.docker, plan.service);
  const mine = state.volumes.filter((v) => v.service === plan.service);
  for (const v of mine) await wipeVolume(ctx, plan, v);
  rows.push({
    name: `wipe ${plan.service.slice(ctx.app.stack.length + 1)}`,
    status: 'pass',
    ms: Date.now() - t0,
  });
  // A deployer with its own restore (abra) runs the restore hooks itself, below.
  if (ctx.deployer.restore) return null;
  await hook(ctx, container, `restore pre-hook of ${plan.service}`, plan.restorePreHook, rows, t0);
  for (const v of mine) {
    const res = await ctx.docker.restoreVolume(helper(ctx, v.dockerVolume), v.archiveFile);
    if (res.exitCode !== 0) {
      const reason = `extracting the archive into ${v.volume} failed: ${describeExec(res)}`;
      rows.push({
        name: `restore ${v.volume}`,
        status: 'fail',
        ms: Date.now() - t0,
        message: ctx.redact(reason),
      });
      return { status: 'fail', reason: ctx.redact(reason), tests: rows };
    }
  }
  await hook(
    ctx,
    container,
    `restore post-hook of ${plan.service}`,
    plan.restorePostHook,
    rows,
    t0,
  );
  return null;
}

/** The volume's marker is back with its content (a row); the problem, if any. */
async function checkMarker(
  ctx: TierContext,
  state: BackupState,
  v: VolumeBackup,
  rows: TestRow[],
  t0: number,
): Promise<string[]> {
  const res = await ctx.docker.volumeScript(helper(ctx, v.dockerVolume), 'cat "/volume/$1"', [
    v.markerPath,
  ]);
  const ok = res.exitCode === 0 && res.stdout === v.token;
  const problem = `${v.volume}: the data marker ${v.markerPath} is ${res.exitCode === 0 ? 'changed' : 'missing'} after the restore${state.plans.some((p) => p.restorePostHook) ? ' (does the restore post-hook remove data?)' : ''}`;
  rows.push({
    name: `data of ${v.volume} is back`,
    status: ok ? 'pass' : 'fail',
    ms: Date.now() - t0,
    ...(ok ? {} : { message: problem }),
  });
  return ok ? [] : [problem];
}

/** A skipped row for a volume the restore post-hook rebuilds: its files prove nothing. */
function rebuiltVolumeRow(ctx: TierContext, v: VolumeBackup, t0: number): TestRow {
  if (!ctx.config.dataProbe)
    ctx.log.warn(
      `${v.volume} is rebuilt by the restore post-hook: without a data_probe nothing checks that its data came back`,
    );
  return {
    name: `${v.volume} is rebuilt by the restore post-hook from ${v.paths.join(', ')}`,
    status: 'skip',
    ms: Date.now() - t0,
    message: ctx.config.dataProbe
      ? 'its files are rewritten by the hook and prove nothing; the data probe checks the rows'
      : 'its files are rewritten by the hook and prove nothing about the data; set data_probe in cc-ci.yml to check the rows (docs/tiers/backup-restore.md)',
  };
}

/** Files lost or changed between two snapshots of a volume, as one message ('' when none). */
function snapshotDifference(
  v: VolumeBackup,
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): string {
  const lost = [...before.keys()].filter((f) => !after.has(f));
  const changed = [...before]
    .filter(([f, sum]) => after.has(f) && after.get(f) !== sum)
    .map(([f]) => f);
  const list = (xs: string[]) => `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? ', …' : ''}`;
  return [
    lost.length
      ? `${lost.length} file(s) lost, not covered by the backup paths (${v.paths.join(', ') || 'whole volume'}): ${list(lost)}`
      : '',
    changed.length ? `${changed.length} file(s) changed: ${list(changed)}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}

/** One restored volume's checks (rows): its marker, then its files or the hook that rebuilds it. */
async function checkRestoredVolume(
  ctx: TierContext,
  state: BackupState,
  v: VolumeBackup,
  rows: TestRow[],
  t0: number,
): Promise<string[]> {
  const plan = state.plans.find((p) => p.service === v.service)!;
  // The files are listed while the marker is read (both only read the volume).
  const files = rebuiltByHook(plan, v.paths) ? null : snapshot(ctx, v.dockerVolume);
  files?.catch(() => undefined);
  const problems = v.markerPath ? await checkMarker(ctx, state, v, rows, t0) : [];
  if (!files) {
    rows.push(rebuiltVolumeRow(ctx, v, t0));
    return problems;
  }
  // Every file the app had before the backup must be back, unchanged.
  const msg = snapshotDifference(v, v.snapshot, await files);
  rows.push({
    name: `every file of ${v.volume} survives backup and restore`,
    status: msg ? 'fail' : 'pass',
    ms: Date.now() - t0,
    ...(msg ? { message: `${v.volume}: ${msg}` } : {}),
  });
  return msg ? [...problems, `${v.volume}: ${msg}`] : problems;
}

/** The app answers after the restore and the data probe's rows are as at the backup (rows). */
async function checkAppAfterRestore(
  ctx: TierContext,
  state: BackupState,
  rows: TestRow[],
  t0: number,
): Promise<string[]> {
  try {
    await ctx.waitReady();
    rows.push({ name: 'app answers after the restore', status: 'pass', ms: Date.now() - t0 });
    return await checkRows(ctx, state, rows, t0);
  } catch (err) {
    const problem = `the app does not answer after the restore: ${(err as Error).message}`;
    rows.push({
      name: 'app answers after the restore',
      status: 'fail',
      ms: Date.now() - t0,
      message: problem,
    });
    return [problem];
  }
}

export const restoreTier: Tier = {
  name: 'restore',
  async run(ctx: TierContext): Promise<TierOutcome> {
    const t0 = Date.now();
    const rows: TestRow[] = [];
    const state = ctx.shared.backup;
    if (!state) return { status: 'unver', reason: 'no backup from this run to restore', tests: [] };
    for (const plan of state.plans) {
      const failed = await restoreService(ctx, state, plan, rows, t0);
      if (failed) return failed;
    }
    if (ctx.deployer.restore) {
      await ctx.deployer.restore(ctx.app.stack, ctx.signal);
      rows.push({ name: `${ctx.deployer.kind} restore`, status: 'pass', ms: Date.now() - t0 });
    }
    // The data must be back: every marker, with its content.
    const problems: string[] = [];
    for (const v of state.volumes)
      problems.push(...(await checkRestoredVolume(ctx, state, v, rows, t0)));
    if (!problems.length) problems.push(...(await checkAppAfterRestore(ctx, state, rows, t0)));
    return problems.length
      ? { status: 'fail', reason: problems.join('; '), tests: rows }
      : { status: 'pass', tests: rows };
  },
};

/** After a good backup: a row written now must be gone once the restore is done. */
async function rowsAfter(
  ctx: TierContext,
  before: string | null,
): Promise<{ rows?: { before: string; after: string } }> {
  const probe = ctx.config.dataProbe;
  if (!probe || !before) return {};
  return { rows: { before, after: await writeDataToken(ctx, probe, 'after the backup') } };
}

/** The database is back at the backup: the row written before it is there, the later one not. */
async function checkRows(
  ctx: TierContext,
  state: BackupState,
  rows: TestRow[],
  t0: number,
): Promise<string[]> {
  const probe = ctx.config.dataProbe;
  if (!probe || !state.rows) return [];
  const read = await readDataTokens(ctx, probe);
  const problems: string[] = [];
  const push = (name: string, problem: string) => {
    if (problem) problems.push(problem);
    rows.push({
      name,
      status: problem ? 'fail' : 'pass',
      ms: Date.now() - t0,
      ...(problem ? { message: problem } : {}),
    });
  };
  if ('error' in read) {
    push(
      'rows written before the backup are back',
      `the data probe could not read ${probe.service} after the restore: ${read.error}`,
    );
    return problems;
  }
  push(
    'rows written before the backup are back',
    read.tokens.has(state.rows.before)
      ? ''
      : `the row written before the backup (${state.rows.before}) is missing after the restore: the files came back but the database did not (does the restore post-hook load the dump?)`,
  );
  push(
    'rows written after the backup are gone',
    read.tokens.has(state.rows.after)
      ? `the row written after the backup (${state.rows.after}) is still there after the restore: the database was not brought back to the backup (does the restore post-hook load the dump?)`
      : '',
  );
  return problems;
}
