/**
 * Coded errors. Each says what failed, the offending value, and the next step.
 * The class decides how a run reports it:
 * - InputError  → bad input or configuration: exit 2, nothing deployed;
 * - InfraError  → infrastructure problem (daemon, swarm, timeouts): the rung is `unver`, exit 3;
 * - RecipeError → the recipe itself misbehaved: the rung is `fail`, exit 1.
 */
export type ErrorCode =
  | 'BAD_RECIPE_NAME'
  | 'BAD_REF'
  | 'BAD_SRC'
  | 'BAD_STAGES'
  | 'BAD_CONFIG'
  | 'BAD_RECIPE'
  | 'COMPOSE_INVALID'
  | 'LOCKED'
  | 'DOCKER_FAILED'
  | 'GIT_FAILED'
  | 'DEPLOY_TIMEOUT'
  | 'TASKS_STUCK'
  | 'CRASH_LOOP'
  | 'IMAGE_MISSING'
  | 'TASK_REJECTED'
  | 'HTTP_FAILED'
  | 'ABORTED'
  | 'TEARDOWN_FAILED'
  | 'PROCESS_FAILED'
  | 'RECIPE_ENV_RESERVED'
  | 'COMPOSE_POLICY';

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
