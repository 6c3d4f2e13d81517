/**
 * The tier registry the orchestrator runs. A tier that is not implemented is absent here, and the
 * orchestrator reports it `unver` ("tier not implemented") — never a pass.
 */
import type { TierName } from '../domain/results.js';
import type { Tier, UpgradeTier } from './types.js';
import { upgradeTier } from './upgrade.js';
import { backupTier, restoreTier } from './backup.js';
import { customTier } from './custom.js';
import { lintTier } from './lint.js';

export interface TierRegistry {
  readonly upgrade?: UpgradeTier;
  readonly others: Partial<Record<Exclude<TierName, 'install' | 'upgrade'>, Tier>>;
}

export const defaultTiers: TierRegistry = {
  upgrade: upgradeTier,
  others: { backup: backupTier, restore: restoreTier, custom: customTier, lint: lintTier },
};
