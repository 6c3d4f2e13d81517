/**
 * /metrics reports the disk of the warm canonicals from the sweep's warm-disk.json
 * (CCCI_WARM_DISK_FILE), read at each scrape: the figures of the file as the sweep wrote it, and
 * no per-recipe series — never a stale figure — when the file is missing or invalid.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { WARM_DISK_FILE, writeWarmDiskReport } from '@cc-ci/harness-core';
import { buildApp } from '../../src/app.js';
import { openDatabase, type Db } from '../../src/adapters/sqlite/database.js';

let app: FastifyInstance;
let db: Db;
let base: string;
let stateDir: string;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'ccci-warm-disk-'));
  db = openDatabase({ path: join(stateDir, 'db.sqlite') });
  app = await buildApp({
    db,
    repos: ['recipe-maintainers/notes'],
    resultsToken: undefined,
    warmDiskFile: join(stateDir, WARM_DISK_FILE),
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  db.close();
  await rm(stateDir, { recursive: true, force: true });
});

const scrape = async () =>
  (await (await fetch(`${base}/metrics`)).text()).split('\n').filter((l) => /^ccci_warm/.test(l));

describe('warm disk on /metrics', () => {
  it('has no figures before the sweep wrote any', async () => {
    expect(await scrape()).toEqual([
      'ccci_warm_disk_report_ok 0',
      'ccci_warm_disk_measured_timestamp_seconds 0',
    ]);
  });

  it('reports what the sweep measured, per recipe, at the next scrape', async () => {
    await writeWarmDiskReport(
      stateDir,
      [
        { recipe: 'notes', stack: 'warm-notes-1a2b3c_ci_localhost', volumes: 1, bytes: 20480 },
        { recipe: 'ledger', stack: 'warm-ledger-4d5e6f_ci_localhost', volumes: 2, bytes: 52428800 },
      ],
      new Date('2026-12-04T05:00:00Z'),
    );
    expect((await scrape()).sort()).toEqual(
      [
        'ccci_warm_disk_report_ok 1',
        'ccci_warm_volume_bytes{recipe="notes",stack="warm-notes-1a2b3c_ci_localhost"} 20480',
        'ccci_warm_volume_bytes{recipe="ledger",stack="warm-ledger-4d5e6f_ci_localhost"} 52428800',
        'ccci_warm_volumes{recipe="notes"} 1',
        'ccci_warm_volumes{recipe="ledger"} 2',
        `ccci_warm_disk_measured_timestamp_seconds ${Date.parse('2026-12-04T05:00:00Z') / 1000}`,
      ].sort(),
    );
  });

  it('drops every figure when the file turns invalid, instead of keeping stale ones', async () => {
    await writeFile(join(stateDir, WARM_DISK_FILE), '{"measured_at": "yesterday"}');
    expect(await scrape()).toEqual([
      'ccci_warm_disk_report_ok 0',
      'ccci_warm_disk_measured_timestamp_seconds 0',
    ]);
  });
});
