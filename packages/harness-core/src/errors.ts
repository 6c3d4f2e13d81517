/**
 * Coded errors. Each says what failed, the offending value, and the next step; its code names a
 * row of ERROR_CODES, the one table of what a code means (docs/errors.md is generated from it).
 * The class decides how a run reports it, and must agree with the table's kind (a test checks
 * every construction site):
 * - InputError  → bad input or configuration: exit 2, nothing deployed;
 * - InfraError  → infrastructure problem (daemon, swarm, timeouts): the rung is `unver`, exit 3;
 * - RecipeError → the recipe itself misbehaved: the rung is `fail`, exit 1.
 */

/** input → exit 2 · recipe → the rung fails, exit 1 · infra → the rung is unverified, exit 3. */
export type ErrorKind = 'input' | 'recipe' | 'infra' | 'aborted';

export interface ErrorCodeInfo {
  readonly kind: ErrorKind;
  /** What the code means, in one line. */
  readonly means: string;
  /** The next step for whoever reads it (a recipe maintainer or an operator). */
  readonly fix: string;
}

/** The exit code of `cc-ci run` for each kind (docs/cli.md, "`cc-ci run`", exit codes). */
export const EXIT_CODE_OF_KIND: Readonly<Record<ErrorKind, number>> = {
  recipe: 1,
  input: 2,
  infra: 3,
  aborted: 3,
};

export const ERROR_CODES = {
  // --- input: the run does not start, or the tier that read the input fails -----------------
  BAD_RECIPE_NAME: {
    kind: 'input',
    means: 'the recipe name is not a valid name (1–63 of a-z, 0-9, "-")',
    fix: 'pass the recipe’s directory name as it appears in the recipes catalogue',
  },
  BAD_REF: {
    kind: 'input',
    means: 'the git ref is malformed or does not exist in the recipe repository',
    fix: 'pass a 40-hex commit, or a branch or tag that exists; refs starting with "-" are refused',
  },
  BAD_SRC: {
    kind: 'input',
    means: 'the recipe source is neither a git repository directory with commits nor a git URL',
    fix: 'pass a committed local recipe checkout or the recipe’s git URL',
  },
  BAD_STAGES: {
    kind: 'input',
    means: 'an unknown tier name was asked for',
    fix: 'use install, upgrade, backup, restore, custom, lint (comma-separated)',
  },
  BAD_CONFIG: {
    kind: 'input',
    means: 'the recipe’s cc-ci.yml or a build parameter does not validate',
    fix: 'fix the named field; docs/recipe-config.md lists every field and its limits',
  },
  COMPOSE_INVALID: {
    kind: 'input',
    means: 'a compose file of the recipe is missing, unreadable or not valid compose YAML',
    fix: 'check COMPOSE_FILE in .env.sample and the YAML of the named file',
  },
  COMPOSE_POLICY: {
    kind: 'input',
    means:
      'the recipe asks for something a CI host never grants (host paths, privileges, host network…)',
    fix: 'remove the named key; docs/security.md (“Compose policy”) explains each refusal',
  },
  RECIPE_ENV_RESERVED: {
    kind: 'input',
    means: 'the recipe’s environment sets a variable cc-ci reserves for itself',
    fix: 'rename the variable in .env.sample or cc-ci.yml',
  },
  LOCKED: {
    kind: 'input',
    means: 'another live run holds the lock of this app domain (same recipe and PR)',
    fix: 'wait for that run to finish; a dead run’s lock is taken over once its lease expires',
  },
  NOT_A_RECIPE: {
    kind: 'input',
    means: 'the source has no compose.yml at the ref: it is not a Co-op Cloud recipe',
    fix: 'point --src at the recipe repository and --ref at one of its commits',
  },
  NAME_TOO_LONG: {
    kind: 'input',
    means:
      'a Docker object name built from the app domain and a recipe name exceeds Docker’s limit',
    fix: 'shorten the secret or service name in the recipe, or use a shorter --domain-suffix',
  },
  WARM_DOMAIN_TAKEN: {
    kind: 'input',
    means:
      'the warm deploy’s domain is already used by a live service (its stack, label or router rule)',
    fix: 'remove or rename the live service named in the message, or set another --domain-suffix for the sweep',
  },
  USAGE: {
    kind: 'input',
    means: 'the command line or the plugin settings are not understood',
    fix: 'run `cc-ci --help`; docs/cli.md lists every option and PLUGIN_* setting',
  },
  // --- recipe: the recipe misbehaved, the rung fails ----------------------------------------
  BAD_RECIPE: {
    kind: 'recipe',
    means: 'the recipe’s files or hooks do not do what the tier needs',
    fix: 'read the reason; it names the file, hook or label at fault',
  },
  CRASH_LOOP: {
    kind: 'recipe',
    means: 'a service’s tasks keep exiting',
    fix: 'read the service logs in the run’s diagnostics/ directory',
  },
  IMAGE_MISSING: {
    kind: 'recipe',
    means: 'an image of the recipe cannot be pulled or does not exist',
    fix: 'check the image name and tag in the compose file',
  },
  TASK_REJECTED: {
    kind: 'recipe',
    means: 'the swarm rejected a task because of its spec (bad mount, bad secret, bad command…)',
    fix: 'read the task error in the reason and the diagnostics/ task history',
  },
  DEPLOY_TIMEOUT: {
    kind: 'recipe',
    means: 'the stack did not converge within the deploy timeout',
    fix: 'read diagnostics/; raise deploy_timeout_s in cc-ci.yml if the recipe is slow to start',
  },
  IMMUTABLE_CHANGED: {
    kind: 'recipe',
    means:
      'a swarm config or secret changed content under the same name (swarm objects are immutable)',
    fix: 'bump that config’s or secret’s version in abra.sh (e.g. MIGRATE_SQL_VERSION=v3) whenever its file changes',
  },
  HTTP_FAILED: {
    kind: 'recipe',
    means: 'the app did not answer its domain with a success through the proxy network',
    fix: 'check the Traefik labels (router rule, loadbalancer port) and the healthcheck path',
  },
  UPGRADE_FAILED: {
    kind: 'recipe',
    means:
      'the upgrade from the last release did not prove itself (rolled back, not converged, data lost)',
    fix: 'read the failing rows of the upgrade stage; they name the check',
  },
  BACKUP_FAILED: {
    kind: 'recipe',
    means:
      'the backup did not capture what the recipe declares (hook failed, path empty or missing)',
    fix: 'check the backupbot.backup.* labels and the pre-hook named in the reason',
  },
  RESTORE_FAILED: {
    kind: 'recipe',
    means: 'the restore did not bring back the backed-up state',
    fix: 'check the restore post-hook and the rows named in the reason',
  },
  TESTS_FAILED: {
    kind: 'recipe',
    means: 'the recipe’s own tests failed or ran none',
    fix: 'run them locally with `cc-ci run --stages install,custom`',
  },
  LINT_FAILED: {
    kind: 'recipe',
    means: '`abra recipe lint` reported errors',
    fix: 'run `abra recipe lint <recipe>` and fix the named rules',
  },
  // --- infra: nothing was proved either way, the rung is unverified ---------------------------
  DOCKER_FAILED: {
    kind: 'infra',
    means: 'a Docker or swarm call failed for a reason that is not the recipe’s',
    fix: 'check the daemon (`docker info`) and the run log; re-run when it answers',
  },
  GIT_FAILED: {
    kind: 'infra',
    means: 'a git operation on the recipe repository failed',
    fix: 'check that the repository is reachable and the ref exists; re-run',
  },
  MIRROR_SYNC_FAILED: {
    kind: 'infra',
    means:
      'the recipe mirror could not be made to follow upstream (upstream unreachable or without main, push refused)',
    fix: 'check the upstream URL, the token’s push rights on the mirror and any protection of main; the sweep did not test the recipe',
  },
  MIRROR_PR_FAILED: {
    kind: 'infra',
    means:
      'listing, commenting on or closing the mirror’s pull requests through the Gitea API failed',
    fix: 'check the Gitea URL and the token’s rights on the mirror; the mirror itself was synced',
  },
  TASKS_STUCK: {
    kind: 'infra',
    means: 'tasks stayed in new/pending/assigned: the swarm could not schedule them',
    fix: 'check node resources and `docker node ls`; re-run',
  },
  NO_PLACEMENT: {
    kind: 'infra',
    means: 'the swarm has no node that can run a task (constraints, resources)',
    fix: 'check placement constraints and free resources on the nodes',
  },
  PROCESS_FAILED: {
    kind: 'infra',
    means: 'a helper process cc-ci started (tar, jest, a hook runner) failed to run',
    fix: 'read the reason; it names the process and its stderr',
  },
  TOOL_MISSING: {
    kind: 'infra',
    means: 'a tool a tier needs is not installed on this host (e.g. abra for lint)',
    fix: 'install it on the runner, or skip the tier in cc-ci.yml with a reason',
  },
  TEARDOWN_FAILED: {
    kind: 'infra',
    means: 'the run’s stack, volumes, secrets or networks were not all gone after teardown',
    fix: 'run `cc-ci janitor`; the run log names what was left',
  },
  HOST_BUSY: {
    kind: 'infra',
    means:
      'the host did not become free in time: a run waited for an isolation re-run to finish, or an isolation re-run waited for other runs',
    fix: 'see `cc-ci janitor --dry-run` for the locks held; a dead holder’s lock expires with its lease',
  },
  NOT_RUN: {
    kind: 'infra',
    means: 'the tier could not run because a tier it needs did not pass',
    fix: 'fix the earlier tier named in the reason',
  },
  INTERNAL: {
    kind: 'infra',
    means: 'an unexpected error inside cc-ci',
    fix: 'report it with the run log; it is a cc-ci bug, not the recipe’s',
  },
  ABORTED: {
    kind: 'aborted',
    means: 'the run was stopped (SIGTERM/SIGINT or a cancelled build)',
    fix: 're-run; the janitor removes anything a killed run left',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const errorInfo = (code: ErrorCode): ErrorCodeInfo => ERROR_CODES[code];

export function isErrorCode(s: string): s is ErrorCode {
  return Object.hasOwn(ERROR_CODES, s);
}

export class CcciError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input or configuration; the run must not start (exit 2). */
export class InputError extends CcciError {}

/** An infrastructure problem: the tier could not be verified (`unver`, exit 3). */
export class InfraError extends CcciError {}

/** The recipe misbehaved (crash loop, bad HTTP answer, missing image): the tier fails. */
export class RecipeError extends CcciError {}

/** The run was aborted (SIGTERM/SIGINT). */
export class AbortedError extends CcciError {
  constructor(message = 'the run was aborted (SIGTERM/SIGINT)') {
    super('ABORTED', message);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The code an error carries, or INTERNAL for anything cc-ci did not throw on purpose. */
export function codeOf(err: unknown): ErrorCode {
  return err instanceof CcciError ? err.code : 'INTERNAL';
}
