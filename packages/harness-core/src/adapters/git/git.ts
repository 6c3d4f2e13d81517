/**
 * Git operations for checkouts, through the git CLI with argument arrays. A ref is validated
 * before it reaches git, and `--` separates options from refs everywhere it can.
 */
import { GitError } from './git-error.js';
import { runProcess, type ProcessRunner } from '../process/run-process.js';
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

export function createGit(run: ProcessRunner = runProcess): Git {
  const env = hostEnv({
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_ADVICE: '0',
  });
  const git = async (args: string[], cwd?: string, allowFail = false, signal?: AbortSignal) => {
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
