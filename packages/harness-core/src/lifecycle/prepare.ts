/**
 * Preparing a run, before anything exists on the swarm: validate the input, load the recipe's
 * CI config, check out the head, name the app, build its env and enforce the compose policy.
 * Every problem here is an InputError (exit 2) or a checkout failure; nothing is deployed.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import {
  appDomain,
  stackName,
  validateRecipeName,
  validateRunId,
  warmDomain,
} from '../domain/naming.js';
import { composeFiles, parseAbraShExports, parseEnvFile } from '../domain/env-file.js';
import { Redactor, displayUrl, urlCredentials } from '../domain/redactor.js';
import { TIER_NAMES } from '../domain/results.js';
import {
  checkComposePolicyOnDisk,
  composePolicyError,
  formatAllowedExceptions,
} from '../domain/compose-policy.js';
import { readComposeFiles } from '../deployers/compose-files.js';
import { reservedEnvNames } from '../adapters/process/host-env.js';
import { loadRecipeConfig, type LoadedRecipeConfig } from '../config/recipe-config.js';
import { checkoutRecipe } from '../recipe/checkout.js';
import type { Git } from '../adapters/git/git.js';
import type { RecipeCheckout } from '../ports/deployer.js';
import type { RunLogger, UpgradeBase } from '../tiers/types.js';
import { FileRunLogger } from './run-logger.js';
import type { RunDeps, RunOptions } from './types.js';

const LOCAL_SUFFIXES = /^(ci\.)?localhost$|\.localhost$/;

export interface PreparedRun {
  readonly config: LoadedRecipeConfig;
  readonly redactor: Redactor;
  readonly log: RunLogger;
  readonly head: RecipeCheckout;
  /** What was asked for (the commit when no ref was given). */
  readonly ref: string;
  readonly domain: string;
  readonly stack: string;
  /** The head's deploy env: .env.sample, abra.sh exports, the names, the config's extra env. */
  readonly env: Readonly<Record<string, string>>;
  readonly overlays: readonly string[];
}

/** Input checks that need no file: recipe name, run id, stages. */
export function validateOptions(options: RunOptions): void {
  validateRecipeName(options.recipe);
  validateRunId(options.runId);
  for (const s of options.stages) {
    if (!TIER_NAMES.includes(s))
      throw new InputError('BAD_STAGES', `unknown stage "${s}"; valid: ${TIER_NAMES.join(',')}`);
  }
}

/**
 * Where a run's app lives when it is not a domain of its own: a quick run's warm canonical
 * (quick.ts), chosen once the head is checked out; null runs on the run's own domain.
 */
export type RunTarget = (
  head: RecipeCheckout,
  config: LoadedRecipeConfig,
  log: RunLogger,
) => Promise<{ readonly domain: string; readonly stack: string } | null>;

export async function prepareRun(
  options: RunOptions,
  deps: RunDeps,
  git: Git,
  now: () => Date,
  target?: RunTarget,
): Promise<PreparedRun> {
  validateOptions(options);
  const config = await loadRecipeConfig(options.configDir, options.recipe);
  await mkdir(options.outDir, { recursive: true });

  const redactor = new Redactor();
  // Credentials in a --src URL never reach run.log, the console or any artifact.
  for (const credential of urlCredentials(options.src))
    if (credential.length >= 6) redactor.add('src-credentials', credential);
  const log = new FileRunLogger(join(options.outDir, 'run.log'), redactor, deps.log, {}, now);

  log.info(
    `cc-ci run ${options.runId}: recipe ${options.recipe} from ${displayUrl(options.src)}${options.ref ? ` at ${options.ref}` : ' (working tree)'}`,
  );
  const head = await checkoutRecipe(git, {
    recipe: options.recipe,
    src: options.src,
    ref: options.ref,
    dir: options.outDir,
    signal: deps.signal,
  });
  log.info(
    `checked out ${head.commit.slice(0, 12)}${head.dirty ? ' (+ uncommitted changes)' : ''}, version ${head.version ?? 'unknown'}, ${head.releases.length} release tag(s)`,
  );
  const ref = options.ref ?? head.commit;
  // A quick run's warm canonical; a deploy that may stay warm gets the warm namespace (checked
  // against live services before the run takes its lock); every other run a domain of its own.
  const chosen = target ? await target(head, config, log) : null;
  const domain =
    chosen?.domain ??
    (options.keepWarm && head.version
      ? warmDomain({ recipe: options.recipe, version: head.version, suffix: options.domainSuffix })
      : appDomain({
          recipe: options.recipe,
          pr: options.pr,
          ref,
          runId: options.runId,
          suffix: options.domainSuffix,
        }));
  const stack = chosen?.stack ?? stackName(domain);
  const env = await checkoutEnv(head.dir, config, options, domain, stack);
  await enforceComposePolicy(head.dir, composeFiles(env), config, log);
  return {
    config,
    redactor,
    log,
    head,
    ref,
    domain,
    stack,
    env,
    overlays: config.overlay ? [config.overlay] : [],
  };
}

/**
 * A checkout's deploy env as a run deploys it as the head: .env.sample, abra.sh exports, the
 * names, then the CI config's extra env (a quick run rebuilds its canonical's env with it).
 */
export async function checkoutEnv(
  dir: string,
  config: LoadedRecipeConfig,
  options: Pick<RunOptions, 'recipe' | 'domainSuffix'>,
  domain: string,
  stack: string,
): Promise<Record<string, string>> {
  const { envSample, abraShExports } = await readRecipeEnv(dir);
  const configName = config.file ?? `recipes/${options.recipe}/cc-ci.yml`;
  refuseReservedEnv({
    '.env.sample': envSample.map((e) => e.key),
    'abra.sh': abraShExports.map((e) => e.key),
    [`${configName} extra_env`]: Object.keys(config.extraEnv),
    [`${configName} upgrade_extra_env`]: Object.keys(config.upgradeExtraEnv),
  });
  const recipeEnv: Record<string, string> = Object.fromEntries(
    [...envSample, ...abraShExports].map((e) => [e.key, e.value]),
  );
  return {
    ...recipeEnv,
    DOMAIN: domain,
    STACK_NAME: stack,
    LETS_ENCRYPT_ENV:
      recipeEnv.LETS_ENCRYPT_ENV && !LOCAL_SUFFIXES.test(options.domainSuffix)
        ? recipeEnv.LETS_ENCRYPT_ENV
        : 'staging',
    ...config.extraEnv,
  };
}

/**
 * The upgrade base deploys as abra deploys a release: the exports of its own abra.sh (config
 * and secret versions of that release) over the head's env, then `upgrade_extra_env`; its
 * compose files pass the same policy as the head's.
 */
export async function baseEnv(
  prepared: PreparedRun,
  base: UpgradeBase,
): Promise<Record<string, string>> {
  const exports = (await readRecipeEnv(base.base.dir)).abraShExports;
  refuseReservedEnv({ [`abra.sh of ${base.base.version}`]: exports.map((e) => e.key) });
  const env = {
    ...prepared.env,
    ...Object.fromEntries(exports.map((e) => [e.key, e.value])),
    ...base.env,
  };
  await enforceComposePolicy(base.base.dir, composeFiles(env), prepared.config, prepared.log);
  return env;
}

/**
 * Recipe env names that would steer a host process (PATH, DOCKER_HOST, LD_PRELOAD, ...) stop the
 * run before anything is created; the message names each file and name (docs/security.md).
 */
function refuseReservedEnv(namesBySource: Record<string, readonly string[]>): void {
  const problems = Object.entries(namesBySource).flatMap(([source, names]) => {
    const reserved = reservedEnvNames(names);
    return reserved.length ? [`${source} sets ${reserved.join(', ')}`] : [];
  });
  if (problems.length === 0) return;
  throw new InputError(
    'RECIPE_ENV_RESERVED',
    `${problems.join('; ')}: these names steer the programs cc-ci runs on the host (docker, git, hooks) and a recipe may not set them; rename the variable (see docs/security.md, "Child processes")`,
  );
}

/** A checkout's `.env.sample` and the static exports of its `abra.sh` (read as text, never run). */
async function readRecipeEnv(dir: string) {
  const readText = async (file: string) => readFile(join(dir, file), 'utf8').catch(() => '');
  return {
    envSample: parseEnvFile(await readText('.env.sample')),
    abraShExports: parseAbraShExports(await readText('abra.sh')),
  };
}

/**
 * The compose policy (docs/security.md), before any object exists: COMPOSE_FILE entries are
 * confined to the checkout before a file is read, then the recipe's own compose files (not the
 * operator's CI overlay) are checked; exceptions come only from recipes/<name>/cc-ci.yml.
 */
async function enforceComposePolicy(
  checkoutDir: string,
  files: readonly string[],
  config: LoadedRecipeConfig,
  log: RunLogger,
): Promise<void> {
  const common = {
    checkoutDir,
    composeFiles: files,
    exceptions: config.composePolicyExceptions,
  };
  const configFile = config.file ?? undefined;
  const entries = await checkComposePolicyOnDisk({ ...common, docs: [] });
  if (entries.violations.length) throw composePolicyError(entries.violations, configFile);
  const docs = await readComposeFiles(files.map((f) => resolve(checkoutDir, f)));
  const result = await checkComposePolicyOnDisk({ ...common, docs });
  for (const line of formatAllowedExceptions(result.allowed, configFile)) log.info(line);
  if (result.violations.length) throw composePolicyError(result.violations, configFile);
}
