/**
 * Quick runs on the real swarm, through the `cc-ci` command: the sweep promotes the notes
 * example's 0.2.0 to the warm canonical, then
 * - a quick run with no canonical on the host runs cold and says why;
 * - a quick run of a good PR head (0.3.0) upgrades the canonical, passes, and afterwards the
 *   canonical runs 0.2.0 again with its data: a marker written before is there, nothing the run
 *   wrote is (the upgrade's seed marker, the custom tests' notes);
 * - a quick run of a head whose own tests fail reports fail and leaves the canonical identical
 *   (service specs, volume content, the stack's objects), including the config the head added;
 * - no quick run changes the canonical registry.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  enrolledNotesConfig,
  fixture,
  forceRemoveStack,
  runCli,
  stackServiceIds,
} from '../../../harness-core/test/support/fixtures.js';

const exec = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
let base: string;
let configDir: string;
let env: NodeJS.ProcessEnv;
let stack = '';

interface QuickResults {
  mode: string;
  verdict: string;
  version: string;
  base_version: string | null;
  quick?: {
    canonical: { version: string; stack: string } | null;
    cold_reason?: string;
    head_deployed?: boolean;
    snapshot_restored: boolean | null;
    restore_detail?: string;
  };
  stages: Record<string, { status: string; reason?: string }>;
  flags: { clean_teardown: boolean };
}

const ccci = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
  runCli(args, { ...env, ...extraEnv }, 400_000);

async function quickRun(
  repo: string,
  name: string,
  extraEnv: NodeJS.ProcessEnv = {},
  args: string[] = [],
) {
  const out = join(base, name);
  const r = await ccci(
    ['run', repo, '--recipe', 'notes', '--quick', '--config-dir', configDir, '--out', out, ...args],
    extraEnv,
  );
  const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as QuickResults;
  return { ...r, results, log: await readFile(join(out, 'run.log'), 'utf8') };
}

const registry = () => readFile(join(base, 'state', 'canonicals', 'notes.json'), 'utf8');
const volume = () => `${stack}_notes`;

/** The canonical as the swarm has it: each service's spec labels and image, the stack's objects. */
async function canonicalAsSwarmHasIt(): Promise<string> {
  const ids = await stackServiceIds(stack);
  const specs = await Promise.all(
    ids.map(
      async (id) =>
        (
          await exec('docker', [
            'service',
            'inspect',
            '--format',
            '{{.Spec.Name}} {{json .Spec.Labels}} {{.Spec.TaskTemplate.ContainerSpec.Image}} {{.Spec.Mode.Replicated.Replicas}}',
            id,
          ])
        ).stdout,
    ),
  );
  const objects = await Promise.all(
    ['volume', 'secret', 'config'].map(
      async (kind) =>
        (await exec('docker', [kind, 'ls', '--filter', `name=${stack}_`, '--format', '{{.Name}}']))
          .stdout,
    ),
  );
  return [...specs.sort(), ...objects].join('\n');
}

/** `md5sum` of every file of the canonical's notes volume, and the file list. */
/** A clone of the notes repository with the fixture's files laid over it, committed. */
async function prRepo(name: string, over: string): Promise<string> {
  const repo = join(base, name);
  await exec('git', ['clone', '-q', join(base, 'src', 'notes'), repo]);
  await cp(over, repo, { recursive: true, force: true });
  await exec('git', [
    '-C',
    repo,
    '-c',
    'user.name=cc-ci',
    '-c',
    'user.email=cc-ci@localhost',
    'commit',
    '-q',
    '-am',
    `pr: ${name}`,
  ]);
  return repo;
}

async function volumeContent(): Promise<string> {
  const r = await exec('docker', [
    'run',
    '--rm',
    '-v',
    `${volume()}:/v:ro`,
    'ccci/web:1',
    'sh',
    '-c',
    'cd /v && find . -type f -exec md5sum {} + | sort -k 2',
  ]);
  return r.stdout;
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'ccci-quick-'));
  await mkdir(join(base, 'src'));
  await exec('bash', [
    join(root, 'scripts/make-recipe-repo.sh'),
    join(root, 'examples/recipes/notes'),
    join(base, 'src', 'notes'),
    '0.1.0+1.35.0',
    '0.2.0+1.35.0',
  ]);
  configDir = await enrolledNotesConfig('quick-config');
  env = {
    ...process.env,
    CCCI_STATE_DIR: join(base, 'state'),
    CCCI_RUNS_DIR: join(base, 'runs'),
    DRONE: '',
  };
}, 60_000);

afterAll(async () => {
  if (stack) await forceRemoveStack(stack);
  await rm(join(configDir, '..'), { recursive: true, force: true });
}, 180_000);

describe('quick runs on the warm canonical', () => {
  it('runs cold and says why when the host has no canonical', async () => {
    const r = await quickRun(join(base, 'src', 'notes'), 'no-canonical', {
      CCCI_STATE_DIR: join(base, 'empty-state'),
    });
    expect(r.results.mode).toBe('cold');
    expect(r.results.quick).toEqual({
      canonical: null,
      cold_reason: expect.stringMatching(/^there is no warm canonical of notes on this host/),
      snapshot_restored: null,
    });
    expect(r.log).toMatch(/quick run asked for, running cold: there is no warm canonical/);
    expect(r.results.stages.backup?.status).toBe('pass'); // a cold run runs every tier
  }, 400_000);

  it('upgrades the canonical to a good head, passes, and puts the canonical back with its data', async () => {
    const sweep = await ccci(['sweep', '--src-base', join(base, 'src'), '--config-dir', configDir]);
    expect({ code: sweep.code, tail: sweep.code === 0 ? '' : sweep.out.slice(-3000) }).toEqual({
      code: 0,
      tail: '',
    });
    stack = (JSON.parse(await registry()) as { stack: string }).stack;
    const record = await registry();
    // The canonical's own data, written before the quick run.
    await exec('docker', [
      'run',
      '--rm',
      '-v',
      `${volume()}:/v`,
      'ccci/web:1',
      'sh',
      '-c',
      'mkdir -p /v/notes && echo kept-before > /v/notes/0-before',
    ]);
    const before = await canonicalAsSwarmHasIt();
    const content = await volumeContent();

    const r = await quickRun(join(base, 'src', 'notes'), 'good');
    expect({ code: r.code, tail: r.code === 0 ? '' : r.out.slice(-3000) }).toEqual({
      code: 0,
      tail: '',
    });
    expect(r.results).toMatchObject({
      mode: 'quick',
      verdict: 'pass',
      version: '0.3.0+1.35.0',
      base_version: '0.2.0+1.35.0',
      quick: {
        canonical: { version: '0.2.0+1.35.0', stack },
        head_deployed: true,
        snapshot_restored: true,
      },
      flags: { clean_teardown: true },
    });
    for (const tier of ['upgrade', 'install', 'custom'])
      expect([tier, r.results.stages[tier]?.status]).toEqual([tier, 'pass']);
    expect(r.results.stages.backup).toMatchObject({
      status: 'skip',
      reason: expect.stringMatching(/^quick run: backup and restore run only in a cold run/),
    });
    expect(r.log).toMatch(/snapshot of the canonical 0\.2\.0\+1\.35\.0 .*1 volume\(s\)/);
    expect(r.out).toContain('quick run');

    // The canonical as it was: same specs and objects, same files — the marker written before
    // is there, the upgrade's seed marker and the notes the custom tests added are not.
    expect(await canonicalAsSwarmHasIt()).toBe(before);
    expect(await volumeContent()).toBe(content);
    expect(content).toContain('./notes/0-before');
    expect(await registry()).toBe(record);
  }, 600_000);

  it('reports a head whose own tests fail as fail and leaves the canonical identical', async () => {
    const repo = await prRepo('pr-forgets', fixture('quick-notes-forgets'));
    const record = await registry();
    const before = await canonicalAsSwarmHasIt();
    const content = await volumeContent();

    const r = await quickRun(repo, 'forgets');
    expect(r.code).toBe(1);
    expect(r.results).toMatchObject({
      mode: 'quick',
      verdict: 'fail',
      quick: { canonical: { version: '0.2.0+1.35.0' }, snapshot_restored: true },
    });
    expect(r.results.stages.upgrade?.status).toBe('pass');
    expect(r.results.stages.custom?.status).toBe('fail');
    // The head brought a config of its own (notes_cgi v2): gone with the head.
    expect(r.log).toMatch(/the canonical runs 0\.2\.0\+1\.35\.0 again/);
    expect(await canonicalAsSwarmHasIt()).toBe(before);
    expect(await volumeContent()).toBe(content);
    expect(await registry()).toBe(record);
  }, 600_000);

  it('runs cold, saying why, when the head is not newer or needs a secret the canonical lacks', async () => {
    const record = await registry();
    const before = await canonicalAsSwarmHasIt();
    const same = await quickRun(join(base, 'src', 'notes'), 'not-newer', {}, [
      '--ref',
      '0.2.0+1.35.0',
      '--stages',
      'install',
    ]);
    expect(same.results.mode).toBe('cold');
    expect(same.results.quick?.cold_reason).toBe(
      "the head's version 0.2.0+1.35.0 is not newer than the canonical's 0.2.0+1.35.0: a quick run upgrades from the canonical",
    );
    const repo = await prRepo('pr-new-secret', fixture('quick-notes-new-secret'));
    const secret = await quickRun(repo, 'new-secret', {}, ['--stages', 'install']);
    expect(secret.results.mode).toBe('cold');
    expect(secret.results.quick?.cold_reason).toMatch(
      /^the head needs secret\(s\) the canonical does not have \(warm-notes-[0-9a-f]{6}_ci_localhost_api_key_v1\); a cold run generates them$/,
    );
    expect(secret.results.stages.install?.status).toBe('pass');
    expect(await canonicalAsSwarmHasIt()).toBe(before);
    expect(await registry()).toBe(record);
  }, 400_000);

  it('a canonical not running as recorded: quick runs go cold, the sweep retires it and promotes afresh', async () => {
    // As a killed quick run or a hand might leave it: the recorded stack's service is gone.
    await exec('docker', ['service', 'rm', `${stack}_app`]);
    const r = await quickRun(join(base, 'src', 'notes'), 'not-recorded', {}, [
      '--stages',
      'install',
    ]);
    expect(r.results.quick?.cold_reason).toBe(
      `the canonical's stack ${stack} is not running 0.2.0+1.35.0, warm, as recorded`,
    );
    const sweep = await ccci(['sweep', '--src-base', join(base, 'src'), '--config-dir', configDir]);
    expect({ code: sweep.code, tail: sweep.code === 0 ? '' : sweep.out.slice(-3000) }).toEqual({
      code: 0,
      tail: '',
    });
    expect(sweep.out).toContain(
      `the canonical 0.2.0+1.35.0 (${stack}) was not running as recorded: retired it`,
    );
    expect(sweep.out).toMatch(/sweep: notes: promoted — 0\.2\.0\+1\.35\.0: pass/);
    expect((JSON.parse(await registry()) as { stack: string }).stack).toBe(stack);
    expect(await canonicalAsSwarmHasIt()).toMatch(/"cc-ci.warm":"true"/);
    // The disk budget the bridge's /metrics reads.
    const disk = JSON.parse(await readFile(join(base, 'state', 'warm-disk.json'), 'utf8')) as {
      recipes: Array<{ recipe: string; stack: string; volumes: number }>;
    };
    expect(disk.recipes).toEqual([expect.objectContaining({ recipe: 'notes', stack, volumes: 1 })]);
  }, 600_000);
});
