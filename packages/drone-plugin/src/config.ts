/**
 * The only reader of process.env in the plugin: Drone's environment (build params, PLUGIN_*
 * settings, DRONE_* variables) and cc-ci's own variables, validated before any work starts.
 *
 * Drone passes build params as plain environment variables, so a param cannot be told apart from
 * any other variable by its name alone. cc-ci therefore accepts exactly the documented names
 * (PARAM_NAMES) and validates each value; the bridge only ever sends those names. Values must be
 * single-line, bounded, and of the documented charset.
 */
import { BUILD_PARAM_NAMES, PROXY_ENV_NAMES } from '@cc-ci/harness-core';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Build params cc-ci reads (docs/drone.md). */
export const PARAM_NAMES = BUILD_PARAM_NAMES;

/**
 * Variables whose presence in a step's environment means someone tried to override process
 * behaviour through a build param (Drone does not filter params against its restricted list).
 * A run refuses to start when any of them differs from the runner's own value.
 */
export const DANGEROUS_PARAM_NAMES = [
  'PATH',
  'HOME',
  'DOCKER_HOST',
  'DOCKER_OPTS',
  'XDG_RUNTIME_DIR',
  'LD_PRELOAD',
  'NODE_OPTIONS',
  'GIT_SSH_COMMAND',
] as const;

const singleLine = (max: number) =>
  z
    .string()
    .max(max, `longer than ${max} characters`)
    .refine((v) => !/[\r\n\0]/.test(v), 'contains a newline or NUL');

export const EnvSchema = z.object({
  RECIPE: singleLine(63).optional(),
  PR: singleLine(10).regex(/^\d*$/, 'must be a PR number').optional(),
  REF: singleLine(128).optional(),
  SRC: singleLine(512).optional(),
  STAGES: singleLine(200)
    .regex(/^[a-z,]*$/, 'must be a comma-separated list of stage names')
    .optional(),
  CCCI_QUICK: z.enum(['', '0', '1', 'true', 'false']).optional(),
  /** The bridge's idempotency key for the trigger behind this build (recorded, not acted on). */
  CCCI_TRIGGER: singleLine(128).optional(),
  /**
   * The per-run upload token the bridge derived for this build (docs/security.md); sent instead
   * of PLUGIN_RESULTS_TOKEN when present. Only its charset is checked here (the bridge verifies
   * it). A secret: never printed (messages never echo it).
   */
  CCCI_RUN_TOKEN: singleLine(128)
    .regex(/^[A-Za-z0-9._-]*$/, 'has characters a cc-ci run token never has')
    .optional(),
  CCCI_RUNS_DIR: singleLine(1024).optional(),
  CCCI_STATE_DIR: singleLine(1024).optional(),
  CCCI_CONFIG_DIR: singleLine(1024).optional(),
  PLUGIN_STAGES: singleLine(200).optional(),
  PLUGIN_DEPLOYER: z.enum(['docker', 'abra']).optional(),
  /** The isolation re-run (docs/isolation.md): auto = when a failed run shared the swarm. */
  PLUGIN_ISOLATION_RERUN: z.enum(['auto', 'on-failure', 'off']).optional(),
  PLUGIN_DOMAIN_SUFFIX: singleLine(200).optional(),
  PLUGIN_BRIDGE_URL: z.url().optional(),
  PLUGIN_RESULTS_TOKEN: singleLine(4096).optional(),
  PLUGIN_CONFIG_DIR: singleLine(1024).optional(),
  DRONE: z.string().optional(),
  DRONE_BUILD_NUMBER: singleLine(20).regex(/^\d+$/, 'must be a number').optional(),
  DRONE_BUILD_LINK: singleLine(1024).optional(),
});

export type PluginEnv = z.infer<typeof EnvSchema>;

export interface EnvProblem {
  readonly name: string;
  readonly message: string;
}

/** Parse the environment; returns every problem instead of stopping at the first. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): {
  env: PluginEnv;
  problems: EnvProblem[];
} {
  const parsed = EnvSchema.safeParse(env);
  const problems: EnvProblem[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push({ name: String(issue.path[0] ?? '?'), message: issue.message });
  }
  return { env: parsed.success ? parsed.data : ({} as PluginEnv), problems };
}

/**
 * In a Drone step every build param becomes an environment variable, and Drone does not check
 * param names against its restricted list (docs/platform-facts.md §3.5). A param named like a
 * process variable would silently change how cc-ci runs, so in Drone mode (DRONE=true):
 * - variables the pipeline never sets (LD_PRELOAD, NODE_OPTIONS, DOCKER_HOST, …) must be absent;
 * - PATH must equal CCCI_EXPECTED_PATH when the image declares it (docker/plugin.Dockerfile does).
 * Returns the offending names.
 */
export function overriddenProcessVars(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.DRONE !== 'true') return [];
  const bad = DANGEROUS_PARAM_NAMES.filter(
    (n) => n !== 'PATH' && n !== 'HOME' && env[n] !== undefined,
  );
  if (env.CCCI_EXPECTED_PATH !== undefined && env.PATH !== env.CCCI_EXPECTED_PATH) bad.push('PATH');
  return bad;
}

/** The directories of `env`'s PATH (where the default deployer looks for `abra`). */
export function pathDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PATH ?? '').split(':').filter(Boolean);
}

/**
 * The plugin image records its own ENV at build time (docker/plugin.Dockerfile) here. The path is
 * fixed: nothing in a step's environment can point cc-ci at another file.
 */
export const IMAGE_ENV_FILE = '/opt/cc-ci/image-env.json';

/** Settings (`PLUGIN_*`) the pipeline may give the step; anything else is refused in Drone mode. */
export const PLUGIN_SETTING_NAMES = [
  'PLUGIN_BRIDGE_URL',
  'PLUGIN_RESULTS_TOKEN',
  'PLUGIN_DOMAIN_SUFFIX',
  'PLUGIN_STAGES',
  'PLUGIN_DEPLOYER',
  'PLUGIN_ISOLATION_RERUN',
  'PLUGIN_ALLOWED_ENV',
] as const;

/** Variables the container runtime itself sets in every container. */
const RUNTIME_NAMES = new Set(['HOSTNAME', 'HOME', 'PWD', 'SHLVL', '_', 'TERM']);

/** The image's own ENV, or null when cc-ci does not run from the plugin image. */
export function readImageEnv(file: string = IMAGE_ENV_FILE): Record<string, string> | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const parsed = z.record(z.string(), z.string()).safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${file} is not a JSON map of strings; rebuild the image`);
  return Object.fromEntries(Object.entries(parsed.data).filter(([k]) => !RUNTIME_NAMES.has(k)));
}

/**
 * In the plugin image under Drone, a build param reaches the step as an environment variable and
 * wins over the image's ENV (docs/drone.md). So cc-ci takes its paths, PATH and directories from
 * the image only, and accepts no variable it does not know. Returns one problem per offending name:
 * - a variable of the image's ENV whose value differs (PATH, CCCI_STATE_DIR, CCCI_CONFIG_DIR, …);
 * - PLUGIN_* names that are not cc-ci settings (PLUGIN_CONFIG_DIR among them: the config dir
 *   comes from the image);
 * - any other name that is neither a build param, a Drone variable (DRONE_*, CI_*), a runtime
 *   variable, nor listed by the operator in the pipeline's `allowed_env` setting.
 */
export function imageEnvProblems(
  env: NodeJS.ProcessEnv,
  imageEnv: Readonly<Record<string, string>> | null,
): EnvProblem[] {
  if (env.DRONE !== 'true' || imageEnv === null) return [];
  const problems: EnvProblem[] = [];
  for (const [name, value] of Object.entries(imageEnv)) {
    if (env[name] !== value)
      problems.push({
        name,
        message: `differs from the plugin image's value (set by a build param or the step's environment); cc-ci takes ${name} from the image only`,
      });
  }
  const allowed = new Set<string>([
    ...Object.keys(imageEnv),
    ...BUILD_PARAM_NAMES,
    ...PLUGIN_SETTING_NAMES,
    ...RUNTIME_NAMES,
    // The runner passes its proxy settings to every step (drone-runner-docker's compiler).
    ...PROXY_ENV_NAMES,
    'CI',
    'DRONE',
    ...(env.PLUGIN_ALLOWED_ENV ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n && !n.startsWith('PLUGIN_') && !(n in imageEnv)),
  ]);
  for (const name of Object.keys(env)) {
    if (allowed.has(name) || name.startsWith('DRONE_') || name.startsWith('CI_')) continue;
    problems.push({
      name,
      message: name.startsWith('PLUGIN_')
        ? 'is not a cc-ci setting (a build param or an unknown settings key); see docs/drone.md'
        : 'is not a cc-ci build param; the step refuses unknown variables (an operator can list one in the allowed_env setting)',
    });
  }
  return problems;
}

/**
 * A secret from the operator's environment: `<NAME>` or `<NAME>_FILE` (a file holding it, e.g. a
 * systemd credential or Docker secret; one trailing newline is dropped). Both set is a problem, so
 * is an unreadable or empty file. The value is never put in a message.
 */
export function readSecret(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): { value: string | undefined; problem: string | undefined } {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && direct !== '' && file)
    return { value: undefined, problem: `${name} and ${name}_FILE are both set; keep one` };
  if (!file) return { value: direct || undefined, problem: undefined };
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    return {
      value: undefined,
      problem: `${name}_FILE: cannot read ${file}: ${(err as Error).message}`,
    };
  }
  if (!text || /[\r\n\0]/.test(text))
    return { value: undefined, problem: `${name}_FILE: ${file} is empty or not a single line` };
  return { value: text, problem: undefined };
}
