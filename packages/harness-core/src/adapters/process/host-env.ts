/**
 * The environment of every process cc-ci starts on the host (`docker`, `git`, `abra`, `jest`,
 * `python3`, the install hook). It is built from cc-ci's own configuration only — a short list of
 * names taken from cc-ci's process environment, which the operator (or the plugin image) set —
 * never by spreading `process.env`, so build params, tokens and anything else in cc-ci's
 * environment stay out of its children.
 *
 * Recipe values (`.env.sample`, `abra.sh` exports, `extra_env`) reach `docker stack deploy` as
 * compose interpolation variables, and a recipe may never use a name that steers a host process:
 * `reservedEnvNames` finds them and the run refuses to start (exit 2, RECIPE_ENV_RESERVED).
 * docs/security.md lists both rules.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Names a recipe may never set: they steer the programs cc-ci runs, not the app. */
export const RESERVED_ENV_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'PWD',
  'OLDPWD',
  'IFS',
  'ENV',
  'BASH_ENV',
  'CDPATH',
  'TMPDIR',
  'TMP',
  'TEMP',
  'TERM',
  'LANG',
  'LANGUAGE',
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONSTARTUP',
  'PYTHONINSPECT',
  'PERL5LIB',
  'PERL5OPT',
  'RUBYOPT',
  'RUBYLIB',
  'GODEBUG',
  'GOFLAGS',
  'GOTRACEBACK',
  'GOGC',
  'GOMEMLIMIT',
  'GOMAXPROCS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'CURL_CA_BUNDLE',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'CI',
];

/** Prefixes of reserved names (matched case-insensitively, as the proxy variables are). */
export const RESERVED_ENV_PREFIXES: readonly string[] = [
  'LD_',
  'DYLD_',
  'NODE_',
  'NPM_',
  'DOCKER_',
  'BUILDKIT_',
  'BUILDX_',
  'CONTAINERD_',
  'GIT_',
  'ABRA_',
  'CCCI_',
  'PLUGIN_',
  'DRONE_',
  'XDG_',
  'SSH_',
  'GPG_',
  'GNUPG',
  'LC_',
  'JEST_',
];

const RESERVED_UPPER = new Set(RESERVED_ENV_NAMES.map((n) => n.toUpperCase()));

export function isReservedEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  return RESERVED_UPPER.has(upper) || RESERVED_ENV_PREFIXES.some((p) => upper.startsWith(p));
}

/** The reserved names among `names`, in order, without repeats. */
export function reservedEnvNames(names: Iterable<string>): string[] {
  return [...new Set([...names].filter(isReservedEnvName))];
}

/** The proxy settings, in both spellings programs read. */
export const PROXY_ENV_NAMES: readonly string[] = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];

/**
 * The names cc-ci passes on from its own environment to the programs it runs: where they are
 * (PATH, HOME), which daemon to talk to, and the operator's proxy and CA settings. Nothing else.
 */
export const HOST_ENV_PASSED: readonly string[] = [
  'PATH',
  'HOME',
  'TMPDIR',
  'TZ',
  'DOCKER_HOST',
  'DOCKER_CONTEXT',
  'DOCKER_CONFIG',
  'DOCKER_CERT_PATH',
  'DOCKER_TLS_VERIFY',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  ...PROXY_ENV_NAMES,
];

const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The child environment: the passed names from `source` (cc-ci's own environment), a fixed
 * locale, then `extra` — values cc-ci itself chose for this child (e.g. GIT_TERMINAL_PROMPT,
 * ABRA_DIR, CCCI_CONTEXT) or recipe values already checked by `reservedEnvNames`.
 */
export function hostEnv(
  extra: Readonly<Record<string, string>> = {},
  source: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of HOST_ENV_PASSED) {
    const value = source[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  env.PATH ??= FALLBACK_PATH;
  env.LANG = 'C.UTF-8';
  return { ...env, ...extra };
}

/**
 * The full path of `bin` in the first of `dirs` that has it (default: the child PATH), or null:
 * "is this program on PATH". The one definition (the lint tier, the plugin's default deployer).
 */
export function findOnPath(bin: string, dirs: readonly string[] = hostPathDirs()): string | null {
  for (const dir of dirs) if (existsSync(join(dir, bin))) return join(dir, bin);
  return null;
}

/** The directories of the child PATH, for finding a program the way a child would. */
export function hostPathDirs(source: NodeJS.ProcessEnv = process.env): string[] {
  return (hostEnv({}, source).PATH ?? '').split(':').filter(Boolean);
}

/**
 * The daemon socket the docker CLI would use: the path of a `unix://` DOCKER_HOST, the default
 * socket without one, null when the daemon is reached otherwise (tcp, ssh): then every Docker
 * request (reads and writes) goes through the CLI, which knows how.
 */
export function dockerSocketPath(source: NodeJS.ProcessEnv = process.env): string | null {
  // CCCI_DOCKER_READS=cli: every request through the CLI (to compare, or to rule the API out).
  if (source.CCCI_DOCKER_READS === 'cli') return null;
  const host = source.DOCKER_HOST;
  if (!host) return '/var/run/docker.sock';
  return host.startsWith('unix://') ? host.slice('unix://'.length) : null;
}
