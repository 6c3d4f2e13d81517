/**
 * The only reader of process.env in the plugin: Drone's environment (build params, PLUGIN_*
 * settings, DRONE_* variables) and cc-ci's own variables, validated before any work starts.
 *
 * Drone passes build params as plain environment variables, so a param cannot be told apart from
 * any other variable by its name alone. cc-ci therefore accepts exactly the documented names
 * (PARAM_NAMES) and validates each value; the bridge only ever sends those names. Values must be
 * single-line, bounded, and of the documented charset.
 */
import { BUILD_PARAM_NAMES } from '@cc-ci/harness-core';
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
  CCCI_RUNS_DIR: singleLine(1024).optional(),
  CCCI_STATE_DIR: singleLine(1024).optional(),
  CCCI_CONFIG_DIR: singleLine(1024).optional(),
  PLUGIN_STAGES: singleLine(200).optional(),
  PLUGIN_DEPLOYER: z.enum(['docker', 'abra']).optional(),
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
 * param names against its restricted list (gitea-drone-facts.md §3). A param named like a
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

/** Whether `abra` is on PATH (decides the default deployer). */
export function pathDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PATH ?? '').split(':').filter(Boolean);
}
