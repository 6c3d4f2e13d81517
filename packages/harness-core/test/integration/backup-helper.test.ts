/**
 * Backups the way backupbot takes them, through the real `cc-ci` command: an app image with no
 * shell and no tools (node only) and a 200 MiB volume. Volumes are read and written by helper
 * containers and archives stream to files (docker cp), so the backup works without anything in
 * the app image, the data comes back byte for byte, and cc-ci's own memory stays small.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cliMain,
  fixture,
  fixtureConfigDir,
  forceRemoveStack,
  recipeRepo,
  stackObjects,
} from '../support/fixtures.js';

const stacks: string[] = [];
afterAll(async () => {
  for (const s of stacks) await forceRemoveStack(s);
}, 120_000);

/** Peak resident memory of a process so far (VmHWM), in bytes; 0 once it has exited. */
async function peakRss(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

describe('backup and restore through volume helper containers', () => {
  it('backs up and restores a shell-less app with a 200 MiB volume, identical files, cc-ci under 200 MiB RSS', async () => {
    const repo = await recipeRepo(fixture('tier-noshell-big'));
    const base = await mkdtemp(join(tmpdir(), 'ccci-bigbackup-'));
    const out = join(base, 'out');
    const child = spawn(
      process.execPath,
      [
        cliMain,
        'run',
        repo.path,
        '--recipe',
        'tier-noshell-big',
        '--ref',
        repo.head,
        '--stages',
        'install,backup,restore',
        '--config-dir',
        fixtureConfigDir,
        '--out',
        out,
        '--no-janitor',
      ],
      {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: base,
          CCCI_STATE_DIR: join(base, 'state'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    let peak = 0;
    const poll = setInterval(
      () => void peakRss(child.pid!).then((rss) => (peak = Math.max(peak, rss))),
      100,
    );
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearInterval(poll);
    const stack = /stack (\S+) accepted by the swarm/.exec(output)?.[1];
    if (stack) stacks.push(stack);

    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    expect({ code, backup: results.stages.backup, restore: results.stages.restore.status }).toEqual(
      {
        code: 0,
        backup: expect.objectContaining({ status: 'pass' }),
        restore: 'pass',
      },
    );
    // The restore tier compares the md5 of every file before the backup with after the restore.
    const rows = results.stages.restore.tests as Array<{ name: string; status: string }>;
    expect(
      rows.find((r) => r.name === 'every file of data survives backup and restore')?.status,
    ).toBe('pass');
    const archive = await stat(join(out, 'backup', 'app-data.tar'));
    expect(archive.size).toBeGreaterThan(200 * 2 ** 20);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(200 * 2 ** 20);
    process.stdout.write(
      `backup-helper: 200 MiB volume round-trip, cc-ci peak RSS ${(peak / 2 ** 20).toFixed(1)} MiB\n`,
    );
    expect(await stackObjects(stack!)).toEqual([]);
  }, 400_000);
});
