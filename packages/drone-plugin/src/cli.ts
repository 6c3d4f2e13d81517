/**
 * `cc-ci` command-line grammar: flags win over Drone params/env, every problem is reported at
 * once, and bad input exits 2 before anything is deployed.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { basename, dirname, join, resolve } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  TIER_NAMES,
  findOnPath,
  type IsolationPolicy,
  type TierName,
  validateRecipeName,
  validateRef,
  validateRunId,
} from '@cc-ci/harness-core';
import {
  type EnvProblem,
  type PluginEnv,
  imageEnvProblems,
  overriddenProcessVars,
  pathDirs,
  readEnv,
  readImageEnv,
  readSecret,
} from './config.js';

export class UsageError extends Error {}

export interface RunCommand {
  readonly kind: 'run';
  readonly recipe: string;
  readonly src: string;
  readonly ref: string | undefined;
  readonly pr: number | null;
  readonly stages: TierName[];
  readonly quick: boolean;
  readonly outDir: string | undefined;
  readonly runsDir: string;
  readonly runId: string | undefined;
  readonly configDir: string;
  readonly deployer: 'docker' | 'abra';
  readonly domainSuffix: string;
  readonly stateDir: string;
  readonly buildLink: string | undefined;
  readonly bridgeUrl: string | undefined;
  /**
   * The Bearer token for progress and results uploads: the build's own CCCI_RUN_TOKEN (the only
   * one the bridge accepts for a run it started), else PLUGIN_RESULTS_TOKEN (builds the bridge
   * did not start). Never printed.
   */
  readonly uploadToken: string | undefined;
  readonly janitor: boolean;
  /** When a failed run is re-run alone (docs/isolation.md). */
  readonly isolation: IsolationPolicy;
}

export interface JanitorCommand {
  readonly kind: 'janitor';
  readonly dryRun: boolean;
  readonly stateDir: string;
}

export interface PruneCommand {
  readonly kind: 'prune';
  readonly dryRun: boolean;
  readonly stateDir: string;
  readonly minFreeGiB: number;
  readonly minFreePercent: number;
  readonly imageMinAgeHours: number;
}

export interface VipGuardCommand {
  readonly kind: 'vip-guard';
  readonly dryRun: boolean;
  readonly stateDir: string;
  readonly proxyNetwork: string;
  readonly pruneNetworks: boolean;
  /** argv that restarts dockerd, or null (never restart). */
  readonly restartDaemon: readonly string[] | null;
}

export interface SweepCommand {
  readonly kind: 'sweep';
  readonly dryRun: boolean;
  /** Where recipe repositories live: `<base>/<recipe>` (a directory) or `<base>/<recipe>.git` (a URL). */
  readonly srcBase: string;
  /** Only these recipes (default: every recipe with warm_canonical: true in the config dir). */
  readonly only: readonly string[];
  readonly configDir: string;
  readonly runsDir: string;
  readonly stateDir: string;
  readonly domainSuffix: string;
  /**
   * Set when the repositories under srcBase are mirrors: `<upstreamBase>/<recipe>` (a directory)
   * or `<upstreamBase>/<recipe>.git` (a URL) is each one's upstream, synced first.
   */
  readonly upstreamBase: string | undefined;
  /** The mirrors' Gitea (PRs of `<owner>/<recipe>` are closed when merged upstream). */
  readonly gitea:
    { readonly url: string; readonly owner: string; readonly token: string } | undefined;
  /** A failed release run is re-run alone unless `--no-isolation` (docs/isolation.md). */
  readonly isolation: IsolationPolicy;
}

export type Command =
  | SweepCommand
  | RunCommand
  | JanitorCommand
  | PruneCommand
  | VipGuardCommand
  | { kind: 'help' }
  | { kind: 'version' };

export const USAGE = `usage:
  cc-ci run [PATH] [--recipe NAME] [--src GIT_URL_OR_PATH] [--ref COMMIT_OR_TAG] [--pr N]
            [--stages install,upgrade,backup,restore,custom,lint] [--quick] [--out DIR]
            [--config-dir DIR] [--deployer docker|abra] [--domain-suffix SUFFIX] [--no-janitor]
            [--isolate-on-failure | --no-isolation]
  cc-ci janitor [--dry-run]
  cc-ci prune [--dry-run] [--min-free-gib N] [--min-free-percent N] [--image-min-age-hours N]
  cc-ci sweep [--dry-run] [--src-base URL_OR_DIR] [--recipe NAME]... [--config-dir DIR]
              [--domain-suffix SUFFIX] [--upstream-base URL_OR_DIR]
              [--gitea-url URL] [--gitea-owner OWNER] [--no-isolation]
  cc-ci vip-guard [--dry-run] [--proxy-network NAME] [--prune-networks] [--restart-daemon]
  cc-ci --help | --version

Exit codes: 0 verdict pass, 1 verdict fail, 2 bad input or configuration, 3 infrastructure error.
In a Drone step the flags may come from build params (RECIPE, SRC, REF, PR, STAGES, CCCI_QUICK)
and settings (PLUGIN_*); see docs/cli.md and docs/drone.md.`;

/** The repository's recipes/ directory, found relative to this installed package. */
export function defaultConfigDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [
    join(here, '..', '..', '..', 'recipes'),
    join(here, '..', 'recipes'),
    '/opt/cc-ci/recipes',
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  return join(here, '..', '..', '..', 'recipes');
}

function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.CCCI_STATE_DIR) return env.CCCI_STATE_DIR;
  return process.getuid?.() === 0
    ? '/var/lib/cc-ci'
    : join(env.HOME ?? '/tmp', '.local', 'state', 'cc-ci');
}

/** A subcommand's parser: its arguments (after the subcommand) and the environment. */
type SubcommandParser = (rest: readonly string[], rawEnv: NodeJS.ProcessEnv) => Command;

/** Every subcommand and its parser. */
const SUBCOMMANDS: ReadonlyMap<string, SubcommandParser> = new Map<string, SubcommandParser>([
  ['run', (rest, rawEnv) => parseRun(rest, rawEnv)],
  ['janitor', (rest, rawEnv) => parseJanitor(rest, rawEnv)],
  ['prune', (rest, rawEnv) => parseHostCare('prune', rest, rawEnv)],
  ['vip-guard', (rest, rawEnv) => parseHostCare('vip-guard', rest, rawEnv)],
  ['sweep', (rest, rawEnv) => parseSweep(rest, rawEnv)],
]);

export function parseCommand(argv: readonly string[], rawEnv: NodeJS.ProcessEnv): Command {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') return { kind: 'help' };
  if (sub === '--version') return { kind: 'version' };
  const parse = SUBCOMMANDS.get(sub);
  if (!parse) throw new UsageError(`unknown command "${sub}"\n\n${USAGE}`);
  return parse(rest, rawEnv);
}

/** A value parsed from the command line or the environment, and what is wrong with it. */
interface Checked<T> {
  readonly value: T;
  readonly problems: readonly string[];
}

/** The message of what `check` throws, as a list of problems (empty when it passes). */
function thrownProblems(check: () => void): string[] {
  try {
    check();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** `cc-ci janitor [--dry-run]`. */
function parseJanitor(rest: readonly string[], rawEnv: NodeJS.ProcessEnv): JanitorCommand {
  const values = parseFlags(rest, { 'dry-run': { type: 'boolean' } });
  return {
    kind: 'janitor',
    dryRun: Boolean(values['dry-run']),
    stateDir: defaultStateDir(rawEnv),
  };
}

const RUN_OPTIONS = {
  recipe: { type: 'string' },
  src: { type: 'string' },
  ref: { type: 'string' },
  pr: { type: 'string' },
  stages: { type: 'string' },
  quick: { type: 'boolean' },
  out: { type: 'string' },
  'config-dir': { type: 'string' },
  deployer: { type: 'string' },
  'domain-suffix': { type: 'string' },
  'run-id': { type: 'string' },
  'no-janitor': { type: 'boolean' },
  'isolate-on-failure': { type: 'boolean' },
  'no-isolation': { type: 'boolean' },
} as const;

/** parseArgs for `cc-ci run`: its flags and the recipe path; a bad flag is a UsageError. */
function parseRunFlags(rest: readonly string[]) {
  try {
    return parseArgs({
      args: [...rest],
      allowPositionals: true,
      strict: true,
      options: RUN_OPTIONS,
    });
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  }
}

type RunFlags = ReturnType<typeof parseRunFlags>['values'];

/**
 * What is wrong with the process environment: the plugin's own variables, then (inside the
 * plugin image) every variable that differs from the image's, or (outside it) the process
 * variables a build param overrode.
 */
function environmentProblems(
  rawEnv: NodeJS.ProcessEnv,
  envProblems: readonly EnvProblem[],
): string[] {
  const problems = envProblems.map((p) => `${p.name}: ${p.message}`);
  // Inside the plugin image its recorded ENV is the reference (it also refuses every unknown
  // name); outside it, the process variables a param must never set.
  const imageEnv = readImageEnv();
  if (imageEnv) {
    for (const p of imageEnvProblems(rawEnv, imageEnv)) problems.push(`${p.name} ${p.message}`);
  } else {
    for (const name of overriddenProcessVars(rawEnv)) {
      problems.push(
        `${name} is set by a build param or differs from the image's; cc-ci refuses to run with an overridden ${name}`,
      );
    }
  }
  return problems;
}

/** What the run tests: the recipe's source, its name and the ref (a path argument names the recipe). */
interface RunSource {
  readonly path: string | undefined;
  readonly src: string | undefined;
  readonly recipe: string | undefined;
  readonly ref: string | undefined;
}

/** The recipe's source, name and ref from the path argument, the flags or the params. */
function parseSource(
  positionals: readonly string[],
  values: RunFlags,
  env: PluginEnv,
): Checked<RunSource> {
  const problems: string[] = [];
  if (positionals.length > 1)
    problems.push(`expected at most one recipe path, got ${positionals.length}`);
  const path = positionals[0];
  const src = path ?? values.src ?? env.SRC;
  if (!src)
    problems.push('no recipe source: pass a path (cc-ci run ./my-recipe), --src, or the SRC param');
  const recipe = values.recipe ?? env.RECIPE ?? (path ? basename(resolve(path)) : undefined);
  if (!recipe) problems.push('no recipe name: pass --recipe or the RECIPE param');
  else problems.push(...thrownProblems(() => validateRecipeName(recipe)));
  const ref = values.ref ?? (env.REF || undefined);
  if (ref !== undefined) problems.push(...thrownProblems(() => validateRef(ref)));
  if (!ref && !path && src && /^[a-z][a-z0-9+.-]*:\/\//i.test(src)) {
    problems.push('a git URL needs --ref (or the REF param): the commit or tag to test');
  }
  return { value: { path, src, recipe, ref }, problems };
}

/** `--pr` / PR: a PR number, or null when not given. */
function parsePr(prRaw: string | undefined): Checked<number | null> {
  if (prRaw === undefined) return { value: null, problems: [] };
  if (!/^[1-9]\d{0,9}$/.test(prRaw))
    return { value: null, problems: [`--pr ${JSON.stringify(prRaw)} is not a PR number`] };
  return { value: Number(prRaw), problems: [] };
}

/** `--stages` / STAGES: a comma-separated list of tiers; every tier when not given. */
function parseStages(stagesRaw: string | undefined): Checked<TierName[]> {
  if (stagesRaw === undefined) return { value: [...TIER_NAMES], problems: [] };
  const list = stagesRaw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = list.filter((s) => !(TIER_NAMES as readonly string[]).includes(s));
  if (unknown.length || list.length === 0) {
    return {
      value: [...TIER_NAMES],
      problems: [
        `--stages ${JSON.stringify(stagesRaw)}: unknown stage(s) ${unknown.join(', ') || '(none given)'}; valid: ${TIER_NAMES.join(',')}`,
      ],
    };
  }
  return { value: list as TierName[], problems: [] };
}

/** `--deployer` / PLUGIN_DEPLOYER; when not given, abra if it is on the PATH, else docker. */
function parseDeployer(
  deployerRaw: string | undefined,
  rawEnv: NodeJS.ProcessEnv,
): Checked<'docker' | 'abra'> {
  const fallback = findOnPath('abra', pathDirs(rawEnv)) ? 'abra' : 'docker';
  if (deployerRaw === undefined) return { value: fallback, problems: [] };
  if (deployerRaw !== 'docker' && deployerRaw !== 'abra')
    return {
      value: fallback,
      problems: [`--deployer must be docker or abra, got ${JSON.stringify(deployerRaw)}`],
    };
  return { value: deployerRaw, problems: [] };
}

/** `cc-ci run`: flags win over Drone params and settings; every problem is reported at once. */
function parseRun(rest: readonly string[], rawEnv: NodeJS.ProcessEnv): RunCommand {
  const { values, positionals } = parseRunFlags(rest);
  const { env, problems: envProblems } = readEnv(rawEnv);
  const problems = environmentProblems(rawEnv, envProblems);
  const source = parseSource(positionals, values, env);
  const pr = parsePr(values.pr ?? (env.PR || undefined));
  const stages = parseStages(values.stages ?? (env.STAGES || env.PLUGIN_STAGES || undefined));
  const deployer = parseDeployer(values.deployer ?? env.PLUGIN_DEPLOYER, rawEnv);
  const runId = values['run-id'] ?? env.DRONE_BUILD_NUMBER;
  const isolation = isolationPolicy(values, env);
  problems.push(
    ...isolation.problems,
    ...source.problems,
    ...pr.problems,
    ...stages.problems,
    ...deployer.problems,
    ...(runId !== undefined ? thrownProblems(() => validateRunId(runId)) : []),
  );
  const configDir =
    values['config-dir'] ?? env.PLUGIN_CONFIG_DIR ?? env.CCCI_CONFIG_DIR ?? defaultConfigDir();
  if (values.out !== undefined) {
    const problem = outDirProblem(values.out);
    if (problem) problems.push(problem);
  }
  if (problems.length) throw new UsageError(problems.map((p) => `  - ${p}`).join('\n'));
  const { recipe, src, ref } = source.value;
  return {
    kind: 'run',
    recipe: recipe!,
    src: src!,
    ref,
    pr: pr.value,
    stages: stages.value,
    quick: Boolean(values.quick) || env.CCCI_QUICK === '1' || env.CCCI_QUICK === 'true',
    outDir: values.out,
    runsDir: env.CCCI_RUNS_DIR ?? resolve('runs'),
    runId,
    configDir: resolve(configDir),
    deployer: deployer.value,
    domainSuffix: values['domain-suffix'] ?? env.PLUGIN_DOMAIN_SUFFIX ?? 'ci.localhost',
    stateDir: defaultStateDir(rawEnv),
    buildLink: env.DRONE_BUILD_LINK,
    bridgeUrl: env.PLUGIN_BRIDGE_URL,
    uploadToken: env.CCCI_RUN_TOKEN || env.PLUGIN_RESULTS_TOKEN || undefined,
    janitor: !values['no-janitor'],
    isolation: isolation.value,
  };
}

/**
 * `--isolate-on-failure` (any failed run), `--no-isolation`, else PLUGIN_ISOLATION_RERUN; its
 * default `auto` is "a failed run that shared the swarm" in Drone, off for local runs.
 */
function isolationPolicy(
  values: { 'isolate-on-failure'?: boolean; 'no-isolation'?: boolean },
  env: PluginEnv,
): { value: IsolationPolicy; problems: string[] } {
  if (values['isolate-on-failure'] && values['no-isolation'])
    return {
      value: 'off',
      problems: ['--isolate-on-failure and --no-isolation contradict each other; give one'],
    };
  if (values['isolate-on-failure']) return { value: 'on-failure', problems: [] };
  if (values['no-isolation']) return { value: 'off', problems: [] };
  const setting = env.PLUGIN_ISOLATION_RERUN ?? 'auto';
  if (setting !== 'auto') return { value: setting, problems: [] };
  return { value: env.DRONE === 'true' ? 'when-shared' : 'off', problems: [] };
}

/**
 * Why --out cannot hold a run directory, or null. Kernel file systems are refused outright
 * (a recursive mkdir under /proc never returns on Node 20), and the nearest existing ancestor
 * must be a directory.
 */
export function outDirProblem(out: string): string | null {
  const path = resolve(out);
  if (/[\n\r\0]/.test(out)) return '--out contains a newline or NUL';
  if (/^\/(proc|sys|dev)(\/|$)/.test(path))
    return `--out ${JSON.stringify(out)} is on a kernel file system; choose a directory for run output`;
  let dir = path;
  for (let depth = 0; depth < 256 && !existsSync(dir); depth++) dir = dirname(dir);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    return `--out ${JSON.stringify(out)}: ${dir} exists and is not a directory`;
  return null;
}

/** parseArgs for a subcommand's flags; a bad flag is a UsageError carrying the usage text. */
function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(
  rest: readonly string[],
  options: O,
) {
  try {
    return parseArgs({ args: [...rest], strict: true, options }).values;
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  }
}

function parseHostCare(
  sub: 'prune' | 'vip-guard',
  rest: readonly string[],
  rawEnv: NodeJS.ProcessEnv,
): PruneCommand | VipGuardCommand {
  const values = parseFlags(rest, {
    'dry-run': { type: 'boolean' },
    ...(sub === 'prune'
      ? {
          'min-free-gib': { type: 'string' },
          'min-free-percent': { type: 'string' },
          'image-min-age-hours': { type: 'string' },
        }
      : {
          'proxy-network': { type: 'string' },
          'prune-networks': { type: 'boolean' },
          'restart-daemon': { type: 'boolean' },
        }),
  });
  const v = values as Record<string, string | boolean | undefined>;
  const base = { dryRun: Boolean(v['dry-run']), stateDir: defaultStateDir(rawEnv) };
  if (sub === 'prune') {
    const num = (name: string, fallback: number, max: number) => {
      const raw = v[name];
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (typeof raw !== 'string' || !/^\d+(\.\d+)?$/.test(raw) || n > max)
        throw new UsageError(
          `--${name} ${JSON.stringify(raw)}: expected a number from 0 to ${max}`,
        );
      return n;
    };
    return {
      kind: 'prune',
      ...base,
      minFreeGiB: num('min-free-gib', 10, 100_000),
      minFreePercent: num('min-free-percent', 10, 100),
      imageMinAgeHours: num('image-min-age-hours', 1, 10_000),
    };
  }
  const proxy = typeof v['proxy-network'] === 'string' ? v['proxy-network'] : 'proxy';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(proxy))
    throw new UsageError(`--proxy-network ${JSON.stringify(proxy)} is not a network name`);
  // The restart command comes from the operator's environment, never from a build param.
  const restart = rawEnv.CCCI_DOCKER_RESTART_CMD?.trim() || 'systemctl restart docker';
  return {
    kind: 'vip-guard',
    ...base,
    proxyNetwork: proxy,
    pruneNetworks: Boolean(v['prune-networks']),
    restartDaemon: v['restart-daemon'] ? restart.split(/\s+/) : null,
  };
}

/**
 * The mirror settings of `cc-ci sweep`: the upstream base, and the mirrors' Gitea (URL, owner —
 * by default the last path segment of a URL src-base — and the token, CCCI_SWEEP_GITEA_TOKEN or
 * CCCI_SWEEP_GITEA_TOKEN_FILE).
 */
function parseSweepMirror(
  values: { 'upstream-base'?: string; 'gitea-url'?: string; 'gitea-owner'?: string },
  srcBase: string | undefined,
  rawEnv: NodeJS.ProcessEnv,
): Checked<Pick<SweepCommand, 'upstreamBase' | 'gitea'>> {
  const problems: string[] = [];
  const upstreamBase = values['upstream-base'] ?? (rawEnv.CCCI_SWEEP_UPSTREAM_BASE || undefined);
  const url = values['gitea-url'] ?? (rawEnv.CCCI_SWEEP_GITEA_URL || undefined);
  if (!url) return { value: { upstreamBase, gitea: undefined }, problems };
  if (!/^https?:\/\/[^/\s]+/i.test(url))
    problems.push(`--gitea-url ${JSON.stringify(url)} is not an http(s) URL`);
  if (!upstreamBase) problems.push('--gitea-url without --upstream-base: the PRs of what mirror?');
  const fromBase = /^[a-z][a-z0-9+.-]*:\/\//i.test(srcBase ?? '')
    ? (srcBase ?? '').replace(/\/+$/, '').split('/').pop()
    : undefined;
  const owner = values['gitea-owner'] ?? (rawEnv.CCCI_SWEEP_GITEA_OWNER || fromBase);
  if (!owner || !/^[A-Za-z0-9_.-]{1,100}$/.test(owner))
    problems.push('no --gitea-owner (or CCCI_SWEEP_GITEA_OWNER): who owns the mirrors on Gitea');
  const token = readSecret('CCCI_SWEEP_GITEA_TOKEN', rawEnv);
  if (token.problem) problems.push(token.problem);
  else if (!token.value)
    problems.push('--gitea-url needs CCCI_SWEEP_GITEA_TOKEN or CCCI_SWEEP_GITEA_TOKEN_FILE');
  const gitea = token.value && owner ? { url, owner, token: token.value } : undefined;
  return { value: { upstreamBase, gitea }, problems };
}

function parseSweep(rest: readonly string[], rawEnv: NodeJS.ProcessEnv): SweepCommand {
  const values = parseFlags(rest, {
    'dry-run': { type: 'boolean' },
    'src-base': { type: 'string' },
    recipe: { type: 'string', multiple: true },
    'config-dir': { type: 'string' },
    'domain-suffix': { type: 'string' },
    'upstream-base': { type: 'string' },
    'gitea-url': { type: 'string' },
    'gitea-owner': { type: 'string' },
    'no-isolation': { type: 'boolean' },
  });
  const problems: string[] = [];
  const srcBase = values['src-base'] ?? rawEnv.CCCI_SWEEP_SRC_BASE;
  if (!srcBase)
    problems.push('no --src-base (or CCCI_SWEEP_SRC_BASE): where the recipe repositories are');
  const only = values.recipe ?? [];
  for (const r of only) {
    try {
      validateRecipeName(r);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  const mirror = parseSweepMirror(values, srcBase, rawEnv);
  problems.push(...mirror.problems);
  if (problems.length) throw new UsageError(problems.map((p) => `  - ${p}`).join('\n'));
  return {
    kind: 'sweep',
    ...mirror.value,
    dryRun: Boolean(values['dry-run']),
    srcBase: srcBase!,
    only,
    configDir: resolve(values['config-dir'] ?? rawEnv.CCCI_CONFIG_DIR ?? defaultConfigDir()),
    runsDir: rawEnv.CCCI_RUNS_DIR ?? resolve('runs'),
    stateDir: defaultStateDir(rawEnv),
    domainSuffix: values['domain-suffix'] ?? 'ci.localhost',
    isolation: values['no-isolation'] ? 'off' : 'on-failure',
  };
}
