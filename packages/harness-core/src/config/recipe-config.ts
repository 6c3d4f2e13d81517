/**
 * Per-recipe CI configuration: `<config dir>/<recipe>/cc-ci.yml`, validated by a strict schema.
 * Unknown keys and wrong types are rejected at load time, naming the file and the key.
 * docs/recipe-config.md is generated from this schema (`npm run docs:generate`).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { TIER_NAMES } from '../domain/results.js';
import { COMPOSE_POLICY_RULES, type ComposePolicyException } from '../domain/compose-policy.js';
import type { RecipeCiConfigView } from '../tiers/types.js';

const envRecord = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env names are letters, digits, _'),
  z.string(),
);

export const RecipeConfigSchema = z
  .object({
    health_path: z
      .string()
      .regex(/^\/[^\s]*$/, 'must start with "/" and contain no spaces')
      .default('/')
      .describe('Path probed over HTTP to decide that the app answers.'),
    accepted_codes: z
      .array(z.number().int().min(100).max(599))
      .min(1)
      .default([200, 301, 302])
      .describe('HTTP status codes that count as "the app answers".'),
    deploy_timeout_s: z
      .number()
      .int()
      .positive()
      .max(3600)
      .default(300)
      .describe('Seconds to wait for every service to converge N/N after a deploy.'),
    http_timeout_s: z
      .number()
      .int()
      .positive()
      .max(1800)
      .default(60)
      .describe('Seconds to wait for the health path to answer once services converged.'),
    extra_env: envRecord
      .default({})
      .describe('Env added to (or overriding) `.env.sample` for every deploy.'),
    upgrade_extra_env: envRecord
      .default({})
      .describe(
        'Env added for the upgrade *base* deploy only (e.g. a setting the old release needs).',
      ),
    upgrade_paths: z
      .number()
      .int()
      .min(1)
      .max(5)
      .default(1)
      .describe(
        'How many upgrade paths to test: the head is upgraded from each of the N newest releases older than it (oldest first), each from a fresh deploy with seeded data; the upgrade passes only when every path does.',
      ),
    skip: z
      .partialRecord(z.enum(TIER_NAMES), z.string().min(3, 'give a reason'))
      .default({})
      .describe(
        'Intentional skips: tier name → reason. A skipped tier is climbed past by the level ladder.',
      ),
    backup: z
      .boolean()
      .optional()
      .describe('Force backup capability on or off; unset = decided by backupbot labels.'),
    backup_verify: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'A probe (argument array) run in the backed-up service’s container after each backup; a non-zero exit takes the backup again (3 attempts in all).',
      ),
    data_probe: z
      .object({
        service: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a service name of the recipe')
          .describe('the service whose running container runs both commands'),
        write: z.array(z.string().min(1)).min(1),
        read: z.array(z.string().min(1)).min(1),
      })
      .strict()
      .optional()
      .describe(
        'Rows in the app’s own store (a database) that upgrade, backup and restore must keep: `{service, write, read}`. `write` (argument array, run in the service’s container) stores the token cc-ci appends as its last argument; `read` prints every stored token, one per line. The upgrade checks a token written on the old release; the restore checks that a token written before the backup is back and one written after it is gone. See docs/tiers/backup-restore.md.',
      ),
    install_hook: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'A command (argument array, run in the recipe checkout, no shell) run before the deploy.',
      ),
    isolation_rerun: z
      .boolean()
      .default(true)
      .describe(
        'Allow the isolation re-run: a failed run re-run once alone on the swarm and labelled genuine, flaky or changed (docs/isolation.md). `false` turns it off for this recipe.',
      ),
    warm_canonical: z
      .boolean()
      .default(false)
      .describe('Keep a warm canonical deploy of the last green release (weekly sweep).'),
    compose_policy_exceptions: z
      .array(
        z
          .object({
            service: z.string().min(1),
            key: z.enum(COMPOSE_POLICY_RULES),
            value: z.string().min(1).optional(),
            reason: z.string().min(3, 'give a reason'),
          })
          .strict(),
      )
      .default([])
      .describe(
        `Settings the compose policy would refuse, allowed for this recipe: \`{service, key, value?, reason}\`; \`key\` is a rule (${COMPOSE_POLICY_RULES.join(', ')}), \`value\` the exact mount source, capability or path (unset = any). See docs/security.md, "Compose policy".`,
      ),
  })
  .strict();

export type RecipeConfig = z.infer<typeof RecipeConfigSchema>;

export const CONFIG_FILE_NAME = 'cc-ci.yml';
export const CI_OVERLAY_FILE_NAME = 'compose.ccci.yml';

export interface LoadedRecipeConfig extends RecipeCiConfigView {
  readonly raw: RecipeConfig;
  /** The CI-only compose overlay, when the config dir has one. */
  readonly overlay: string | null;
  readonly installHook: readonly string[] | null;
  readonly warmCanonical: boolean;
  /** May a failed run be re-run alone (cc-ci.yml `isolation_rerun`)? */
  readonly isolationRerun: boolean;
  /** Operator exceptions to the compose policy (docs/security.md, "Compose policy"). */
  readonly composePolicyExceptions: readonly ComposePolicyException[];
  readonly file: string | null;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Validate a parsed config object; `file` is named in every error. */
export function parseRecipeConfig(value: unknown, file: string): RecipeConfig {
  const parsed = RecipeConfigSchema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const key = issue.path.join('.') || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${[...issue.path, k].join('.')}"`).join(', ')}`;
    }
    return `"${key}": ${issue.message}`;
  });
  throw new InputError('BAD_CONFIG', `${file}: ${problems.join('; ')} (see docs/recipe-config.md)`);
}

export async function loadRecipeConfig(
  configDir: string,
  recipe: string,
): Promise<LoadedRecipeConfig> {
  const dir = join(configDir, recipe);
  const file = join(dir, CONFIG_FILE_NAME);
  const hasDir = await exists(dir);
  let raw: RecipeConfig;
  if (await exists(file)) {
    let value: unknown;
    try {
      value = parseYaml(await readFile(file, 'utf8'));
    } catch (err) {
      throw new InputError('BAD_CONFIG', `${file}: not valid YAML: ${String(err)}`);
    }
    raw = parseRecipeConfig(value, file);
  } else {
    raw = parseRecipeConfig({}, file);
  }
  const overlay = join(dir, CI_OVERLAY_FILE_NAME);
  return {
    raw,
    file: (await exists(file)) ? file : null,
    dir: hasDir ? dir : null,
    overlay: (await exists(overlay)) ? overlay : null,
    healthPath: raw.health_path,
    acceptedCodes: raw.accepted_codes,
    deployTimeoutS: raw.deploy_timeout_s,
    httpTimeoutS: raw.http_timeout_s,
    extraEnv: raw.extra_env,
    upgradeExtraEnv: raw.upgrade_extra_env,
    upgradePaths: raw.upgrade_paths,
    skip: raw.skip,
    backup: raw.backup,
    backupVerify: raw.backup_verify,
    dataProbe: raw.data_probe,
    installHook: raw.install_hook ?? null,
    warmCanonical: raw.warm_canonical,
    isolationRerun: raw.isolation_rerun,
    composePolicyExceptions: raw.compose_policy_exceptions,
  };
}
