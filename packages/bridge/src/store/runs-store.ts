/**
 * Runs and their uploaded results in SQLite: the bridge's own history (never capped by Drone's
 * API page), the source of the status page, badges and API. The one owner of the `runs` and
 * `run_results` tables: every write to them is a method here (intake calls these inside its own
 * transactions).
 */
import type { Results } from '@cc-ci/harness-core';
import type { Db } from '../adapters/sqlite/database.js';
import { FLAKY_WINDOW, type FlakyRecipe } from '../domain/isolation.js';
import { httpLink } from '../domain/links.js';
import {
  judgeRegression,
  type GreenRun,
  type JudgedRun,
  type RecipeRegression,
  type Regression,
} from '../domain/regression.js';
import type { RunView } from '../domain/run-view.js';
import {
  toRunView,
  type ForeignRun,
  type RunRow,
  type StartedRun,
  type StoredArtifacts,
  type UnfinishedRun,
} from './run-rows.js';

export type { ForeignRun, RunRow, StartedRun, StoredArtifacts, UnfinishedRun } from './run-rows.js';

/** Runs whose level is public: finished with a verdict (an `error` is infrastructure or a cancel). */
const COUNTED = `verdict IN ('pass', 'fail')`;
/** A green run: a baseline a later release's level is compared with. */
const GREEN = `verdict = 'pass' AND quick = 0 AND status = 'finished' AND version IS NOT NULL`;

/**
 * Writes to runs, per database connection, and the recipes each touched: every RunsStore on the
 * same connection shares them, so a cache keyed on them is exact (runs has one owner, RunsStore,
 * and every write method records itself before writing). `recipes` maps a recipe to the count
 * of the last write that touched it.
 */
interface RunWrites {
  count: number;
  readonly recipes: Map<string, number>;
}
const runWrites = new WeakMap<object, RunWrites>();

export class RunsStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private ts(): string {
    return this.now().toISOString();
  }

  /**
   * Record the run of a build the bridge started, at `ts`; returns the run's status afterwards
   * (it may already have ended, e.g. on a repeated write). A run the bridge started never keeps
   * what got there without its run token: results uploaded with the shared token, or the
   * watcher's record of it as a foreign build, in the window between Drone's answer and this
   * write (docs/security.md#uploads).
   */
  recordStarted(r: StartedRun, ts: string = this.ts()): string {
    this.changedRuns(r.runId, r.recipe);
    return this.db.transaction(() => {
      if (this.triggerOf(r.runId) === null && this.hasRun(r.runId)) {
        this.db.prepare('DELETE FROM run_results WHERE run_id = ?').run(r.runId);
        this.db.prepare('DELETE FROM runs WHERE run_id = ?').run(r.runId);
      }
      this.db
        .prepare(
          `INSERT INTO runs (run_id, trigger_id, recipe, repo, pr, ref, head_sha, quick, status, drone_status, build_link, created_at, updated_at)
           VALUES (@run_id, @trigger_id, @recipe, @repo, @pr, @ref, @head_sha, @quick, @status, @drone_status, @build_link, @ts, @ts)
           ON CONFLICT (run_id) DO UPDATE SET trigger_id = excluded.trigger_id, repo = excluded.repo, pr = COALESCE(runs.pr, excluded.pr),
             head_sha = COALESCE(runs.head_sha, excluded.head_sha), build_link = COALESCE(runs.build_link, excluded.build_link), updated_at = excluded.updated_at`,
        )
        .run({
          run_id: r.runId,
          trigger_id: r.triggerId,
          recipe: r.recipe,
          repo: r.repo,
          pr: r.pr,
          ref: r.headSha,
          head_sha: r.headSha,
          quick: r.quick,
          status: r.droneStatus === 'running' ? 'running' : 'queued',
          drone_status: r.droneStatus,
          build_link: r.buildLink,
          ts,
        });
      return (
        this.db.prepare('SELECT status FROM runs WHERE run_id = ?').get(r.runId) as {
          status: string;
        }
      ).status;
    })();
  }

  /** A build the bridge did not start: tracked from its params (never replaces a known run). */
  insertForeign(r: ForeignRun): void {
    this.changedRuns(r.runId, r.recipe);
    this.db
      .prepare(
        `INSERT OR IGNORE INTO runs (run_id, recipe, repo, pr, ref, head_sha, quick, status, drone_status, build_link, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.runId,
        r.recipe,
        r.repo,
        r.pr,
        r.ref,
        r.ref && /^[0-9a-f]{40}$/.test(r.ref) ? r.ref : null,
        r.quick ? 1 : 0,
        r.status,
        r.droneStatus,
        r.link,
        r.created,
        this.ts(),
      );
  }

  /** Drone's view of an unfinished run: its build status, and when the build finished. */
  updateDrone(
    runId: string,
    droneStatus: string,
    status: 'queued' | 'running',
    finishedAt: string | null,
  ): void {
    this.changedRuns(runId);
    this.db
      .prepare(
        `UPDATE runs SET drone_status = ?, status = ?, drone_finished_at = COALESCE(drone_finished_at, ?), started_at = COALESCE(started_at, CASE WHEN ? = 'running' THEN ? END), updated_at = ? WHERE run_id = ? AND status IN ('queued', 'running')`,
      )
      .run(droneStatus, status, finishedAt, status, this.ts(), this.ts(), runId);
  }

  /** When the build was first seen blocked/waiting (null: it no longer waits). */
  setDroneWaitingSince(runId: string, since: string | null): void {
    this.changedRuns(runId);
    this.db
      .prepare(`UPDATE runs SET drone_waiting_since = ?, updated_at = ? WHERE run_id = ?`)
      .run(since, this.ts(), runId);
  }

  /** An unfinished run's build ended and no results came: a truthful final state. */
  fail(runId: string, droneStatus: string, message: string): void {
    this.changedRuns(runId);
    const ts = this.ts();
    this.db
      .prepare(
        `UPDATE runs SET status = 'error', drone_status = ?, verdict = 'error', level = 0, error = ?, finished_at = ?, updated_at = ? WHERE run_id = ? AND status IN ('queued', 'running')`,
      )
      .run(droneStatus, message, ts, ts, runId);
  }

  /**
   * Live tier progress of an unfinished run; false when no such run is going. `buildLink`: the
   * DRONE_BUILD_LINK the plugin reported (Drone's public build page); it wins.
   */
  setProgress(runId: string, progress: Record<string, string>, buildLink?: string): boolean {
    this.changedRuns(runId);
    const res = this.db
      .prepare(
        `UPDATE runs SET progress = ?, status = 'running', started_at = COALESCE(started_at, ?), build_link = COALESCE(?, build_link), updated_at = ? WHERE run_id = ? AND status IN ('queued', 'running')`,
      )
      .run(JSON.stringify(progress), this.ts(), buildLink ?? null, this.ts(), runId);
    return res.changes > 0;
  }

  hasRun(runId: string): boolean {
    return this.db.prepare('SELECT 1 FROM runs WHERE run_id = ?').get(runId) !== undefined;
  }

  /** The trigger behind a run; null for a build the bridge did not start or an unknown run. */
  triggerOf(runId: string): number | null {
    const run = this.db.prepare('SELECT trigger_id FROM runs WHERE run_id = ?').get(runId) as
      { trigger_id: number | null } | undefined;
    return run?.trigger_id ?? null;
  }

  unfinished(): UnfinishedRun[] {
    return this.db
      .prepare(
        `SELECT run_id, trigger_id, status, drone_status, drone_finished_at, drone_waiting_since FROM runs WHERE status IN ('queued', 'running')`,
      )
      .all() as UnfinishedRun[];
  }

  /** Store an uploaded run (insert or replace the run's results; the run row is upserted). */
  saveResults(runId: string, a: StoredArtifacts): void {
    this.changedRuns(runId, a.results.recipe);
    const r = a.results;
    const ts = this.now().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO runs (run_id, recipe, pr, ref, head_sha, quick, status, build_link, verdict, level, version, error, isolation, created_at, started_at, finished_at, updated_at)
           VALUES (@run_id, @recipe, @pr, @ref, @head_sha, @quick, 'finished', @build_link, @verdict, @level, @version, @error, @isolation, @created_at, @started_at, @finished_at, @updated_at)
           ON CONFLICT (run_id) DO UPDATE SET recipe = excluded.recipe, pr = COALESCE(excluded.pr, runs.pr), ref = excluded.ref,
             head_sha = COALESCE(excluded.head_sha, runs.head_sha), quick = excluded.quick, status = 'finished',
             build_link = COALESCE(excluded.build_link, runs.build_link), verdict = excluded.verdict, level = excluded.level,
             version = excluded.version, error = excluded.error, isolation = excluded.isolation, started_at = excluded.started_at,
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
          isolation: r.isolation?.label ?? null,
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

  /** The run as the status page shows it. */
  runView(runId: string): RunView | null {
    const row = this.getRun(runId);
    return row ? toRunView(row) : null;
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
   * One stored JUnit file of a run (`<tier>.xml`), read out of junit_json by SQLite; null when
   * the run has no such file. Neither the results nor the other files are read or parsed.
   */
  junitFile(runId: string, file: string): string | null {
    const row = this.db
      .prepare(
        `SELECT j.value AS xml FROM run_results r, json_each(r.junit_json) j
         WHERE r.run_id = ? AND j.key = ? AND j.type = 'text'`,
      )
      .get(runId, file) as { xml: string } | undefined;
    return row?.xml ?? null;
  }

  /** A run's stored log alone; null when no results were uploaded. */
  runLog(runId: string): string | null {
    const row = this.db.prepare('SELECT log FROM run_results WHERE run_id = ?').get(runId) as
      { log: string } | undefined;
    return row?.log ?? null;
  }

  /**
   * The newest run of every recipe that is either still going or finished with a verdict that
   * counts (pass/fail). A cancelled or infrastructure-errored run (verdict `error`) stays in the
   * history but never becomes a recipe's latest or public level (issue 18).
   */
  latestPerRecipe(): readonly RunView[] {
    return this.cached('latest', () =>
      [
        ...this.perRecipe(
          'latest',
          () => new Map(this.readLatestPerRecipe().map((v) => [v.recipe, v])),
          (recipe) => {
            const row = this.db
              .prepare(
                `SELECT * FROM runs WHERE recipe = ? AND (${COUNTED} OR verdict IS NULL)
                 ORDER BY created_at DESC, run_id DESC LIMIT 1`,
              )
              .get(recipe) as RunRow | undefined;
            return row ? toRunView(row) : null;
          },
        ).values(),
      ].sort((a, b) => (a.recipe < b.recipe ? -1 : a.recipe > b.recipe ? 1 : 0)),
    );
  }

  private readLatestPerRecipe(): RunView[] {
    const rows = this.db
      .prepare(
        `SELECT r.* FROM runs r
         JOIN (SELECT recipe, MAX(created_at || ' ' || run_id) AS k FROM runs
               WHERE ${COUNTED} OR verdict IS NULL GROUP BY recipe) m
           ON m.recipe = r.recipe AND (r.created_at || ' ' || r.run_id) = m.k
         ORDER BY r.recipe`,
      )
      .all() as RunRow[];
    return rows.map(toRunView);
  }

  /** The newest run of a recipe that finished with pass or fail: its level is the public one. */
  latestFinished(recipe: string): RunView | null {
    const row = this.db
      .prepare(
        `SELECT * FROM runs WHERE recipe = ? AND ${COUNTED} ORDER BY created_at DESC, run_id DESC LIMIT 1`,
      )
      .get(recipe) as RunRow | undefined;
    return row ? toRunView(row) : null;
  }

  /** Keyset pagination, newest first. The cursor is the last row's `created_at|run_id`. */
  listRuns(opts: { recipe?: string | undefined; limit: number; cursor?: string | undefined }): {
    runs: RunView[];
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
      runs: page.map(toRunView),
      next: rows.length > opts.limit && last ? `${last.created_at}|${last.run_id}` : null,
    };
  }

  /**
   * The recipe's green cold runs: per version, its newest run with verdict pass, mode cold
   * (domain/regression.ts picks the previous release's baseline from them).
   */
  greenRuns(recipe: string): GreenRun[] {
    return this.db
      .prepare(
        `SELECT run_id AS runId, version, level, MAX(created_at || '|' || run_id) AS key FROM runs
         WHERE recipe = ? AND ${GREEN} GROUP BY version`,
      )
      .all(recipe) as GreenRun[];
  }

  /** Each recipe's highest green level: a run at or above it cannot be a regression. */
  private topGreenLevels(): Map<string, number> {
    const rows = this.db
      .prepare(`SELECT recipe, MAX(level) AS top FROM runs WHERE ${GREEN} GROUP BY recipe`)
      .all() as Array<{ recipe: string; top: number }>;
    return new Map(rows.map((r) => [r.recipe, r.top]));
  }

  private rungsOf(runId: string): JudgedRun['rungs'] {
    const row = this.db
      .prepare('SELECT results_json FROM run_results WHERE run_id = ?')
      .get(runId) as { results_json: string } | undefined;
    return row ? (JSON.parse(row.results_json) as Results).rungs : undefined;
  }

  private judge(row: RunRow): Regression | null {
    const greens = this.greenRuns(row.recipe);
    const run = { runId: row.run_id, version: row.version, verdict: row.verdict, level: row.level };
    // Levels decide; stored results are parsed only to name the lost rung of a regression.
    if (!judgeRegression(run, greens, () => undefined)) return null;
    return judgeRegression({ ...run, rungs: this.rungsOf(row.run_id) }, greens, (id) =>
      this.rungsOf(id),
    );
  }

  /**
   * Whether this run is a regression against its recipe's previous release (the PR card). The
   * caller hands in the row it already read (getRun); it is not read again.
   */
  regressionOf(row: RunRow): Regression | null {
    return this.judge(row);
  }

  /**
   * Current regressions: each recipe whose newest run that counts (pass/fail) is one. Judging
   * reads every recipe's stored results, so the answer is kept until a run's verdict, level,
   * version or status changes: every such write (all through a RunsStore on this connection)
   * counts in `runWrites` (the status page, /api/regressions and the gauge ask on every request).
   */
  regressions(): readonly RecipeRegression[] {
    return this.cached('regressions', () =>
      [
        ...this.perRecipe(
          'regressions',
          () => new Map(this.judgeRegressions().map((r) => [r.recipe, r])),
          (recipe) => this.regressionOfRecipe(recipe),
        ).values(),
      ].sort((a, b) => (a.recipe < b.recipe ? -1 : a.recipe > b.recipe ? 1 : 0)),
    );
  }

  /** The recipe's current regression: its newest counted run judged, as judgeRegressions does. */
  private regressionOfRecipe(recipe: string): RecipeRegression | null {
    const row = this.db
      .prepare(
        `SELECT * FROM runs WHERE recipe = ? AND verdict IN ('pass', 'fail')
         ORDER BY created_at DESC, run_id DESC LIMIT 1`,
      )
      .get(recipe) as RunRow | undefined;
    if (!row) return null;
    const r = this.judge(row);
    return r ? { recipe, ...r } : null;
  }

  /**
   * What the status page, the API and the gauges ask on every request, computed once per write
   * to runs (`runWrites`): exact, since every write goes through this store and bumps the count.
   */
  private cached<T>(name: string, compute: () => T): T {
    const key = this.writes().count;
    const hit = this.cache.get(name);
    if (hit?.key === key) return hit.value as T;
    const value = compute();
    this.cache.set(name, { key, value });
    return value;
  }

  private readonly cache = new Map<string, { key: number; value: unknown }>();

  private writes(): RunWrites {
    let w = runWrites.get(this.db);
    if (!w) runWrites.set(this.db, (w = { count: 0, recipes: new Map() }));
    return w;
  }

  /** Record a write to run `runId`: its recipe now and, when given, the one it will have. */
  private changedRuns(runId: string, recipe?: string): void {
    const w = this.writes();
    w.count++;
    const row = this.db.prepare('SELECT recipe FROM runs WHERE run_id = ?').get(runId) as
      { recipe: string } | undefined;
    for (const r of [row?.recipe, recipe]) if (r) w.recipes.set(r, w.count);
  }

  /**
   * A per-recipe answer kept up to date: the first read computes every recipe, each later read
   * recomputes only the recipes written since (a status page load after an upload re-reads one
   * recipe, not a thousand).
   */
  private perRecipe<T>(
    name: string,
    all: () => Map<string, T>,
    one: (recipe: string) => T | null,
  ): Map<string, T> {
    const w = this.writes();
    const hit = this.views.get(name) as { seen: number; value: Map<string, T> } | undefined;
    if (!hit) {
      const value = all();
      this.views.set(name, { seen: w.count, value });
      return value;
    }
    if (hit.seen === w.count) return hit.value;
    const value = new Map(hit.value);
    for (const [recipe, at] of w.recipes) {
      if (at <= hit.seen) continue;
      const fresh = one(recipe);
      if (fresh === null) value.delete(recipe);
      else value.set(recipe, fresh);
    }
    this.views.set(name, { seen: w.count, value });
    return value;
  }

  private readonly views = new Map<string, unknown>();

  private judgeRegressions(): RecipeRegression[] {
    // Each recipe's newest counted run, found through the (recipe, created_at) index.
    const rows = this.db
      .prepare(
        `SELECT r.* FROM (SELECT DISTINCT recipe FROM runs) d
         JOIN runs r ON r.run_id = (
           SELECT x.run_id FROM runs x WHERE x.recipe = d.recipe AND x.verdict IN ('pass', 'fail')
           ORDER BY x.created_at DESC, x.run_id DESC LIMIT 1)
         ORDER BY r.recipe`,
      )
      .all() as RunRow[];
    const top = this.topGreenLevels();
    const out: RecipeRegression[] = [];
    for (const row of rows) {
      // Only a run below the recipe's best green level can be below its previous release's.
      if (row.level === null || row.level >= (top.get(row.recipe) ?? 0)) continue;
      const r = this.judge(row);
      if (r) out.push({ recipe: row.recipe, ...r });
    }
    return out;
  }

  /**
   * "Flaky recently": each recipe with a run labelled flaky among its last FLAKY_WINDOW runs
   * (newest by created_at, then run id; every run of its history counts), with how many, by
   * recipe. One query: the recipes with a flaky run come from the partial index runs_flaky, and
   * only their newest runs are read (through runs_recipe): well under a millisecond with 1,000
   * recipes × 30 runs and a few flaky ones, about 11 ms when every recipe has one.
   */
  flakyRecently(window: number = FLAKY_WINDOW): readonly FlakyRecipe[] {
    return this.cached(`flaky-${window}`, () => this.readFlakyRecently(window));
  }

  private readFlakyRecently(window: number): FlakyRecipe[] {
    return this.db
      .prepare(
        `SELECT f.recipe, SUM(l.isolation = 'flaky') AS flaky, COUNT(*) AS runs
         FROM (SELECT DISTINCT recipe FROM runs WHERE isolation = 'flaky') f
         JOIN runs l ON l.run_id IN (
           SELECT x.run_id FROM runs x WHERE x.recipe = f.recipe
           ORDER BY x.created_at DESC, x.run_id DESC LIMIT ?)
         GROUP BY f.recipe HAVING flaky > 0 ORDER BY f.recipe`,
      )
      .all(window) as FlakyRecipe[];
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
