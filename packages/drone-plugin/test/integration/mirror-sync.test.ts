/**
 * Faithful mirror sync (issue 15), with real bare git repositories for upstream and mirror and the
 * fake Gitea for the mirror's pull requests: the mirror's main and tags follow upstream exactly
 * (added, moved, removed); nothing else of the mirror changes and nothing of ours is pushed; a PR
 * whose merge would change nothing is closed with a comment, any other is left open; a failed sync
 * stops the recipe in the sweep (`sync failed`, never tested). No Docker: the sweep runs dry, or
 * stops before any deploy (sync failed, up to date), with a Docker that throws if called.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  canonicalStore,
  createMirrorGit,
  runSweep,
  silentLogger,
  syncMirror,
  type DockerPort,
  type MirrorGit,
  type MirrorSyncOutcome,
} from '@cc-ci/harness-core';
import { FakeGitea } from '../../../bridge/test/fakes/fake-gitea.js';
import { SwaggerChecker } from '../../../bridge/test/contract/swagger.js';

const exec = promisify(execFile);
const GIT_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/nonexistent',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  LANG: 'C.UTF-8',
};
const REPO = 'coop-cloud/notes';

let base: string;
let gitea: FakeGitea;
let botToken: string;
let counter = 0;

async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await exec(
    'git',
    ['-c', 'user.name=Upstream Dev', '-c', 'user.email=dev@upstream.test', ...args],
    { cwd, env: GIT_ENV, timeout: 60_000 },
  );
  return r.stdout.trim();
}

/** All refs of a bare repository: name → id. */
async function refs(dir: string): Promise<Record<string, string>> {
  const out = await git(dir, 'for-each-ref', '--format=%(refname) %(objectname)');
  return Object.fromEntries(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')),
  );
}

/** A commit on `parent` (or a root commit) in the scratch repo `work`, changing one file. */
async function commit(work: string, file: string, text: string, parent?: string): Promise<string> {
  await git(
    work,
    'checkout',
    '--quiet',
    '--force',
    ...(parent ? [parent] : ['--orphan', `o${counter++}`]),
  );
  await writeFile(join(work, file), text);
  await git(work, 'add', '--', file);
  await git(work, 'commit', '--quiet', '-m', `${file}: ${text.trim()}`);
  return git(work, 'rev-parse', 'HEAD');
}

/** A fresh world: upstream and mirror bare repos plus a work repo that holds every commit. */
async function world(name: string) {
  const dir = join(base, name);
  const upstream = join(dir, 'upstream.git');
  const mirror = join(dir, 'mirror.git');
  const work = join(dir, 'work');
  await mkdir(work, { recursive: true });
  await git(dir, 'init', '--quiet', '--bare', '-b', 'main', upstream);
  await git(dir, 'init', '--quiet', '--bare', '-b', 'main', mirror);
  await git(work, 'init', '--quiet', '-b', 'main');
  const push = (to: string, ...specs: string[]) =>
    git(work, 'push', '--quiet', '--force', to, ...specs);
  return { dir, upstream, mirror, work, push, scratch: join(dir, 'scratch') };
}

async function sync(
  w: Awaited<ReturnType<typeof world>>,
  withGitea = true,
): Promise<MirrorSyncOutcome> {
  await rm(w.scratch, { recursive: true, force: true });
  await mkdir(w.scratch, { recursive: true });
  return syncMirror({
    recipe: 'notes',
    upstream: w.upstream,
    mirror: w.mirror,
    ...(withGitea ? { gitea: { url: gitea.url, token: botToken, repo: REPO } } : {}),
    workDir: w.scratch,
    signal: AbortSignal.timeout(60_000),
    log: silentLogger,
  });
}

/**
 * A Docker that must never be used (the tests never deploy), except to answer, read-only, the
 * services of the warm stacks given: what the sweep asks before it calls a canonical up to date.
 */
const noDocker = (warm: Readonly<Record<string, string>> = {}) =>
  new Proxy({} as DockerPort, {
    get: (_t, prop) => {
      if (prop === 'then') return undefined;
      if (prop === 'listServices')
        return async (stack: string) =>
          warm[stack]
            ? [
                {
                  id: 'svc1',
                  name: `${stack}_app`,
                  labels: { 'cc-ci.warm': 'true', [`coop-cloud.${stack}.version`]: warm[stack] },
                  previousLabels: null,
                  image: 'ccci/web:1',
                  replicas: 1,
                  updateStatus: null,
                },
              ]
            : [];
      return () => {
        throw new Error(`docker.${String(prop)} called: the test must not deploy`);
      };
    },
  });

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'ccci-mirror-sync-'));
  gitea = await FakeGitea.start('127.0.0.1');
  botToken = gitea.addUser('ccci-bot').token;
  gitea.addUser('contributor');
  gitea.addOrg('coop-cloud');
  gitea.addRepo(REPO, { collaborators: { 'ccci-bot': 'write' } });
});

afterAll(async () => {
  await gitea?.close();
  await rm(base, { recursive: true, force: true });
});

describe('syncMirror', () => {
  it('mirror main and tags follow upstream: added, moved, removed; nothing else changes', async () => {
    const w = await world('follow');
    const c1 = await commit(w.work, 'compose.yml', 'v1\n');
    await git(w.work, 'tag', '0.1.0+1.0', c1);
    // The mirror starts at 0.1.0, with a branch of its own and a PR head ref Gitea keeps.
    await w.push(w.mirror, `${c1}:refs/heads/main`, 'refs/tags/0.1.0+1.0:refs/tags/0.1.0+1.0');
    const ours = await commit(w.work, 'notes.md', 'our work\n', c1);
    await w.push(w.mirror, `${ours}:refs/heads/ours`, `${ours}:refs/pull/7/head`);
    // Upstream moves: two commits, a lightweight and an annotated tag.
    const c2 = await commit(w.work, 'compose.yml', 'v2\n', c1);
    const c3 = await commit(w.work, 'compose.yml', 'v3\n', c2);
    await git(w.work, 'tag', '0.2.0+1.1', c2);
    await git(w.work, 'tag', '-a', '-m', 'release 0.3.0', '0.3.0+1.2', c3);
    await w.push(w.upstream, `${c3}:refs/heads/main`, '--tags');
    const before = await refs(w.mirror);

    const first = await sync(w, false);
    expect(first).toMatchObject({
      synced: true,
      main: c3,
      mainMoved: true,
      tagsAdded: ['0.2.0+1.1', '0.3.0+1.2'],
      tagsMoved: [],
      tagsRemoved: [],
    });
    const up = await refs(w.upstream);
    const after = await refs(w.mirror);
    // main and every tag equal upstream's (the annotated tag's own object, not just its commit).
    expect(after['refs/heads/main']).toBe(c3);
    for (const [ref, id] of Object.entries(up)) expect(after[ref]).toBe(id);
    // Everything that is not main or a tag is exactly as it was: nothing of ours pushed.
    const notSynced = (r: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(r).filter(([k]) => k !== 'refs/heads/main' && !k.startsWith('refs/tags/')),
      );
    expect(notSynced(after)).toEqual(notSynced(before));
    expect(notSynced(after)).toEqual({ 'refs/heads/ours': ours, 'refs/pull/7/head': ours });
    expect(
      Object.keys(after)
        .filter((k) => k.startsWith('refs/tags/'))
        .sort(),
    ).toEqual(
      Object.keys(up)
        .filter((k) => k.startsWith('refs/tags/'))
        .sort(),
    );

    // A second sync has nothing to do.
    expect(await sync(w, false)).toMatchObject({
      synced: true,
      mainMoved: false,
      tagsAdded: [],
      tagsMoved: [],
      tagsRemoved: [],
    });

    // Upstream moves a tag, deletes one, and force-pushes main back: the mirror follows exactly.
    const c4 = await commit(w.work, 'compose.yml', 'v4\n', c2);
    await git(w.work, 'tag', '--force', '0.2.0+1.1', c4);
    await w.push(w.upstream, `${c4}:refs/heads/main`, 'refs/tags/0.2.0+1.1:refs/tags/0.2.0+1.1');
    await git(w.upstream, 'tag', '--delete', '0.1.0+1.0');
    const moved = await sync(w, false);
    expect(moved).toMatchObject({
      synced: true,
      main: c4,
      mainMoved: true,
      tagsAdded: [],
      tagsMoved: ['0.2.0+1.1'],
      tagsRemoved: ['0.1.0+1.0'],
    });
    const again = await refs(w.mirror);
    expect(again['refs/heads/main']).toBe(c4);
    expect(again['refs/tags/0.2.0+1.1']).toBe(c4);
    expect(again['refs/tags/0.1.0+1.0']).toBeUndefined();
    expect(again['refs/tags/0.3.0+1.2']).toBe(up['refs/tags/0.3.0+1.2']);
    expect(notSynced(again)).toEqual(notSynced(before));
  });

  it('closes a mirror PR whose merge changes nothing, with a comment; leaves every other open', async () => {
    const w = await world('prs');
    const c1 = await commit(w.work, 'compose.yml', 'v1\n');
    await w.push(w.mirror, `${c1}:refs/heads/main`);
    // PR heads as Gitea keeps them (refs/pull/<n>/head), opened against the mirror.
    const merged = await commit(w.work, 'compose.yml', 'fix from PR\n', c1); // upstream merges it
    const sameChange = await commit(w.work, 'README.md', 'docs\n', c1); // upstream re-does it
    const newWork = await commit(w.work, 'abra.sh', 'export NEW=1\n', c1); // not upstream
    const conflicting = await commit(w.work, 'compose.yml', 'something else\n', c1);
    const otherBase = await commit(w.work, 'compose.yml', 'for stable\n', c1);
    const pr = (head: string, baseRef = 'main') =>
      gitea.openPull(REPO, { author: 'contributor', headSha: head, baseRef });
    const prMerged = pr(merged);
    const prSame = pr(sameChange);
    const prNew = pr(newWork);
    const prConflict = pr(conflicting);
    const prOtherBase = pr(otherBase, 'stable');
    const prUnknownHead = pr('0123456789abcdef0123456789abcdef01234567');
    for (const [n, sha] of [
      [prMerged, merged],
      [prSame, sameChange],
      [prNew, newWork],
      [prConflict, conflicting],
      [prOtherBase, otherBase],
    ] as const)
      await w.push(w.mirror, `${sha}:refs/pull/${n}/head`);
    const closedAlready = pr(merged);
    gitea.closePull(REPO, closedAlready);
    // Upstream: merges `merged` fast-forward, then a commit with the same change as `sameChange`.
    const up2 = await commit(w.work, 'README.md', 'docs\n', merged);
    await w.push(w.upstream, `${up2}:refs/heads/main`);
    const before = await refs(w.mirror);

    const out = await sync(w);
    expect(out.synced).toBe(true);
    expect(out.prError).toBeUndefined();
    expect(out.closedPrs.map((p) => p.number).sort()).toEqual([prMerged, prSame].sort());
    expect(out.keptPrs.map((p) => p.number).sort()).toEqual(
      [prNew, prConflict, prOtherBase, prUnknownHead].sort(),
    );
    expect(out.closedPrs.find((p) => p.number === prMerged)!.reason).toMatch(/already in main/);
    expect(out.closedPrs.find((p) => p.number === prSame)!.reason).toMatch(/changes are already/);
    for (const n of [prMerged, prSame]) {
      expect(gitea.pull(REPO, n)!.state).toBe('closed');
      const comments = gitea.commentsOn(REPO, n);
      expect(comments).toHaveLength(1);
      expect(comments[0]).toMatchObject({ login: 'ccci-bot' });
      expect(comments[0]!.body).toMatch(/mirror sync.*would change nothing/s);
    }
    for (const n of [prNew, prConflict, prOtherBase, prUnknownHead]) {
      expect(gitea.pull(REPO, n)!.state).toBe('open');
      expect(gitea.commentsOn(REPO, n)).toEqual([]);
    }
    // The mirror changed only in main; the PR refs are Gitea's and untouched.
    const after = await refs(w.mirror);
    expect(after).toEqual({ ...before, 'refs/heads/main': up2 });

    // Every request the sync sent, and the fake's answers, conform to Gitea's OpenAPI document.
    const checker = new SwaggerChecker();
    expect(gitea.exchanges.flatMap((ex) => checker.check(ex))).toEqual([]);
    expect([...checker.seen].sort()).toEqual(
      ['issueCreateComment', 'repoEditPullRequest', 'repoListPullRequests'].sort(),
    );
  });

  it('an unreachable upstream fails the sync and pushes nothing', async () => {
    const w = await world('unreachable');
    const c1 = await commit(w.work, 'compose.yml', 'v1\n');
    await w.push(w.mirror, `${c1}:refs/heads/main`);
    const before = await refs(w.mirror);
    w.upstream = join(w.dir, 'no-such-upstream.git');
    const out = await sync(w);
    expect(out.synced).toBe(false);
    expect(out.error?.code).toBe('MIRROR_SYNC_FAILED');
    expect(out.closedPrs).toEqual([]);
    expect(await refs(w.mirror)).toEqual(before);
  });

  it('a push that races another push to the mirror fails the whole sync (atomic, leased)', async () => {
    const w = await world('race');
    const c1 = await commit(w.work, 'compose.yml', 'v1\n');
    await w.push(w.mirror, `${c1}:refs/heads/main`);
    const c2 = await commit(w.work, 'compose.yml', 'v2\n', c1);
    await git(w.work, 'tag', '0.2.0+1.1', c2);
    await w.push(w.upstream, `${c2}:refs/heads/main`, '--tags');
    const racer = await commit(w.work, 'compose.yml', 'someone else\n', c1);
    const real = createMirrorGit();
    // Someone pushes to the mirror's main between our read and our push.
    const racing: MirrorGit = {
      ...real,
      push: async (...args) => {
        await w.push(w.mirror, `${racer}:refs/heads/main`);
        return real.push(...args);
      },
    };
    await mkdir(w.scratch, { recursive: true });
    const out = await syncMirror({
      recipe: 'notes',
      upstream: w.upstream,
      mirror: w.mirror,
      workDir: w.scratch,
      signal: AbortSignal.timeout(60_000),
      log: silentLogger,
      git: racing,
    });
    expect(out).toMatchObject({ synced: false, error: { code: 'MIRROR_SYNC_FAILED' } });
    // Neither main nor the new tag landed: the racer's main stands, nothing was overwritten.
    expect(await refs(w.mirror)).toEqual({ 'refs/heads/main': racer });
  });

  it('an upstream without main fails the sync', async () => {
    const w = await world('nomain');
    const c1 = await commit(w.work, 'compose.yml', 'v1\n');
    await w.push(w.upstream, `${c1}:refs/heads/master`);
    await w.push(w.mirror, `${c1}:refs/heads/main`);
    const out = await sync(w, false);
    expect(out).toMatchObject({ synced: false, error: { code: 'MIRROR_SYNC_FAILED' } });
  });
});

describe('the sweep syncs the mirror first', () => {
  const sweep = async (
    w: Awaited<ReturnType<typeof world>>,
    dryRun: boolean,
    state: string,
    warm: Readonly<Record<string, string>> = {},
  ) => {
    const configDir = join(w.dir, 'recipes');
    await mkdir(join(configDir, 'notes'), { recursive: true });
    await writeFile(join(configDir, 'notes', 'cc-ci.yml'), 'warm_canonical: true\n');
    return runSweep({
      recipes: [{ recipe: 'notes', src: w.mirror, mirror: { upstream: w.upstream } }],
      stateDir: state,
      configDir,
      runsDir: join(w.dir, 'runs'),
      deployer: 'docker',
      domainSuffix: 'ci.localhost',
      dryRun,
      log: silentLogger,
      signal: AbortSignal.timeout(120_000),
      docker: noDocker(warm),
    });
  };

  it('a failed sync stops the recipe: `sync failed`, not tested', async () => {
    const w = await world('sweep-fail');
    const c1 = await commit(w.work, 'compose.yml', 'v1\n');
    await git(w.work, 'tag', '0.1.0+1.0', c1);
    await w.push(w.mirror, `${c1}:refs/heads/main`, '--tags');
    w.upstream = join(w.dir, 'gone.git');
    const before = await refs(w.mirror);
    for (const dryRun of [false, true]) {
      const [o] = await sweep(w, dryRun, join(w.dir, `state-${dryRun}`));
      expect(o).toMatchObject({ recipe: 'notes', label: 'sync failed', tag: null, results: null });
      expect(o!.detail).toMatch(/mirror sync of notes failed.*not tested/s);
      expect(o!.sync).toMatchObject({ synced: false, error: { code: 'MIRROR_SYNC_FAILED' } });
    }
    expect(await refs(w.mirror)).toEqual(before);
  });

  it('a synced mirror is what the sweep reads; a dry run decides from upstream and pushes nothing', async () => {
    const w = await world('sweep-ok');
    const c1 = await commit(w.work, 'compose.yml', 'v1\n');
    await git(w.work, 'tag', '0.1.0+1.0', c1);
    await w.push(w.mirror, `${c1}:refs/heads/main`, 'refs/tags/0.1.0+1.0:refs/tags/0.1.0+1.0');
    const c2 = await commit(w.work, 'compose.yml', 'v2\n', c1);
    await git(w.work, 'tag', '0.2.0+1.1', c2);
    await w.push(w.upstream, `${c2}:refs/heads/main`, '--tags');
    const before = await refs(w.mirror);

    const [dry] = await sweep(w, true, join(w.dir, 'state-dry'));
    expect(dry).toMatchObject({ label: 'would test', tag: '0.2.0+1.1' });
    expect(dry!.sync).toMatchObject({ synced: true, dryRun: true, tagsAdded: ['0.2.0+1.1'] });
    expect(await refs(w.mirror)).toEqual(before);

    // For real: the canonical is already 0.2.0, so after the sync the sweep has nothing to test.
    const state = join(w.dir, 'state');
    await canonicalStore(state).put({
      recipe: 'notes',
      version: '0.2.0+1.1',
      commit: c2,
      domain: 'warm.ci.localhost',
      stack: 'warm_notes',
      run_id: 'sweep-notes-1',
      ts: new Date().toISOString(),
    });
    const [real] = await sweep(w, false, state, { warm_notes: '0.2.0+1.1' });
    expect(real).toMatchObject({ label: 'up to date' });
    expect(real!.sync).toMatchObject({ synced: true, dryRun: false, main: c2 });
    const after = await refs(w.mirror);
    expect(after['refs/heads/main']).toBe(c2);
    expect(after['refs/tags/0.2.0+1.1']).toBe(c2);
  });
});
