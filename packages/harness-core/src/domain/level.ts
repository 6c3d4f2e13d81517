/**
 * The level ladder and the verdict, as pure functions.
 *
 * Level = the highest passed rung whose lower rungs are all `pass` or intentional `skip`.
 * `fail` and `unver` block everything above them. A ladder of only skips is level 0: nothing
 * was proven. The level never changes the verdict; the verdict comes from the tiers.
 */
import { RUNG_NAMES, type Rung, type RungName, type Verdict } from './results.js';

export type Rungs = Record<RungName, Rung>;

export function computeLevel(rungs: Rungs): number {
  let level = 0;
  for (const [index, name] of RUNG_NAMES.entries()) {
    const status = rungs[name].status;
    if (status === 'pass') level = index + 1;
    else if (status === 'skip') continue;
    else break;
  }
  return level;
}

/**
 * The verdict of a run from its rungs.
 * - any verdict-bearing rung `fail` → `fail` (a recipe problem was proven);
 * - otherwise any verdict-bearing rung `unver`, or no rung passed at all → `error`
 *   (we could not prove anything either way: an infrastructure problem, never a green);
 * - otherwise `pass`.
 * Lint never changes the verdict, only the level (docs/domain.md, "The level ladder").
 */
export function computeVerdict(rungs: Rungs): Verdict {
  const bearing = RUNG_NAMES.filter((n) => n !== 'lint').map((n) => rungs[n].status);
  if (bearing.includes('fail')) return 'fail';
  if (bearing.includes('unver')) return 'error';
  if (!bearing.includes('pass')) return 'error';
  return 'pass';
}
