/**
 * Names: input validation for recipe names and refs, the app domain, the stack name (as abra
 * derives it), Docker object names within Docker's limits. Pure.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';

/**
 * A recipe name: 1–63 lowercase letters, digits and "-", starting with a letter or digit. The one
 * definition: the bridge (routes, OpenAPI, Drone params, the build watcher) and the plugin use it.
 * Unanchored source, for composing into larger patterns (e.g. `<recipe>.svg`) and JSON Schema.
 */
export const RECIPE_NAME_SOURCE = '[a-z0-9][a-z0-9-]{0,62}';
/** The anchored pattern (`^…$`), as a JSON Schema / OpenAPI `pattern` string. */
export const RECIPE_NAME_PATTERN = `^${RECIPE_NAME_SOURCE}$`;
const RECIPE_NAME = new RegExp(RECIPE_NAME_PATTERN);

/** Is `name` a valid recipe name (see RECIPE_NAME_SOURCE)? */
export function isRecipeName(name: string): boolean {
  return RECIPE_NAME.test(name);
}
const SHA = /^[0-9a-f]{7,40}$/;
// A release tag (`1.2.3+4.5`) or a plain tag/branch-like name: no "..", no leading "-",
// nothing a shell or git would read as syntax.
const TAG = /^(?!-)(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** abra: MAX_SANITISED_APP_NAME_LENGTH — stack names are cut to 45 characters. */
export const MAX_STACK_NAME_LENGTH = 45;
/** Docker limits secret and config names to 64 characters. */
export const MAX_OBJECT_NAME_LENGTH = 64;

export function validateRecipeName(name: string): string {
  if (!isRecipeName(name)) {
    throw new InputError(
      'BAD_RECIPE_NAME',
      `recipe name ${JSON.stringify(name)} is not valid: use 1–63 lowercase letters, digits and "-", starting with a letter or digit`,
    );
  }
  return name;
}

/** A ref to test: a 7–40 hex commit sha or a tag name. Anything else is refused. */
export function validateRef(ref: string): string {
  if (SHA.test(ref) || TAG.test(ref)) return ref;
  throw new InputError(
    'BAD_REF',
    `ref ${JSON.stringify(ref)} is not a commit sha (7–40 hex) or a tag name; pass the PR head sha or a release tag`,
  );
}

export function isCommitSha(ref: string): boolean {
  return SHA.test(ref);
}

/** `<recipe[:4]>-<6 hex of sha256(recipe|pr|ref|run)>.<suffix>` */
export function appDomain(input: {
  recipe: string;
  pr: number | null;
  ref: string;
  runId: string;
  suffix: string;
}): string {
  const digest = createHash('sha256')
    .update(`${input.recipe}|${input.pr ?? ''}|${input.ref}|${input.runId}`)
    .digest('hex')
    .slice(0, 6);
  return `${input.recipe.slice(0, 4)}-${digest}.${dnsSuffix(input.suffix)}`;
}

/** The domain suffix without leading or trailing dots, refused unless it is a DNS name. */
function dnsSuffix(raw: string): string {
  const suffix = raw.replace(/^\.+|\.+$/g, '');
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(suffix))
    throw new InputError('BAD_CONFIG', `domain suffix ${JSON.stringify(raw)} is not a DNS name`);
  return suffix;
}

/**
 * The domain of a warm deploy (a sweep run that may become the recipe's canonical): its own
 * namespace, `warm-<recipe>-<6 hex of recipe and version>.<suffix>`, apart from PR apps
 * (`<4 letters>-<6 hex>`) and from live services. One per release, so the next release's cold
 * run never lands on the canonical it may replace, and the same release always gets the same
 * domain (a collision check can name it before deploying).
 */
export function warmDomain(input: { recipe: string; version: string; suffix: string }): string {
  const digest = createHash('sha256')
    .update(`warm|${input.recipe}|${input.version}`)
    .digest('hex')
    .slice(0, 6);
  return `warm-${input.recipe.slice(0, 16).replace(/-+$/, '')}-${digest}.${dnsSuffix(input.suffix)}`;
}

/** The stack name abra derives from an app domain: dots become underscores, cut to 45 chars. */
export function stackName(domain: string): string {
  return domain.replace(/\./g, '_').slice(0, MAX_STACK_NAME_LENGTH);
}

/** `<stack>_<secret>_<version>`, refused when over Docker's 64-character limit. */
export function secretObjectName(stack: string, secret: string, version: string): string {
  const name = `${stack}_${secret}_${version}`;
  if (name.length > MAX_OBJECT_NAME_LENGTH) {
    throw new InputError(
      'NAME_TOO_LONG',
      `secret name ${name} is ${name.length} characters; Docker allows ${MAX_OBJECT_NAME_LENGTH}. Shorten the secret name in the recipe or use a shorter --domain-suffix`,
    );
  }
  return name;
}

/** A run id: the Drone build number, or a sortable local id. */
export function generateRunId(now: Date, random: string): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `local-${stamp}-${random.slice(0, 6)}`;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export function validateRunId(runId: string): string {
  if (!RUN_ID.test(runId)) {
    throw new InputError(
      'BAD_CONFIG',
      `run id ${JSON.stringify(runId)} is not valid (letters, digits, ".", "_", "-")`,
    );
  }
  return runId;
}
