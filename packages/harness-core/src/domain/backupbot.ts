/**
 * What backupbot would back up, read from a service's deploy labels. Pure.
 *   backupbot.backup=true                              the service takes part
 *   backupbot.backup.pre-hook / post-hook              commands run in its container around a backup
 *   backupbot.restore.pre-hook / post-hook             the same around a restore
 *   backupbot.backup.volumes.<volume>=false            leave a volume out
 *   backupbot.backup.volumes.<volume>.path=a,b/c       back up only these paths (relative to the volume)
 */
export interface BackupPlan {
  readonly service: string;
  readonly preHook: string | null;
  readonly postHook: string | null;
  readonly restorePreHook: string | null;
  readonly restorePostHook: string | null;
  /** Volume (compose name) → paths to save; [] = the whole volume. Excluded volumes are absent. */
  readonly volumes: ReadonlyMap<string, readonly string[]>;
}

export function backupPlan(
  service: string,
  labels: Readonly<Record<string, string>>,
  mountedVolumes: readonly string[],
): BackupPlan | null {
  if ((labels['backupbot.backup'] ?? '').toLowerCase() !== 'true') return null;
  const volumes = new Map<string, string[]>();
  for (const v of mountedVolumes) {
    if ((labels[`backupbot.backup.volumes.${v}`] ?? '').toLowerCase() === 'false') continue;
    const paths = (labels[`backupbot.backup.volumes.${v}.path`] ?? '')
      .split(',')
      .map((p) => p.trim().replace(/^\/+/, ''))
      .filter(Boolean);
    volumes.set(v, paths);
  }
  return {
    service,
    preHook: labels['backupbot.backup.pre-hook'] ?? null,
    postHook: labels['backupbot.backup.post-hook'] ?? null,
    restorePreHook: labels['backupbot.restore.pre-hook'] ?? null,
    restorePostHook: labels['backupbot.restore.post-hook'] ?? null,
    volumes,
  };
}

/** Paths are relative and may not climb out of the volume. */
export function unsafePaths(paths: readonly string[]): string[] {
  return paths.filter((p) => p.split('/').includes('..') || p.includes('\0'));
}
