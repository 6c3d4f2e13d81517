/**
 * The database example recipe (examples/recipes/ledger: an app and PostgreSQL, pg_dump hooks,
 * a templated config, an overlay, versioned secrets, schema migrations) on the real local swarm,
 * and the canaries made from it by breaking one file: an empty dump, a restore that brings back
 * the files but not the rows.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hostHasIpvs } from '../../src/adapters/docker/ipvs.js';
import { defaultTiers } from '../../src/tiers/index.js';
import type { Tier } from '../../src/tiers/types.js';
import {
  fixture,
  forceRemoveStack,
  recipeRepo,
  repoRoot,
  runRecipe,
  stackObjects,
  variantRepo,
  verdictOf,
} from '../support/fixtures.js';

const run = promisify(execFile);
const stacks: string[] = [];
const ledger = join(repoRoot, 'examples/recipes/ledger');
const configDir = join(repoRoot, 'recipes');

afterAll(async () => {
  for (const s of stacks) await forceRemoveStack(s);
}, 180_000);

interface ServiceView {
  Spec: { Name: string; EndpointSpec?: { Mode?: string; Ports?: unknown[] } };
  Endpoint?: { Ports?: unknown[] };
}

describe('the ledger recipe (app + PostgreSQL) on the local swarm', () => {
  it('reaches level 4: the upgrade migrates and keeps the rows, the restore brings back the rows of the backup and drops later ones', async () => {
    const repo = await recipeRepo(ledger, ['0.1.0+1.0', '0.2.0+1.1']);
    let live: ServiceView[] = [];
    // A stand-in custom tier that inspects the live services, then runs the recipe's own tests.
    const inspectLive: Tier = {
      name: 'custom',
      async run(ctx) {
        const ids = (
          await run('docker', [
            'service',
            'ls',
            '-q',
            '--filter',
            `label=com.docker.stack.namespace=${ctx.app.stack}`,
          ])
        ).stdout
          .trim()
          .split('\n');
        live = JSON.parse(
          (await run('docker', ['service', 'inspect', ...ids])).stdout,
        ) as ServiceView[];
        return defaultTiers.others.custom!.run(ctx);
      },
    };
    const { r, log, stack } = await runRecipe({
      src: repo.path,
      ref: repo.head,
      recipe: 'ledger',
      stages: ['install', 'upgrade', 'backup', 'restore', 'custom', 'lint'],
      pr: 5,
      configDir,
      stacks,
      adapters: {
        tiers: { ...defaultTiers, others: { ...defaultTiers.others, custom: inspectLive } },
      },
    });
    const tests = (tier: 'upgrade' | 'backup' | 'restore' | 'custom') =>
      Object.fromEntries(r.stages[tier]!.tests.map((t) => [t.name, t.status]));

    expect(verdictOf(r)).toEqual({ verdict: 'pass', failing: {} });
    expect(r.level).toBe(4);
    expect(r.base_version).toBe('0.2.0+1.1');
    // Two upgrade paths (recipes/ledger/cc-ci.yml upgrade_paths: 2), oldest first, both green.
    expect(r.upgrade_paths?.map((p) => [p.base_version, p.status])).toEqual([
      ['0.1.0+1.0', 'pass'],
      ['0.2.0+1.1', 'pass'],
    ]);
    for (const from of ['0.1.0+1.0', '0.2.0+1.1'])
      expect(tests('upgrade')).toMatchObject({
        [`from ${from}: rows written on the old release survived`]: 'pass',
        [`from ${from}: head is deployed (chaos-version = ${repo.head.slice(0, 8)})`]: 'pass',
      });
    expect(tests('backup')[`backup pre-hook of ${stack}_db`]).toBe('pass');
    expect(tests('restore')).toMatchObject({
      'rows written before the backup are back': 'pass',
      'rows written after the backup are gone': 'pass',
    });
    expect(tests('custom')).toMatchObject({
      'ledger runs the newest schema and reads its settings from the mail overlay': 'pass',
      'ledger keeps entries in PostgreSQL with the 0.3.0 columns': 'pass',
    });

    // While it ran: both services, nothing published; without IPVS, DNS round robin, said in the log.
    expect(live.map((s) => s.Spec.Name).sort()).toEqual([`${stack}_app`, `${stack}_db`]);
    for (const s of live) {
      expect([...(s.Endpoint?.Ports ?? []), ...(s.Spec.EndpointSpec?.Ports ?? [])]).toEqual([]);
      expect(s.Spec.EndpointSpec?.Mode ?? 'vip').toBe(hostHasIpvs() ? 'vip' : 'dnsrr');
    }
    if (!hostHasIpvs())
      expect(log.lines.join('\n')).toMatch(
        /this host has no IPVS .*endpoint_mode: dnsrr on app, db; production swarms keep VIPs/,
      );
    expect(await stackObjects(stack)).toEqual([]);
  }, 600_000);
});

describe('database canaries that must turn red', () => {
  it('fails the upgrade on the path from the oldest release when the migration relies on a newer one', async () => {
    const repo = await variantRepo(ledger, fixture('canary-db-upgrade-path'), [
      '0.1.0+1.0',
      '0.2.0+1.1',
    ]);
    const { r, stack } = await runRecipe({
      src: repo.path,
      ref: repo.head,
      recipe: 'ledger',
      stages: ['install', 'upgrade'],
      configDir,
      stacks,
    });
    expect(await stackObjects(stack)).toEqual([]);
    expect(r.upgrade_paths?.map((p) => [p.base_version, p.status])).toEqual([
      ['0.1.0+1.0', 'fail'],
      ['0.2.0+1.1', 'pass'],
    ]);
    expect(r.stages.upgrade).toMatchObject({ status: 'fail' });
    expect(r.stages.upgrade!.reason).toMatch(/^from 0\.1\.0\+1\.0: /);
    expect(r.stages.upgrade!.reason).not.toMatch(/from 0\.2\.0/);
    expect(r.rungs.upgrade.status).toBe('fail');
    // The newest path left the head running on a schema that has the column: install holds.
    expect(r.stages.install!.status).toBe('pass');
  }, 420_000);

  const canary = async (name: string) => {
    const repo = await variantRepo(ledger, fixture(name));
    const { r, stack } = await runRecipe({
      src: repo.path,
      ref: repo.head,
      recipe: 'ledger',
      stages: ['install', 'backup', 'restore'],
      configDir,
      stacks,
    });
    expect(await stackObjects(stack)).toEqual([]);
    expect(r.stages.install!.status).toBe('pass');
    return r;
  };

  it('fails the backup when the dump hook swallows pg_dump’s error and leaves an empty dump', async () => {
    const r = await canary('canary-db-empty-dump');
    expect(r.stages.backup!.status).toBe('fail');
    expect(r.stages.backup!.reason).toMatch(
      /db-postgres: declared backup path\(s\) backup\.sql are empty \(the pre-hook produced nothing\)/,
    );
    expect(r.rungs.backup_restore.status).toBe('fail');
  }, 300_000);

  it('fails the restore when the dump comes back but the hook loads it into another database', async () => {
    const r = await canary('canary-db-restore-no-rows');
    expect(r.stages.backup!.status).toBe('pass');
    expect(r.stages.restore!.status).toBe('fail');
    const rows = Object.fromEntries(r.stages.restore!.tests.map((t) => [t.name, t]));
    expect(rows['postgres is rebuilt by the restore post-hook from backup.sql']?.status).toBe(
      'skip',
    );
    expect(rows['rows written after the backup are gone']?.status).toBe('fail');
    expect(r.stages.restore!.reason).toMatch(
      /is still there after the restore: the database was not brought back to the backup \(does the restore post-hook load the dump\?\)/,
    );
    expect(r.rungs.backup_restore.status).toBe('fail');
  }, 300_000);
});
