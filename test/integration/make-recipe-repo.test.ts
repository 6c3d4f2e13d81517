/**
 * scripts/make-recipe-repo.sh builds the recipe repositories of the tests and the demo. Each
 * release must carry its own files, also when a release's file and the head's have the same size
 * and the same mtime (as in a fresh `git clone`, where every file is written in the same second):
 * `git add` alone trusted the index's stat data and kept the previous commit's content, so the
 * ledger's upgrade deployed 0.1.0's config versions as the head.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = new URL('../../scripts/make-recipe-repo.sh', import.meta.url).pathname;

describe('make-recipe-repo.sh', () => {
  it('commits each release with its own history files, whatever their size and mtime', async () => {
    const work = await mkdtemp(join(tmpdir(), 'ccci-mrr-'));
    const src = join(work, 'src');
    const files: Array<[string, string]> = [
      ['abra.sh', 'export MIGRATE_SQL_VERSION=v3\n'],
      ['history/0.1.0+1.0/abra.sh', 'export MIGRATE_SQL_VERSION=v1\n'],
      ['history/0.2.0+1.1/abra.sh', 'export MIGRATE_SQL_VERSION=v2\n'],
      ['compose.yml', 'services: {}\n'],
    ];
    const sameTime = new Date('2026-12-03T06:00:00Z');
    for (const [path, text] of files) {
      await mkdir(join(src, path, '..'), { recursive: true });
      await writeFile(join(src, path), text);
      await utimes(join(src, path), sameTime, sameTime);
    }
    const dest = join(work, 'repo');
    await run('bash', [script, src, dest, '0.1.0+1.0', '0.2.0+1.1']);
    const show = async (rev: string) =>
      (await run('git', ['-C', dest, 'show', `${rev}:abra.sh`])).stdout;
    expect([await show('0.1.0+1.0'), await show('0.2.0+1.1'), await show('HEAD')]).toEqual([
      'export MIGRATE_SQL_VERSION=v1\n',
      'export MIGRATE_SQL_VERSION=v2\n',
      'export MIGRATE_SQL_VERSION=v3\n',
    ]);
    const tree = (await run('git', ['-C', dest, 'ls-tree', '-r', '--name-only', 'HEAD'])).stdout;
    expect(tree.split('\n').filter(Boolean).sort()).toEqual(['abra.sh', 'compose.yml']);
  });
});
