/**
 * The Drone build params of a recipe-ci build: the one list the bridge sends and the plugin reads.
 * Drone copies every param into the step environment without checking its name, so both sides
 * keep to exactly these (docs/drone.md, docs/security.md).
 */
export const BUILD_PARAM_NAMES = [
  'RECIPE',
  'PR',
  'REF',
  'SRC',
  'STAGES',
  'CCCI_QUICK',
  /** The bridge's idempotency key for the trigger behind the build (recorded, not acted on). */
  'CCCI_TRIGGER',
  /**
   * The upload credential the bridge derived for this build's trigger (docs/security.md): the
   * plugin sends it instead of PLUGIN_RESULTS_TOKEN, and the bridge accepts nothing else for the
   * run. A secret: never printed.
   */
  'CCCI_RUN_TOKEN',
] as const;
export type BuildParamName = (typeof BUILD_PARAM_NAMES)[number];
