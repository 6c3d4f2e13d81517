import { describe, expect, it } from '@jest/globals';
import { RUNG_STATUSES, TIER_PROGRESS_STATES } from './results.js';

describe('TIER_PROGRESS_STATES', () => {
  it('is running, then every rung status (the one definition the plugin and bridge use)', () => {
    expect(TIER_PROGRESS_STATES).toEqual(['running', 'pass', 'fail', 'skip', 'unver']);
    expect(TIER_PROGRESS_STATES.slice(1)).toEqual([...RUNG_STATUSES]);
  });
});
