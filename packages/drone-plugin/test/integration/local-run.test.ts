/**
 * A maintainer's local run from inside the recipe checkout: `cd my-recipe && cc-ci run .`.
 * The run directory lands in ./runs of that checkout, and is never copied into the run itself.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const cli = join(root, 'packages/drone-plugin/dist/main.js');

describe('cc-ci run . inside a recipe checkout', () => {
  it('passes on the example recipe and writes its run directory outside the copied tree', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'ccci-local-'));
    const repo = join(parent, 'notes');
    await run('bash', [
      join(root, 'scripts/make-recipe-repo.sh'),
      join(root, 'examples/recipes/notes'),
      repo,
      '0.1.0+1.35.0',
      '0.2.0+1.35.0',
    ]);
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: parent,
      CCCI_STATE_DIR: join(parent, 'state'),
    };
    // A second run sees the first one's runs/ directory in the tree: it must not be copied either.
    for (const stages of ['install', 'install,upgrade,backup,restore,custom']) {
      const res = await run(process.execPath, [cli, 'run', '.', '--stages', stages], {
        cwd: repo,
        env,
      }).catch((err: { code: number; stdout: string; stderr: string }) => err);
      expect(`${res.stderr}`).not.toMatch(/cannot copy|EINVAL|ENAMETOOLONG/);
      expect(res.stdout).toMatch(/verdict PASS/);
    }
    const runs = await readdir(join(repo, 'runs'));
    expect(runs).toHaveLength(2);
    for (const id of runs) {
      const results = JSON.parse(await readFile(join(repo, 'runs', id, 'results.json'), 'utf8'));
      expect(results).toMatchObject({ recipe: 'notes', verdict: 'pass' });
      expect(results.flags.clean_teardown).toBe(true);
      expect(existsSync(join(repo, 'runs', id, 'recipe', 'runs'))).toBe(false);
    }
  }, 300_000);

  it('never prints or writes the credentials of a --src URL', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'ccci-cred-'));
    const out = join(parent, 'run');
    const res = await run(
      process.execPath,
      [
        cli,
        'run',
        '--src',
        'http://bot:tok-secret-123456@127.0.0.1:9/recipes/notes.git',
        '--ref',
        'abc1234',
        '--recipe',
        'notes',
        '--out',
        out,
        '--no-janitor',
      ],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: parent } },
    ).catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect(res.stdout).toContain('from http://***@127.0.0.1:9/recipes/notes.git');
    const log = await readFile(join(out, 'run.log'), 'utf8');
    for (const text of [res.stdout, res.stderr, log]) expect(text).not.toContain('tok-secret');
  }, 60_000);
});
