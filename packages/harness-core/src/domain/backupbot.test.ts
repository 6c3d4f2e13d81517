import { describe, expect, it } from '@jest/globals';
import { backupPlan, unsafePaths } from './backupbot.js';
import { parseLintTable } from './lint.js';

describe('backupPlan', () => {
  it('is null without backupbot.backup=true', () => {
    expect(backupPlan('s', {}, ['data'])).toBeNull();
    expect(backupPlan('s', { 'backupbot.backup': 'false' }, ['data'])).toBeNull();
  });
  it('reads hooks, per-volume paths and exclusions', () => {
    const plan = backupPlan(
      's',
      {
        'backupbot.backup': 'true',
        'backupbot.backup.pre-hook': 'dump',
        'backupbot.backup.post-hook': 'rm dump',
        'backupbot.restore.post-hook': 'reload',
        'backupbot.backup.volumes.data.path': 'dump.sql, /uploads',
        'backupbot.backup.volumes.cache': 'false',
      },
      ['data', 'cache', 'config'],
    )!;
    expect(plan.preHook).toBe('dump');
    expect(plan.restorePostHook).toBe('reload');
    expect([...plan.volumes]).toEqual([
      ['data', ['dump.sql', 'uploads']],
      ['config', []],
    ]);
  });
  it('flags paths that climb out of the volume', () => {
    expect(unsafePaths(['a', '../etc', 'b/../../c'])).toEqual(['../etc', 'b/../../c']);
  });
});

describe('parseLintTable', () => {
  it('reads abra’s rule table (recorded output)', () => {
    const out = [
      '┌──────┬─────────────────────────────────────┬───────────┬──────────┬─────────┐',
      '│ REF  │ RULE                                │ SATISFIED │ SEVERITY │ RESOLVE │',
      '├──────┼─────────────────────────────────────┼───────────┼──────────┼─────────┤',
      '│ R001 │ compose config has expected version │ ✅        │ warning  │         │',
      '│ R010 │ has published catalogue version     │ ❌        │ error    │ publish │',
      '│ R008 │ .env.sample provided                │ ❌        │ warning  │         │',
      '└──────┴─────────────────────────────────────┴───────────┴──────────┴─────────┘',
    ].join('\n');
    expect(parseLintTable(out)).toEqual([
      {
        ref: 'R001',
        description: 'compose config has expected version',
        satisfied: true,
        severity: 'warning',
      },
      {
        ref: 'R010',
        description: 'has published catalogue version',
        satisfied: false,
        severity: 'error',
      },
      { ref: 'R008', description: '.env.sample provided', satisfied: false, severity: 'warning' },
    ]);
  });
});
