/**
 * Faithful mirror sync, before the sweep tests a recipe (docs/domain.md, "Warm canonicals and the
 * weekly sweep"). The recipe's Gitea mirror is made to follow its upstream exactly:
 *
 * - `main` is set to upstream's `main` (forced: a mirror main that diverged is overwritten);
 * - every upstream tag is on the mirror at the same object, a tag that moved upstream moves, and
 *   a tag upstream no longer has is **deleted** — "follows exactly": a release upstream withdrew
 *   must not be tested and promoted from the mirror;
 * - nothing else is pushed: the push names only `refs/heads/main` and `refs/tags/*` refspecs built
 *   from upstream's refs, no other branch of the mirror is read for writing, no commit is made;
 * - the push is atomic and every ref it changes is leased at the value read just before
 *   (`--force-with-lease=<ref>:<old>`, which is also what lets main and moved tags be forced; the
 *   refspecs carry no `+`, which would void the lease), so a concurrent push fails the sync
 *   instead of being overwritten; the mirror is read again after the push and must equal
 *   upstream, else the sync failed.
 *
 * Then, with the mirror's Gitea API, each open pull request into `main` is closed — with a
 * comment saying why — only when merging it into the synced main would change nothing: its head
 * is already an ancestor of main, or the clean merge of its head onto main (`git merge-tree
 * --write-tree`) has exactly main's tree. Every other PR is left open. A failure there is
 * reported (`prError`) but the mirror is synced, so the recipe may still be tested.
 *
 * A dry run reads both sides and decides everything, but pushes nothing and closes nothing.
 */
import { join } from 'node:path';
import { createMirrorGit, type MirrorGit, type RefMap } from '../adapters/git/git.js';
import { codeOf, errorMessage, InfraError, type ErrorCode } from '../errors.js';
import type { RunLogger } from '../tiers/types.js';
import { mirrorGitea, type MirrorGiteaConfig, type MirrorPull } from './mirror-gitea.js';

export type { MirrorGiteaConfig } from './mirror-gitea.js';

/** The branch that follows upstream; the only branch the sync ever writes. */
export const MIRROR_BRANCH = 'main';
const MAIN_REF = `refs/heads/${MIRROR_BRANCH}`;
/** Where the scratch repository keeps upstream's refs. */
const UP = 'refs/upstream/';
/** Where it keeps the mirror's PR heads (Gitea's hidden refs/pull/<n>/head). */
const PULLS = 'refs/mirror-pull/';

export interface SyncMirrorInput {
  readonly recipe: string;
  /** Upstream git URL or path (read only). */
  readonly upstream: string;
  /** The mirror's git URL or path (main and tags are pushed to it). */
  readonly mirror: string;
  /** The mirror's Gitea API; without it no PR is looked at. */
  readonly gitea?: MirrorGiteaConfig;
  /** A scratch directory the sync may fill (the caller removes it). */
  readonly workDir: string;
  readonly signal: AbortSignal;
  readonly log: RunLogger;
  /** Decide, push nothing, close nothing. */
  readonly dryRun?: boolean;
  readonly git?: MirrorGit;
  readonly fetchImpl?: typeof fetch;
}

export interface MirrorPrDecision {
  readonly number: number;
  readonly reason: string;
}

export interface MirrorSyncOutcome {
  /** The mirror's main and tags equal upstream's (after the push; in a dry run: nothing failed). */
  readonly synced: boolean;
  readonly dryRun: boolean;
  /** Upstream's main, which the mirror's main now is (null when upstream could not be read). */
  readonly main: string | null;
  readonly mainMoved: boolean;
  readonly tagsAdded: readonly string[];
  readonly tagsMoved: readonly string[];
  readonly tagsRemoved: readonly string[];
  /** PRs closed (in a dry run: that would be closed), each with the reason given in its comment. */
  readonly closedPrs: readonly MirrorPrDecision[];
  readonly keptPrs: readonly MirrorPrDecision[];
  /** Why the sync failed: the recipe must not be tested. */
  readonly error?: { readonly code: ErrorCode; readonly message: string };
  /** Why PR handling failed (the mirror itself is synced). */
  readonly prError?: { readonly code: ErrorCode; readonly message: string };
}

/** What must change on the mirror for it to equal upstream. */
interface SyncPlan {
  readonly main: string;
  readonly mainMoved: boolean;
  readonly added: string[];
  readonly moved: string[];
  readonly removed: string[];
  readonly refspecs: string[];
  /** ref → the id it must still have when the push lands ('' = must not exist). */
  readonly leases: Map<string, string>;
}

const short = (sha: string) => sha.slice(0, 10);
const tagsOf = (refs: RefMap, prefix: string) =>
  new Map(
    [...refs]
      .filter(([ref]) => ref.startsWith(`${prefix}refs/tags/`))
      .map(([ref, id]) => [ref.slice(`${prefix}refs/tags/`.length), id]),
  );

/** The push that makes `mirrorRefs` equal upstream's main and tags (refs in the scratch repo). */
export function planSync(upRefs: RefMap, mirrorRefs: RefMap): SyncPlan {
  const main = upRefs.get(`${UP}${MAIN_REF}`);
  if (!main) throw new InfraError('MIRROR_SYNC_FAILED', `upstream has no ${MIRROR_BRANCH} branch`);
  const up = tagsOf(upRefs, UP);
  const have = tagsOf(mirrorRefs, '');
  const plan: SyncPlan = {
    main,
    mainMoved: mirrorRefs.get(MAIN_REF) !== main,
    added: [],
    moved: [],
    removed: [],
    refspecs: [],
    leases: new Map(),
  };
  if (plan.mainMoved) {
    plan.refspecs.push(`${UP}${MAIN_REF}:${MAIN_REF}`);
    plan.leases.set(MAIN_REF, mirrorRefs.get(MAIN_REF) ?? '');
  }
  for (const [tag, id] of [...up].sort(([a], [b]) => a.localeCompare(b))) {
    const old = have.get(tag);
    if (old === id) continue;
    (old === undefined ? plan.added : plan.moved).push(tag);
    plan.refspecs.push(`${UP}refs/tags/${tag}:refs/tags/${tag}`);
    plan.leases.set(`refs/tags/${tag}`, old ?? '');
  }
  for (const [tag, old] of [...have].sort(([a], [b]) => a.localeCompare(b))) {
    if (up.has(tag)) continue;
    plan.removed.push(tag);
    plan.refspecs.push(`:refs/tags/${tag}`);
    plan.leases.set(`refs/tags/${tag}`, old);
  }
  return plan;
}

/** The mirror's refs differ from upstream's after the push: say the first difference. */
function mismatch(upRefs: RefMap, after: RefMap): string | null {
  const main = upRefs.get(`${UP}${MAIN_REF}`);
  if (after.get(MAIN_REF) !== main)
    return `${MIRROR_BRANCH} is ${after.get(MAIN_REF) ?? 'missing'}, upstream's is ${main}`;
  const up = tagsOf(upRefs, UP);
  const have = tagsOf(after, '');
  for (const [tag, id] of up)
    if (have.get(tag) !== id)
      return `tag ${tag} is ${have.get(tag) ?? 'missing'}, upstream's is ${id}`;
  for (const tag of have.keys()) if (!up.has(tag)) return `tag ${tag} is there, upstream has none`;
  return null;
}

/**
 * Push credentials for an http(s) mirror: Gitea takes a token as the basic-auth password
 * [G services/auth/basic.go]. Passed as GIT_CONFIG_* variables (git ≥ 2.31) scoped to the
 * mirror's URL, so the token is in no argv and is never sent to upstream.
 */
export function pushAuthEnv(mirror: string, gitea?: MirrorGiteaConfig): Record<string, string> {
  if (!gitea || !/^https?:\/\//i.test(mirror)) return {};
  const basic = Buffer.from(`cc-ci:${gitea.token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${mirror}.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

export async function syncMirror(input: SyncMirrorInput): Promise<MirrorSyncOutcome> {
  const { log } = input;
  const dryRun = input.dryRun ?? false;
  const git = input.git ?? createMirrorGit(undefined, pushAuthEnv(input.mirror, input.gitea));
  const dir = join(input.workDir, 'mirror-sync.git');
  const empty = {
    dryRun,
    mainMoved: false,
    tagsAdded: [],
    tagsMoved: [],
    tagsRemoved: [],
    closedPrs: [],
    keptPrs: [],
  };
  let plan: SyncPlan;
  try {
    plan = await pushPlan(git, dir, input, dryRun);
  } catch (err) {
    const message = `mirror sync of ${input.recipe} failed: ${errorMessage(err)}`;
    log.error(message);
    const code = codeOf(err) === 'ABORTED' ? 'ABORTED' : 'MIRROR_SYNC_FAILED';
    return { ...empty, synced: false, main: null, error: { code, message } };
  }
  const synced = {
    ...empty,
    synced: true,
    main: plan.main,
    mainMoved: plan.mainMoved,
    tagsAdded: plan.added,
    tagsMoved: plan.moved,
    tagsRemoved: plan.removed,
  };
  if (!input.gitea) return synced;
  try {
    return { ...synced, ...(await handlePulls(git, dir, input, plan.main, dryRun)) };
  } catch (err) {
    const message = `mirror PRs of ${input.recipe}: ${errorMessage(err)}`;
    log.warn(message);
    return { ...synced, prError: { code: 'MIRROR_PR_FAILED', message } };
  }
}

/** Read both sides, push what differs (unless a dry run), and check the mirror equals upstream. */
async function pushPlan(
  git: MirrorGit,
  dir: string,
  input: SyncMirrorInput,
  dryRun: boolean,
): Promise<SyncPlan> {
  const { signal, log } = input;
  await git.initBare(dir);
  await git.fetch(
    dir,
    input.upstream,
    [`+${MAIN_REF}:${UP}${MAIN_REF}`, `+refs/tags/*:${UP}refs/tags/*`],
    signal,
  );
  const upRefs = await git.localRefs(dir, UP);
  const plan = planSync(upRefs, await git.remoteRefs(input.mirror, signal));
  const what = [
    plan.mainMoved ? `${MIRROR_BRANCH} → ${short(plan.main)}` : '',
    plan.added.length ? `tags added: ${plan.added.join(', ')}` : '',
    plan.moved.length ? `tags moved: ${plan.moved.join(', ')}` : '',
    plan.removed.length ? `tags removed: ${plan.removed.join(', ')}` : '',
  ].filter(Boolean);
  if (plan.refspecs.length === 0) {
    log.info(`mirror already follows upstream (${MIRROR_BRANCH} ${short(plan.main)})`);
    return plan;
  }
  if (dryRun) {
    log.info(`mirror sync (dry run) would push: ${what.join('; ')}`);
    return plan;
  }
  await git.push(dir, input.mirror, plan.refspecs, plan.leases, signal);
  const wrong = mismatch(upRefs, await git.remoteRefs(input.mirror, signal));
  if (wrong) throw new InfraError('MIRROR_SYNC_FAILED', `after the push the mirror's ${wrong}`);
  log.info(`mirror synced: ${what.join('; ')}`);
  return plan;
}

/** Close each open PR into main whose merge would change nothing; keep every other. */
async function handlePulls(
  git: MirrorGit,
  dir: string,
  input: SyncMirrorInput,
  main: string,
  dryRun: boolean,
): Promise<Pick<MirrorSyncOutcome, 'closedPrs' | 'keptPrs'>> {
  const { signal, log } = input;
  const gitea = mirrorGitea(input.gitea!, input.fetchImpl);
  const pulls = await gitea.openPulls(signal);
  if (pulls.length) await git.fetch(dir, input.mirror, [`+refs/pull/*/head:${PULLS}*`], signal);
  const mainTree = await git.treeOf(dir, main);
  const closedPrs: MirrorPrDecision[] = [];
  const keptPrs: MirrorPrDecision[] = [];
  for (const pr of pulls) {
    const d = await decidePull(git, dir, { main, mainTree }, pr);
    if (!d.close) {
      keptPrs.push({ number: pr.number, reason: d.reason });
      continue;
    }
    if (!dryRun) {
      await gitea.comment(
        pr.number,
        `Closed by cc-ci's mirror sync: ${d.reason}, so merging it would change nothing. ` +
          `This mirror's ${MIRROR_BRANCH} follows upstream exactly; reopen the PR if this is wrong.`,
        signal,
      );
      await gitea.close(pr.number, signal);
    }
    log.info(`${dryRun ? 'would close' : 'closed'} mirror PR #${pr.number}: ${d.reason}`);
    closedPrs.push({ number: pr.number, reason: d.reason });
  }
  return { closedPrs, keptPrs };
}

/** Would merging this PR into `main` change nothing? */
export async function decidePull(
  git: MirrorGit,
  dir: string,
  m: { main: string; mainTree: string },
  pr: MirrorPull,
): Promise<{ close: boolean; reason: string }> {
  if (pr.baseRef !== MIRROR_BRANCH)
    return {
      close: false,
      reason: `it targets ${pr.baseRef || 'an unknown branch'}, not ${MIRROR_BRANCH}`,
    };
  if (!/^[0-9a-f]{40}$/.test(pr.headSha) || !(await git.hasCommit(dir, pr.headSha)))
    return { close: false, reason: `its head ${pr.headSha || '(none)'} is not in the mirror` };
  if (await git.isAncestor(dir, pr.headSha, m.main))
    return {
      close: true,
      reason: `its head ${short(pr.headSha)} is already in ${MIRROR_BRANCH} (${short(m.main)})`,
    };
  const tree = await git.mergeTree(dir, m.main, pr.headSha);
  if (tree === null) return { close: false, reason: `it conflicts with ${MIRROR_BRANCH}` };
  if (tree === m.mainTree)
    return {
      close: true,
      reason: `its changes are already in ${MIRROR_BRANCH} (${short(m.main)})`,
    };
  return { close: false, reason: `merging it would change ${MIRROR_BRANCH}` };
}
