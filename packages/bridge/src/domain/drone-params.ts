/**
 * The build params the bridge sends to Drone. Drone copies every query key into the step
 * environment without checking names (docs/platform-facts.md §3.5), so the bridge sends a
 * fixed set of keys and validates every value: bounded, single-line, and of a known charset.
 * The plugin validates them again on its side (packages/drone-plugin/src/config.ts).
 */
import { BUILD_PARAM_NAMES, isRecipeName, type BuildParamName } from '@cc-ci/harness-core';
import { RUN_TOKEN_SHAPE } from './run-token.js';

export const DRONE_PARAM_NAMES = BUILD_PARAM_NAMES;
export type DroneParamName = BuildParamName;

export interface RunRequest {
  readonly recipe: string;
  readonly pr: number;
  /** The PR head commit (40 hex). */
  readonly sha: string;
  /** Clone URL of the base repository (fork heads are fetched from its refs/pull/N/head). */
  readonly src: string;
  readonly quick: boolean;
  readonly stages?: readonly string[];
  /** The idempotency key of the trigger, e.g. gitea-comment:1234. */
  readonly triggerKey: string;
  /**
   * The trigger's upload credential (run-token.ts), sent as CCCI_RUN_TOKEN; null (no upload
   * secret configured: uploads are off) sends it empty.
   */
  readonly runToken: string | null;
}

const SHA = /^[0-9a-f]{40}$/;
const STAGE = /^[a-z]{1,20}$/;
const KEY = /^[a-z-]{1,20}:[A-Za-z0-9_./#-]{1,100}$/;

export class ParamError extends Error {}

export function buildParams(r: RunRequest): Record<DroneParamName, string> {
  if (!isRecipeName(r.recipe))
    throw new ParamError(`recipe name ${JSON.stringify(r.recipe)} is not valid`);
  if (!Number.isSafeInteger(r.pr) || r.pr < 1)
    throw new ParamError(`PR number ${r.pr} is not valid`);
  if (!SHA.test(r.sha))
    throw new ParamError(`head sha ${JSON.stringify(r.sha)} is not a full commit id`);
  let src: URL;
  try {
    src = new URL(r.src);
  } catch {
    throw new ParamError(`clone URL ${JSON.stringify(r.src)} is not a URL`);
  }
  if (
    !['http:', 'https:'].includes(src.protocol) ||
    r.src.length > 512 ||
    /[\s\0]/.test(r.src) ||
    src.username ||
    src.password
  )
    throw new ParamError(
      `clone URL ${JSON.stringify(r.src)} must be http(s), without credentials or spaces`,
    );
  const stages = r.stages ?? [];
  for (const s of stages)
    if (!STAGE.test(s)) throw new ParamError(`stage ${JSON.stringify(s)} is not valid`);
  if (!KEY.test(r.triggerKey))
    throw new ParamError(`trigger key ${JSON.stringify(r.triggerKey)} is not valid`);
  // Never echoed: it is a credential.
  if (r.runToken !== null && !RUN_TOKEN_SHAPE.test(r.runToken))
    throw new ParamError('the run token does not have the shape ccci-run.<trigger id>.<mac>');
  return {
    RECIPE: r.recipe,
    PR: String(r.pr),
    REF: r.sha,
    SRC: r.src,
    STAGES: stages.join(','),
    CCCI_QUICK: r.quick ? '1' : '0',
    CCCI_TRIGGER: r.triggerKey,
    CCCI_RUN_TOKEN: r.runToken ?? '',
  };
}
