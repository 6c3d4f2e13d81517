/**
 * The bridge's embedded store: one SQLite file (better-sqlite3), WAL mode, versioned migrations.
 *
 * Migrations are plain SQL in migrations/*.ts, applied in version order inside one transaction
 * each; `PRAGMA user_version` is not used because versions are sparse (owners reserve ranges:
 * 1–9 core, 10–19 intake, 20–29 results/status page). Applied versions live in
 * `schema_migrations`, so adding a migration never rewrites an old one.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS, type Migration } from './migrations/index.js';

export type Db = Database.Database;

export interface OpenDatabaseOptions {
  /** File path, or ':memory:' (tests of pure store logic only). */
  readonly path: string;
  readonly migrations?: readonly Migration[];
}

export function openDatabase({ path, migrations = MIGRATIONS }: OpenDatabaseOptions): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  keepStatements(db);
  migrate(db, migrations);
  return db;
}

/** More distinct SQL texts than the stores have; past it a statement is prepared each time. */
const MAX_KEPT_STATEMENTS = 256;

/**
 * better-sqlite3 compiles the SQL on every `prepare()`, and the stores ask for the same few
 * dozen statements on every request (a webhook's insert, a page's reads). Each SQL text is
 * compiled once and its statement kept: a statement can be run again and again, and no caller
 * switches one's mode (pluck, raw, expand), so sharing it changes no answer. SQLite prepares a
 * kept statement again by itself after a schema change (a migration).
 */
function keepStatements(db: Db): void {
  const compile = db.prepare.bind(db);
  const kept = new Map<string, Database.Statement>();
  db.prepare = ((source: string) => {
    let statement = kept.get(source);
    if (!statement) {
      statement = compile(source);
      if (kept.size < MAX_KEPT_STATEMENTS) kept.set(source, statement);
    }
    return statement;
  }) as Db['prepare'];
}

export function migrate(db: Db, migrations: readonly Migration[]): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const applied = new Set(
    db
      .prepare('SELECT version FROM schema_migrations')
      .all()
      .map((r) => (r as { version: number }).version),
  );
  const versions = new Set<number>();
  for (const m of migrations) {
    if (versions.has(m.version))
      throw new Error(`duplicate migration version ${m.version} (${m.name})`);
    versions.add(m.version);
  }
  const done: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
    })();
    done.push(m.version);
  }
  return done;
}
