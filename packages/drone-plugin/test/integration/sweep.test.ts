/**
 * `cc-ci sweep` on the real swarm: a recipe enrolled for a warm canonical is tested cold on its
 * latest release and promoted (the record and a warm stack at that version); a second sweep finds
 * it up to date; a newer release is tested, promoted, and the previous canonical is retired.
 * A sweep with nothing enrolled is an error, not a green no-op.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { warmDomain } from '../../../harness-core/src/domain/naming.js';
import {
  enrolledNotesConfig,
  forceRemoveStack,
  runCli,
  stackObjects,
  stackServiceIds,
} from '../../../harness-core/test/support/fixtures.js';

const exec = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
let base: string;
let configBase: string;
let env: NodeJS.ProcessEnv;

const ccci = (args: string[]) => runCli(args, env);

async function makeRepo(...versions: string[]): Promise<void> {
  await rm(join(base, 'src', 'notes'), { recursive: true, force: true });
  await exec('bash', [
    join(root, 'scripts/make-recipe-repo.sh'),
    join(root, 'examples/recipes/notes'),
    join(base, 'src', 'notes'),
    ...versions,
  ]);
}

const canonical = async () =>
  JSON.parse(await readFile(join(base, 'state', 'canonicals', 'notes.json'), 'utf8')) as {
    version: string;
    stack: string;
    commit: string;
  };

async function warmLabels(stack: string): Promise<string[]> {
  const ids = await stackServiceIds(stack);
  const labels: string[] = [];
  for (const id of ids)
    labels.push(
      (
        await exec('docker', [
          'service',
          'inspect',
          '--format',
          '{{index .Spec.Labels "cc-ci.warm"}}',
          id,
        ])
      ).stdout.trim(),
    );
  return labels;
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'ccci-sweep-'));
  await mkdir(join(base, 'src'));
  await makeRepo('0.1.0+1.35.0', '0.2.0+1.35.0');
  configBase = join(await enrolledNotesConfig('sweep-config'), '..');
  await mkdir(join(base, 'empty-config'));
  env = {
    ...process.env,
    CCCI_STATE_DIR: join(base, 'state'),
    CCCI_RUNS_DIR: join(base, 'runs'),
    DRONE: '',
  };
}, 60_000);

afterAll(async () => {
  let files: string[] = [];
  try {
    files = await readdir(join(base, 'state', 'canonicals'));
  } catch {
    /* none */
  }
  for (const f of files) {
    const c = JSON.parse(await readFile(join(base, 'state', 'canonicals', f), 'utf8')) as {
      stack: string;
    };
    await forceRemoveStack(c.stack);
  }
  for (const s of stacks) await forceRemoveStack(s);
  await rm(configBase, { recursive: true, force: true });
}, 180_000);

const stacks: string[] = [];

describe('cc-ci sweep', () => {
  it('is an error when no recipe is enrolled for a warm canonical', async () => {
    const r = await ccci([
      'sweep',
      '--src-base',
      join(base, 'src'),
      '--config-dir',
      join(base, 'empty-config'),
    ]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/no recipe .* has warm_canonical: true; nothing to sweep/);
  });

  it('plans without deploying in a dry run', async () => {
    const r = await ccci([
      'sweep',
      '--dry-run',
      '--src-base',
      join(base, 'src'),
      '--config-dir',
      join(configBase, 'recipes'),
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /sweep: notes: would test — no canonical yet; latest release 0\.2\.0\+1\.35\.0/,
    );
    await expect(canonical()).rejects.toThrow(/ENOENT/);
  });

  it('promotes the latest release, is then up to date, and moves on to a newer release', async () => {
    const first = await ccci([
      'sweep',
      '--src-base',
      join(base, 'src'),
      '--config-dir',
      join(configBase, 'recipes'),
    ]);
    expect({ code: first.code, tail: first.code === 0 ? '' : first.out.slice(-4000) }).toEqual({
      code: 0,
      tail: '',
    });
    expect(first.out).toMatch(/sweep: notes: promoted — 0\.2\.0\+1\.35\.0: pass/);
    // The disk budget: what the warm canonical's volumes use on this host.
    expect(first.out).toMatch(
      /sweep: warm disk: notes [0-9.]+ (B|kB|MB|GB) in [1-9][0-9]* volume\(s\) \(stack warm-notes-[0-9a-f]{6}_ci_localhost\)/,
    );
    const c1 = await canonical();
    stacks.push(c1.stack);
    expect(c1.version).toBe('0.2.0+1.35.0');
    // The warm namespace, one domain per release (never a PR app's `<4 letters>-<hex>` domain).
    expect(c1.stack).toBe(
      warmDomain({ recipe: 'notes', version: '0.2.0+1.35.0', suffix: 'ci.localhost' }).replace(
        /\./g,
        '_',
      ),
    );
    const labels = await warmLabels(c1.stack);
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.every((l) => l === 'true')).toBe(true);

    const second = await ccci([
      'sweep',
      '--src-base',
      join(base, 'src'),
      '--config-dir',
      join(configBase, 'recipes'),
    ]);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(
      /sweep: notes: up to date — up to date: the canonical is 0\.2\.0\+1\.35\.0/,
    );
    expect((await canonical()).stack).toBe(c1.stack);

    // A PR run on this host upgrades from the canonical's release (0.2.0), not from the newest
    // older release (0.2.1): the release people run here. It deploys the base fresh from its
    // tag and leaves the warm deploy alone.
    const prRepo = join(base, 'pr-notes');
    const prHead = (
      await exec('bash', [
        join(root, 'scripts/make-recipe-repo.sh'),
        join(root, 'examples/recipes/notes'),
        prRepo,
        '0.1.0+1.35.0',
        '0.2.0+1.35.0',
        '0.2.1+1.35.0',
      ])
    ).stdout.trim();
    const out = join(base, 'pr-run');
    const pr = await ccci([
      'run',
      prRepo,
      '--recipe',
      'notes',
      '--ref',
      prHead,
      '--stages',
      'install,upgrade',
      '--config-dir',
      join(configBase, 'recipes'),
      '--out',
      out,
    ]);
    expect({ code: pr.code, tail: pr.code === 0 ? '' : pr.out.slice(-3000) }).toEqual({
      code: 0,
      tail: '',
    });
    const prResults = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as {
      base_version: string;
      stages: { upgrade: { status: string } };
    };
    expect(prResults.base_version).toBe('0.2.0+1.35.0');
    expect(prResults.stages.upgrade.status).toBe('pass');
    expect(await readFile(join(out, 'run.log'), 'utf8')).toMatch(
      /upgrade base: 0\.2\.0\+1\.35\.0 \(the warm canonical\) → head/,
    );
    expect((await warmLabels(c1.stack)).every((l) => l === 'true')).toBe(true);
    expect(await canonical()).toMatchObject({ version: '0.2.0+1.35.0', stack: c1.stack });

    await makeRepo('0.1.0+1.35.0', '0.2.0+1.35.0', '0.3.0+1.35.0');
    const third = await ccci([
      'sweep',
      '--src-base',
      join(base, 'src'),
      '--config-dir',
      join(configBase, 'recipes'),
    ]);
    expect({ code: third.code, tail: third.code === 0 ? '' : third.out.slice(-4000) }).toEqual({
      code: 0,
      tail: '',
    });
    expect(third.out).toMatch(
      /sweep: notes: promoted — 0\.3\.0\+1\.35\.0: pass, level \d; canonical now 0\.3\.0\+1\.35\.0 at warm-notes-[0-9a-f]{6}\.ci\.localhost, a clean deploy of the release \(never an in-place advance\)/,
    );
    const c2 = await canonical();
    stacks.push(c2.stack);
    expect(c2.version).toBe('0.3.0+1.35.0');
    expect(c2.stack).not.toBe(c1.stack);
    expect(await stackObjects(c1.stack)).toEqual([]); // the previous canonical is retired
    expect((await warmLabels(c2.stack)).every((l) => l === 'true')).toBe(true);
    expect(third.out).toMatch(
      /sweep: 1 recipe\(s\): 1 promoted, 0 up to date, 0 failed or not promoted/,
    );
  }, 600_000);

  it('refuses a warm deploy whose domain a live service is routed on, naming it, and touches nothing', async () => {
    const before = await canonical();
    await makeRepo('0.1.0+1.35.0', '0.2.0+1.35.0', '0.3.0+1.35.0', '0.4.0+1.35.0');
    const domain = warmDomain({ recipe: 'notes', version: '0.4.0+1.35.0', suffix: 'ci.localhost' });
    // A live SSO service already answers on that name (no replicas: only its labels matter).
    const sso = `ccci-test-sso-${process.pid}`;
    await exec('docker', [
      'service',
      'create',
      '--detach',
      '--quiet',
      '--replicas',
      '0',
      '--name',
      sso,
      '--label',
      `traefik.http.routers.sso.rule=Host(\`sso.example\`) || Host(\`${domain}\`)`,
      'ccci/web:1',
    ]);
    try {
      const r = await ccci([
        'sweep',
        '--src-base',
        join(base, 'src'),
        '--config-dir',
        join(configBase, 'recipes'),
      ]);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain(
        `the warm domain ${domain} is already in use by the live service ${sso} (its router rule traefik.http.routers.sso.rule=`,
      );
      expect(await canonical()).toEqual(before);
      expect(await stackObjects(domain.replace(/\./g, '_'))).toEqual([]);
      const live = await exec('docker', ['service', 'inspect', '--format', '{{.Spec.Name}}', sso]);
      expect(live.stdout.trim()).toBe(sso); // the live service is untouched
    } finally {
      await exec('docker', ['service', 'rm', sso]).catch(() => undefined);
    }
  }, 300_000);
});
