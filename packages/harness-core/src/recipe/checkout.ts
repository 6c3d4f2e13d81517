/**
 * Bring a recipe at a ref into a per-run directory and describe it (RecipeCheckout).
 *
 * - SRC is a git URL or a local path. A local path without a ref is tested as its working tree
 *   as it is (copied, so the run never touches the maintainer's checkout); `dirty` is then
 *   true when it differs from HEAD.
 * - REF must be a commit sha or a tag that resolves to a commit; anything else is an InputError
 *   raised before anything is deployed.
 */
import { cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { InputError } from '../errors.js';
import type { Git } from '../adapters/git/git.js';
import type { RecipeCheckout } from '../ports/deployer.js';
import { validateRef } from '../domain/naming.js';
import { displayUrl } from '../domain/redactor.js';
import {
  sortReleases,
  versionLabelFromCompose,
  isReleaseTag,
  compareVersions,
} from '../domain/versions.js';

export interface CheckoutRequest {
  readonly recipe: string;
  readonly src: string;
  readonly ref?: string | undefined;
  /** Directory to create the checkout in (must not exist yet). */
  readonly dir: string;
  readonly signal?: AbortSignal;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function checkoutRecipe(git: Git, req: CheckoutRequest): Promise<RecipeCheckout> {
  if (/[\n\r\0]/.test(req.src) || req.src.startsWith('-')) {
    throw new InputError(
      'BAD_SRC',
      `SRC ${JSON.stringify(displayUrl(req.src))} is not a git URL or path`,
    );
  }
  if (req.ref !== undefined) validateRef(req.ref);
  const local = !/^[a-z][a-z0-9+.-]*:\/\//i.test(req.src) && !/^[^/]+@[^/]+:/.test(req.src);
  if (local && !(await isDirectory(req.src))) {
    throw new InputError(
      'BAD_SRC',
      `SRC ${JSON.stringify(req.src)} is neither a git URL nor an existing directory`,
    );
  }
  await mkdir(req.dir, { recursive: true });
  const dir = join(req.dir, 'recipe');
  const localIsRepo = local && (await isDirectory(join(req.src, '.git')));

  let commit: string;
  let dirty = false;
  if (local && req.ref === undefined) {
    // The working tree as it is (uncommitted edits included).
    // `cd my-recipe && cc-ci run .` puts the run directory (and the runs root beside earlier
    // runs) inside the tree being copied: never copy them into themselves.
    const source = resolve(req.src);
    const inside = (p: string, root: string) => p === root || p.startsWith(root + sep);
    const skipped = [resolve(req.dir), dirname(resolve(req.dir))].filter(
      (p) => p !== source && inside(p, source),
    );
    const filter = (p: string) =>
      !p.includes('/node_modules/') && !skipped.some((s) => inside(resolve(p), s));
    if (skipped.length === 0) await cp(source, dir, { recursive: true, filter });
    else {
      // fs.cp refuses a destination inside its source before filtering: stage it outside.
      const staging = await mkdtemp(join(tmpdir(), 'ccci-checkout-'));
      try {
        await cp(source, join(staging, 'recipe'), { recursive: true, filter });
        await cp(join(staging, 'recipe'), dir, { recursive: true });
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    }
    if (!localIsRepo) {
      throw new InputError(
        'BAD_SRC',
        `${req.src} is not a git repository; cc-ci needs the recipe's history (run "git init && git commit" first)`,
      );
    }
    const head = await git.resolveCommit(dir, 'HEAD');
    if (!head)
      throw new InputError('BAD_SRC', `${req.src} has no commits yet; commit the recipe first`);
    commit = head;
    dirty = await git.isDirty(dir);
  } else {
    await git.clone(local ? resolve(req.src) : req.src, dir, req.signal);
    const ref = req.ref ?? 'HEAD';
    const sha = await git.resolveCommit(dir, ref);
    if (!sha) {
      throw new InputError(
        'BAD_REF',
        `ref ${JSON.stringify(ref)} does not name a commit or tag in ${displayUrl(req.src)}`,
      );
    }
    await git.checkout(dir, sha);
    commit = sha;
  }

  const tags = await git.tags(dir);
  const releases = sortReleases(tags);
  const atHead = (await git.tagsAt(dir, commit)).filter(isReleaseTag).sort(compareVersions);
  let composeText = '';
  try {
    composeText = await readFile(join(dir, 'compose.yml'), 'utf8');
  } catch {
    throw new InputError(
      'NOT_A_RECIPE',
      `${displayUrl(req.src)} has no compose.yml at ${commit.slice(0, 8)}; is it a Co-op Cloud recipe?`,
    );
  }
  const version = (!dirty && atHead.at(-1)) || versionLabelFromCompose(composeText);
  return { name: req.recipe, dir, commit, dirty, version, releases };
}
