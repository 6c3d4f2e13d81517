/**
 * Runs and their uploaded results in SQLite: the bridge's own history (never capped by Drone's
 * API page), the source of the status page, badges and API.
 */
import type { Results } from '@cc-ci/harness-core';
import type { Db } from '../adapters/sqlite/database.js';
import { httpLink } from '../domain/links.js';

export interface RunRow {
  readonly run_id: string;
  /** The trigger behind a run the bridge started; null for builds it did not start. */
  readonly trigger_id: number | null;
  readonly recipe: string;
  readonly repo: string | null;
  readonly pr: number | null;
  readonly ref: string | null;
  readonly head_sha: string | null;
  readonly quick: number;
  readonly status: string;
  readonly drone_status: string | null;
  readonly build_link: string | null;
  readonly verdict: string | null;
  readonly level: number | null;
  readonly version: string | null;
  readonly error: string | null;
  readonly created_at: string;
  readonly started_at: string | null;
  readonly finished_at: string | null;
  readonly updated_at: string;
  /** Live tier progress (JSON {tier: status}) while the run is going. */
  readonly progress: string | null;
}

/** Runs whose level is public: finished with a verdict (an `error` is infrastructure or a cancel). */
const COUNTED = `verdict IN ('pass', 'fail')`;

export interface StoredArtifacts {
  readonly results: Results;
  readonly junit: Record<string, string>;
  readonly log: string;
}

export class RunsStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Store an uploaded run (insert or replace the run's results; the run row is upserted). */
  saveResults(runId: string, a: StoredArtifacts): void {
    const r = a.results;
    const ts = this.now().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO runs (run_id, recipe, pr, ref, head_sha, quick, status, build_link, verdict, level, version, error, created_at, started_at, finished_at, updated_at)
           VALUES (@run_id, @recipe, @pr, @ref, @head_sha, @quick, 'finished', @build_link, @verdict, @level, @version, @error, @created_at, @started_at, @finished_at, @updated_at)
           ON CONFLICT (run_id) DO UPDATE SET recipe = excluded.recipe, pr = COALESCE(excluded.pr, runs.pr), ref = excluded.ref,
             head_sha = COALESCE(excluded.head_sha, runs.head_sha), quick = excluded.quick, status = 'finished',
             build_link = COALESCE(excluded.build_link, runs.build_link), verdict = excluded.verdict, level = excluded.level,
             version = excluded.version, error = excluded.error, started_at = excluded.started_at,
             finished_at = excluded.finished_at, updated_at = excluded.updated_at`,
        )
        .run({
          run_id: runId,
          recipe: r.recipe,
          pr: r.pr,
          ref: r.ref,
          head_sha: r.commit ?? null,
          quick: r.mode === 'quick' ? 1 : 0,
          // DRONE_BUILD_LINK as the step saw it: Drone's public page. Only http(s) links are kept.
          build_link: httpLink(r.meta?.build_link),
          verdict: r.verdict,
          level: r.level,
          version: r.version,
          error: r.error ?? null,
          created_at: r.started,
          started_at: r.started,
          finished_at: r.finished,
          updated_at: ts,
        });
      this.db
        .prepare(
          `INSERT INTO run_results (run_id, results_json, junit_json, log, received_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (run_id) DO UPDATE SET results_json = excluded.results_json, junit_json = excluded.junit_json, log = excluded.log, received_at = excluded.received_at`,
        )
        .run(runId, JSON.stringify(r), JSON.stringify(a.junit), a.log, ts);
    })();
  }

  getRun(runId: string): RunRow | null {
    return (
      (this.db.prepare('SELECT * FROM runs WHERE run_id = ?').get(runId) as RunRow | undefined) ??
      null
    );
  }

  getArtifacts(runId: string): StoredArtifacts | null {
    const row = this.db
      .prepare('SELECT results_json, junit_json, log FROM run_results WHERE run_id = ?')
      .get(runId) as { results_json: string; junit_json: string; log: string } | undefined;
    if (!row) return null;
    return {
      results: JSON.parse(row.results_json) as Results,
      junit: JSON.parse(row.junit_json) as Record<string, string>,
      log: row.log,
    };
  }

  /**
   * The newest run of every recipe that is either still going or finished with a verdict that
   * counts (pass/fail). A cancelled or infrastructure-errored run (verdict `error`) stays in the
   * history but never becomes a recipe's latest or public level (issue 18).
   */
  latestPerRecipe(): RunRow[] {
    return this.db
      .prepare(
        `SELECT r.* FROM runs r
         JOIN (SELECT recipe, MAX(created_at || ' ' || run_id) AS k FROM runs
               WHERE ${COUNTED} OR verdict IS NULL GROUP BY recipe) m
           ON m.recipe = r.recipe AND (r.created_at || ' ' || r.run_id) = m.k
         ORDER BY r.recipe`,
      )
      .all() as RunRow[];
  }

  /** The newest run of a recipe that finished with pass or fail: its level is the public one. */
  latestFinished(recipe: string): RunRow | null {
    return (
      (this.db
        .prepare(
          `SELECT * FROM runs WHERE recipe = ? AND ${COUNTED} ORDER BY created_at DESC, run_id DESC LIMIT 1`,
        )
        .get(recipe) as RunRow | undefined) ?? null
    );
  }

  /** Keyset pagination, newest first. The cursor is the last row's `created_at|run_id`. */
  listRuns(opts: { recipe?: string | undefined; limit: number; cursor?: string | undefined }): {
    runs: RunRow[];
    next: string | null;
  } {
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.recipe) {
      where.push('recipe = ?');
      params.push(opts.recipe);
    }
    if (opts.cursor) {
      const [created, id] = opts.cursor.split('|');
      where.push('(created_at < ? OR (created_at = ? AND run_id < ?))');
      params.push(created, created, id);
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, run_id DESC LIMIT ?`,
      )
      .all(...params, opts.limit + 1) as RunRow[];
    const page = rows.slice(0, opts.limit);
    const last = page.at(-1);
    return {
      runs: page,
      next: rows.length > opts.limit && last ? `${last.created_at}|${last.run_id}` : null,
    };
  }

  countByVerdict(): Array<{ verdict: string; level: number; n: number }> {
    return this.db
      .prepare(
        `SELECT verdict, level, COUNT(*) AS n FROM runs WHERE verdict IS NOT NULL GROUP BY verdict, level`,
      )
      .all() as Array<{ verdict: string; level: number; n: number }>;
  }

  ping(): boolean {
    return (this.db.prepare('SELECT 1 AS ok').get() as { ok: number }).ok === 1;
  }
}
