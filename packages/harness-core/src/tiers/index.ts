/**
 * The tier registry the orchestrator runs. A tier that is not implemented yet is absent here, and
 * the orchestrator reports it `unver` ("tier not implemented") — never a pass.
 */
import type { TierName } from '../domain/results.js';
import type { Tier, UpgradeTier } from './types.js';

export interface TierRegistry {
  readonly upgrade?: UpgradeTier;
  readonly others: Partial<Record<Exclude<TierName, 'install' | 'upgrade'>, Tier>>;
}

export const defaultTiers: TierRegistry = {
  others: {},
};
