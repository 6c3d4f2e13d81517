/**
 * Git operations for checkouts, through the git CLI with argument arrays. A ref is validated
 * before it reaches git, and `--` separates options from refs everywhere it can.
 */
import { GitError } from './git-error.js';
import { runProcess, type ProcessResult, type ProcessRunner } from '../process/run-process.js';
import { hostEnv } from '../process/host-env.js';

export interface Git {
  clone(src: string, dir: string, signal?: AbortSignal): Promise<void>;
  /** Resolve a ref to a full sha, or null when it does not name a commit. */
  resolveCommit(dir: string, ref: string): Promise<string | null>;
  checkout(dir: string, sha: string): Promise<void>;
  tags(dir: string): Promise<string[]>;
  /** Tags pointing at the commit. */
  tagsAt(dir: string, sha: string): Promise<string[]>;
  isDirty(dir: string): Promise<boolean>;
  /** A second, independent checkout of the same repository at a commit (for the upgrade base). */
  cloneLocal(fromDir: string, toDir: string, sha: string): Promise<void>;
}

/** One git invocation: argument array, clean environment, bounded time; a failure throws GitError. */
type GitCall = (
  args: string[],
  cwd?: string,
  allowFail?: boolean,
  signal?: AbortSignal,
) => Promise<ProcessResult>;

/**
 * The git runner every adapter here shares. `extraEnv` is added to the clean host environment
 * (the mirror push passes its credential header as GIT_CONFIG_* variables, never as argv).
 */
function gitCaller(run: ProcessRunner, extraEnv: Readonly<Record<string, string>> = {}): GitCall {
  const env = hostEnv({
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_ADVICE: '0',
    ...extraEnv,
  });
  return async (args, cwd, allowFail = false, signal) => {
    const res = await run(
      'git',
      ['-c', 'protocol.file.allow=always', '-c', 'advice.detachedHead=false', ...args],
      {
        env,
        timeoutMs: 300_000,
        ...(cwd ? { cwd } : {}),
        ...(signal ? { signal } : {}),
      },
    );
    if (res.exitCode !== 0 && !allowFail) {
      throw new GitError(
        `git ${args[0]} failed (exit ${res.exitCode}): ${res.stderr.trim().slice(0, 1000)}`,
      );
    }
    return res;
  };
}

export function createGit(run: ProcessRunner = runProcess): Git {
  const git = gitCaller(run);
  return {
    async clone(src, dir, signal) {
      await git(['clone', '--quiet', '--no-checkout', '--', src, dir], undefined, false, signal);
      await git(['fetch', '--quiet', '--tags', '--force', 'origin'], dir, true, signal);
      // A fork PR's head commit is on no branch of the base repo; Gitea keeps it under
      // refs/pull/<n>/head, which a plain clone does not fetch (the bridge sends REF = that sha).
      await git(
        ['fetch', '--quiet', '--force', 'origin', '+refs/pull/*/head:refs/remotes/origin/pull/*'],
        dir,
        true,
        signal,
      );
    },
    async resolveCommit(dir, ref) {
      const res = await git(
        ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`],
        dir,
        true,
      );
      const sha = res.stdout.trim();
      return res.exitCode === 0 && /^[0-9a-f]{40}$/.test(sha) ? sha : null;
    },
    async checkout(dir, sha) {
      await git(['checkout', '--quiet', '--force', sha, '--'], dir);
    },
    async tags(dir) {
      const res = await git(['tag', '--list'], dir);
      return res.stdout
        .split('\n')
        .map((t) => t.trim())
        .filter(Boolean);
    },
    async tagsAt(dir, sha) {
      const res = await git(['tag', '--points-at', sha], dir);
      return res.stdout
        .split('\n')
        .map((t) => t.trim())
        .filter(Boolean);
    },
    async isDirty(dir) {
      const res = await git(['status', '--porcelain', '--untracked-files=normal'], dir);
      return res.stdout.trim().length > 0;
    },
    async cloneLocal(fromDir, toDir, sha) {
      await git(['clone', '--quiet', '--no-checkout', '--local', '--', fromDir, toDir]);
      await git(['checkout', '--quiet', '--force', sha, '--'], toDir);
    },
  };
}

/** Refs by full name (`refs/heads/main`, `refs/tags/1.0.0+1.2`) → object id (a tag's own id, not peeled). */
export type RefMap = ReadonlyMap<string, string>;

/**
 * The git a mirror sync needs, in a scratch bare repository: fetch named refs, read refs on both
 * sides, push explicit refspecs with leases, and the two "would this merge change main" checks.
 */
export interface MirrorGit {
  initBare(dir: string): Promise<void>;
  /**
   * Fetch exactly these refspecs from `remote` (no tags beyond them, no FETCH_HEAD). A glob that
   * matches nothing is not an error; a missing exact ref or an unreachable remote is.
   */
  fetch(
    dir: string,
    remote: string,
    refspecs: readonly string[],
    signal?: AbortSignal,
  ): Promise<void>;
  /** The refs of `remote` (peeled `^{}` lines dropped). */
  remoteRefs(remote: string, signal?: AbortSignal): Promise<Map<string, string>>;
  /** The local refs under `prefix` (e.g. `refs/up/`), by full name. */
  localRefs(dir: string, prefix: string): Promise<Map<string, string>>;
  /**
   * Push exactly `refspecs`, atomically, each ref leased at its expected old id (`''`: must not
   * exist yet), so a concurrent push makes the whole push fail instead of being overwritten.
   */
  push(
    dir: string,
    remote: string,
    refspecs: readonly string[],
    leases: ReadonlyMap<string, string>,
    signal?: AbortSignal,
  ): Promise<void>;
  /** Is `ancestor` reachable from `descendant`? */
  isAncestor(dir: string, ancestor: string, descendant: string): Promise<boolean>;
  /** The tree of merging `theirs` into `ours` (`git merge-tree --write-tree`), or null on conflicts. */
  mergeTree(dir: string, ours: string, theirs: string): Promise<string | null>;
  /** The tree id of a commit. */
  treeOf(dir: string, commit: string): Promise<string>;
  /** Does the object exist locally as a commit? */
  hasCommit(dir: string, sha: string): Promise<boolean>;
}

const SHA = /^[0-9a-f]{40}$/;

function parseRefLines(text: string, sep: RegExp): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [sha, ref] = line.trim().split(sep);
    if (sha && ref && SHA.test(sha) && !ref.endsWith('^{}')) refs.set(ref, sha);
  }
  return refs;
}

/**
 * `extraEnv` is for the push credential (`GIT_CONFIG_COUNT`/`KEY`/`VALUE` setting an
 * `http.<mirror-url>.extraHeader`), so the token is in no argument list and reaches no other host.
 */
export function createMirrorGit(
  run: ProcessRunner = runProcess,
  extraEnv: Readonly<Record<string, string>> = {},
): MirrorGit {
  const git = gitCaller(run, extraEnv);
  const fetchArgs = (remote: string, refspecs: readonly string[]) => [
    'fetch',
    '--quiet',
    '--no-tags',
    '--no-write-fetch-head',
    '--',
    remote,
    ...refspecs,
  ];
  return {
    async initBare(dir) {
      await git(['init', '--quiet', '--bare', '--', dir]);
    },
    async fetch(dir, remote, refspecs, signal) {
      await git(fetchArgs(remote, refspecs), dir, false, signal);
    },
    async remoteRefs(remote, signal) {
      const res = await git(['ls-remote', '--quiet', '--', remote], undefined, false, signal);
      return parseRefLines(res.stdout, /\s+/);
    },
    async localRefs(dir, prefix) {
      const res = await git(
        ['for-each-ref', '--format=%(objectname) %(refname)', '--', prefix],
        dir,
      );
      return parseRefLines(res.stdout, / /);
    },
    async push(dir, remote, refspecs, leases, signal) {
      const leaseArgs = [...leases].map(([ref, old]) => `--force-with-lease=${ref}:${old}`);
      await git(
        ['push', '--quiet', '--atomic', '--no-verify', ...leaseArgs, '--', remote, ...refspecs],
        dir,
        false,
        signal,
      );
    },
    async isAncestor(dir, ancestor, descendant) {
      const res = await git(['merge-base', '--is-ancestor', ancestor, descendant], dir, true);
      if (res.exitCode > 1) throw new GitError(`git merge-base failed: ${res.stderr.trim()}`);
      return res.exitCode === 0;
    },
    async mergeTree(dir, ours, theirs) {
      // Exit 0: a clean merge, stdout's first line is the tree; 1: conflicts; anything else: error.
      const res = await git(
        ['merge-tree', '--write-tree', '--no-messages', ours, theirs],
        dir,
        true,
      );
      if (res.exitCode === 1) return null;
      const tree = res.stdout.split('\n')[0]?.trim() ?? '';
      if (res.exitCode !== 0 || !SHA.test(tree))
        throw new GitError(`git merge-tree failed (exit ${res.exitCode}): ${res.stderr.trim()}`);
      return tree;
    },
    async treeOf(dir, commit) {
      const res = await git(['rev-parse', '--verify', '--end-of-options', `${commit}^{tree}`], dir);
      return res.stdout.trim();
    },
    async hasCommit(dir, sha) {
      const res = await git(['cat-file', '-e', `${sha}^{commit}`], dir, true);
      return res.exitCode === 0;
    },
  };
}
