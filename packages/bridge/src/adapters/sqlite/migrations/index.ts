/** Every migration, in any order (the runner sorts by version). Owners reserve version ranges. */
import { coreMigration } from './0001-core.js';
import { intakeMigration } from './0010-intake.js';
import { boundedDeliveriesMigration } from './0011-bounded-deliveries.js';
import { finalStatusesMigration } from './0015-final-statuses.js';
import { runResultsMigration } from './0020-run-results.js';
import { greenRunsMigration } from './0021-green-runs.js';
import { isolationMigration } from './0022-isolation.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  coreMigration,
  intakeMigration,
  boundedDeliveriesMigration,
  finalStatusesMigration,
  runResultsMigration,
  greenRunsMigration,
  isolationMigration,
];
