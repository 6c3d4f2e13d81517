/**
 * The bridge's HTTP surface for results: upload intake, status page, badges, JSON API, health
 * and metrics. A Fastify plugin taking its dependencies explicitly.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RECIPE_NAME_SOURCE, TIER_NAMES, isRecipeName, parseResults } from '@cc-ci/harness-core';
import { badgeEndpointJson, badgeSvg } from '../domain/badge.js';
import {
  FAVICON,
  STYLE,
  renderIndex,
  renderRecipe,
  renderRun,
  renderTriggers,
  type RecipeListItem,
} from '../domain/html.js';
import { CARD_TIER_STATES } from '../domain/card.js';
import type { IntakeStore, TriggerRow } from '../intake/intake-store.js';
import { runTokenTriggerId, type RunTokens } from '../domain/run-token.js';
import { httpLink } from '../domain/links.js';
import { useBoundedJsonParser } from './json-body.js';
import { OPENAPI } from './openapi.js';
import type { BridgeMetrics } from '../metrics.js';
import type { RunRow, RunsStore } from '../store/runs-store.js';

export interface WebDeps {
  readonly store: RunsStore;
  readonly metrics: BridgeMetrics;
  /** Enrolled repositories (owner/name); the recipe name is the repository name. */
  readonly repos: readonly string[];
  /** The shared upload token (CCCI_RESULTS_TOKEN): accepted only for builds the bridge did not start. */
  readonly resultsToken: string | undefined;
  /** Per-run tokens (CCCI_RUN_TOKEN of each build the bridge started); null: none configured. */
  readonly runTokens: RunTokens | null;
  readonly intakeStore: IntakeStore;
  /** Called after a run's results or progress were stored (the PR card follows). */
  readonly onRunChanged: (runId: string) => void;
  readonly now?: () => Date;
}

const TIER_PROGRESS: ReadonlySet<string> = new Set(CARD_TIER_STATES);
const TIERS: ReadonlySet<string> = new Set(TIER_NAMES);

const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A badge file: `<recipe>.svg` or `<recipe>.json`. */
const BADGE_FILE = new RegExp(`^(${RECIPE_NAME_SOURCE})\\.(svg|json)$`);
/** JUnit uploads are one `<tier>.xml` per tier that ran (docs/results-schema.md). */
const JUNIT_FILE = new RegExp(`^(?:${TIER_NAMES.join('|')})\\.xml$`);
/**
 * Body limits sized to what each route carries: an upload is results.json (tens of KiB), one
 * JUnit file per tier and the run log, which the plugin caps at its last 1 MiB (JSON escaping can
 * double it); progress is {"tiers": {…}} for six tiers.
 */
export const RESULTS_BODY_LIMIT = 8 * 1024 * 1024;
export const PROGRESS_BODY_LIMIT = 16 * 1024;

/** A page cursor as listRuns hands it out: `<created_at>|<run id>`. */
const CURSOR = /^[0-9][0-9T:.+Z-]{9,39}\|[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The `cursor` query parameter: absent, or exactly one well-formed cursor (issue 18: a repeated
 * one gave a 500 and a malformed one silently meant page 1).
 */
function cursorParam(
  q: unknown,
): { ok: true; cursor: string | undefined } | { ok: false; error: string } {
  if (q === undefined) return { ok: true, cursor: undefined };
  if (typeof q !== 'string') return { ok: false, error: 'give cursor at most once' };
  if (!CURSOR.test(q))
    return {
      ok: false,
      error:
        'cursor is not valid: pass back the next_cursor (or "older runs" link) of an earlier page',
    };
  return { ok: true, cursor: q };
}

function tokenMatches(given: string, expected: string): boolean {
  // Hash both so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function html(reply: FastifyReply, body: string, status = 200) {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .send(body);
}

export async function webRoutes(app: FastifyInstance, deps: WebDeps): Promise<void> {
  const now = deps.now ?? (() => new Date());
  const enrolled = () => deps.repos.map((r) => r.split('/')[1]!).filter(isRecipeName);

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });

  // Token routes read their body only after the token was accepted (issue 18: an
  // unauthenticated 15 MB body used to be parsed first). The parser is depth-capped and counts
  // what it parses, per route.
  useBoundedJsonParser(app, (req) =>
    deps.metrics.bodiesParsed.inc({ route: req.routeOptions.url ?? 'unknown' }),
  );

  /**
   * Who an accepted upload is from, decided before the body is read (docs/security.md#uploads):
   * - `run`: the run token of the trigger that started this run (the only credential a run the
   *   bridge started accepts);
   * - `rerun`: a genuine run token of trigger T on a run the bridge did not start — a Drone UI
   *   re-run copies its parent's params, token included; its results must match T's trigger;
   * - `shared`: CCCI_RESULTS_TOKEN on a run the bridge did not start (curl, a build from before
   *   run tokens): recorded as a run of its own, never on a PR card or status.
   */
  type Uploader =
    | { kind: 'run'; trigger: TriggerRow }
    | { kind: 'rerun'; trigger: TriggerRow }
    | { kind: 'shared' };
  const uploaders = new WeakMap<FastifyRequest, Uploader>();

  /** The trigger a genuine run token was derived for, or null. */
  const runTokenTrigger = (token: string): TriggerRow | null => {
    const id = deps.runTokens ? runTokenTriggerId(token) : null;
    const t = id === null ? null : deps.intakeStore.trigger(id);
    return t && deps.runTokens!.verify(token, t) ? t : null;
  };

  /** onRequest: runs before the body is read, so a refused request costs no parsing. */
  const tokenGate =
    (what: 'results uploads' | 'progress') =>
    async (
      req: FastifyRequest<{ Params: { runId: string } }>,
      reply: FastifyReply,
    ): Promise<FastifyReply | undefined> => {
      const count = (outcome: string) => {
        if (what === 'results uploads') deps.metrics.uploads.inc({ outcome });
      };
      // Close the connection on every refusal: the unread body is not drained.
      const refuse = (code: number, error: string) =>
        reply.code(code).header('connection', 'close').send({ error });
      if (!deps.resultsToken && !deps.runTokens) {
        count('disabled');
        return refuse(
          503,
          `${what} ${what === 'progress' ? 'is' : 'are'} disabled: set CCCI_RESULTS_TOKEN on the bridge`,
        );
      }
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ')) {
        count('unauthorized');
        return refuse(
          401,
          "missing Bearer token (the build's CCCI_RUN_TOKEN, or PLUGIN_RESULTS_TOKEN)",
        );
      }
      const given = auth.slice(7);
      const runId = req.params.runId;
      const run = RUN_ID.test(runId) ? deps.store.getRun(runId) : null;
      const tokenTrigger = runTokenTrigger(given);
      if (run?.trigger_id != null) {
        // Started by the bridge: its own run token and nothing else. The message never echoes
        // what was presented.
        if (tokenTrigger?.id === run.trigger_id) {
          uploaders.set(req, { kind: 'run', trigger: tokenTrigger });
          return undefined;
        }
        count('forbidden');
        return refuse(
          403,
          `run ${runId} was started by cc-ci: only the run token of its own Drone build (CCCI_RUN_TOKEN) may upload for it; the shared results token and other runs' tokens are refused; nothing was stored`,
        );
      }
      if (deps.resultsToken && tokenMatches(given, deps.resultsToken)) {
        uploaders.set(req, { kind: 'shared' });
        return undefined;
      }
      if (tokenTrigger) {
        if (tokenTrigger.build_number === null && tokenTrigger.state === 'queued') {
          // The trigger's build is being created and the bridge has not recorded its number yet
          // (the plugin retries a 5xx). Progress is cosmetic: accepted, and not tracked.
          if (what === 'progress') {
            uploaders.set(req, { kind: 'rerun', trigger: tokenTrigger });
            return undefined;
          }
          count('not_yet_known');
          return reply.code(503).header('retry-after', '5').header('connection', 'close').send({
            error: `the bridge has not recorded the Drone build of this run's trigger yet; retry in a few seconds`,
          });
        }
        uploaders.set(req, { kind: 'rerun', trigger: tokenTrigger });
        return undefined;
      }
      count('unauthorized');
      return refuse(
        401,
        "wrong Bearer token: send the build's CCCI_RUN_TOKEN, or PLUGIN_RESULTS_TOKEN equal to CCCI_RESULTS_TOKEN for a build cc-ci did not start",
      );
    };

  /**
   * An upload for a trigger must describe that trigger's run (issue 18): the recipe the bridge
   * asked for, the trigger's PR and the head sha it pinned.
   */
  const triggerMismatch = (
    t: TriggerRow,
    r: { recipe: string; pr: number | null; commit?: string | null | undefined; ref: string },
  ): string | null => {
    const recipe = t.repo.split('/')[1]!;
    if (r.recipe !== recipe)
      return `recipe ${JSON.stringify(r.recipe)}, expected ${JSON.stringify(recipe)}`;
    if (r.pr !== t.pr) return `pr ${JSON.stringify(r.pr)}, expected ${t.pr}`;
    const commit = r.commit ?? r.ref;
    if (t.head_sha !== null && commit !== t.head_sha)
      return `commit ${JSON.stringify(commit)}, expected ${t.head_sha}`;
    return null;
  };

  /**
   * The body is read between the gate and the handler; if the bridge recorded this run as its own
   * meanwhile, an upload that is not the run's own token is refused after all.
   */
  const becameBridgeRun = (req: FastifyRequest, runId: string): boolean =>
    uploaders.get(req)?.kind !== 'run' && deps.store.getRun(runId)?.trigger_id != null;
  const BECAME_BRIDGE_RUN = (runId: string) => ({
    error: `run ${runId} was started by cc-ci: only the run token of its own Drone build (CCCI_RUN_TOKEN) may upload for it; nothing was stored`,
  });

  app.post<{ Params: { runId: string } }>(
    '/api/runs/:runId/results',
    { bodyLimit: RESULTS_BODY_LIMIT, onRequest: tokenGate('results uploads') },
    async (req, reply) => {
      const { runId } = req.params;
      if (!RUN_ID.test(runId))
        return reply.code(400).send({ error: `run id ${JSON.stringify(runId)} is not valid` });
      const body = req.body as { results?: unknown; junit?: unknown; log?: unknown } | null;
      let results;
      try {
        results = parseResults(body?.results);
      } catch (err) {
        deps.metrics.uploads.inc({ outcome: 'invalid' });
        return reply.code(422).send({ error: (err as Error).message });
      }
      if (results.run_id !== runId) {
        deps.metrics.uploads.inc({ outcome: 'invalid' });
        return reply.code(422).send({
          error: `results.run_id ${JSON.stringify(results.run_id)} does not match the URL's run id ${JSON.stringify(runId)}`,
        });
      }
      if (becameBridgeRun(req, runId)) {
        deps.metrics.uploads.inc({ outcome: 'forbidden' });
        return reply.code(403).send(BECAME_BRIDGE_RUN(runId));
      }
      const uploader = uploaders.get(req);
      const mismatch =
        uploader && uploader.kind !== 'shared' ? triggerMismatch(uploader.trigger, results) : null;
      if (mismatch) {
        deps.metrics.uploads.inc({ outcome: 'forbidden' });
        return reply.code(403).send({
          error: `results do not match the trigger ${uploader?.kind === 'rerun' ? 'whose run token was sent' : `that started run ${runId}`}: ${mismatch}; nothing was stored`,
        });
      }
      const junit: Record<string, string> = {};
      if (body?.junit !== undefined) {
        if (typeof body.junit !== 'object' || body.junit === null)
          return reply.code(422).send({ error: 'junit must be an object of file name → XML text' });
        for (const [name, xml] of Object.entries(body.junit as Record<string, unknown>)) {
          if (!JUNIT_FILE.test(name) || typeof xml !== 'string')
            return reply.code(422).send({
              error: `junit file ${JSON.stringify(name)} is not <tier>.xml with XML text`,
            });
          junit[name] = xml;
        }
      }
      const log = typeof body?.log === 'string' ? body.log : '';
      deps.store.saveResults(runId, { results, junit, log });
      deps.metrics.uploads.inc({ outcome: 'stored' });
      deps.onRunChanged(runId);
      return reply.code(201).send({ run_id: runId, url: `/runs/${encodeURIComponent(runId)}` });
    },
  );

  // Live progress from the plugin: {"tiers": {"install": "pass", "upgrade": "running"}}.
  app.post<{ Params: { runId: string } }>(
    '/api/runs/:runId/progress',
    { bodyLimit: PROGRESS_BODY_LIMIT, onRequest: tokenGate('progress') },
    async (req, reply) => {
      const { runId } = req.params;
      if (!RUN_ID.test(runId))
        return reply.code(400).send({ error: `run id ${JSON.stringify(runId)} is not valid` });
      const tiers = (req.body as { tiers?: unknown } | null)?.tiers;
      if (typeof tiers !== 'object' || tiers === null || Array.isArray(tiers))
        return reply.code(422).send({ error: 'body must be {"tiers": {<tier>: <status>}}' });
      const progress: Record<string, string> = {};
      for (const [tier, status] of Object.entries(tiers as Record<string, unknown>)) {
        if (!TIERS.has(tier) || typeof status !== 'string' || !TIER_PROGRESS.has(status))
          return reply.code(422).send({ error: `unknown tier or status: ${JSON.stringify(tier)}` });
        progress[tier] = status;
      }
      // Optional: the step's DRONE_BUILD_LINK, Drone's public build page (the bridge may reach
      // Drone on an internal address only).
      const rawLink = (req.body as { build_link?: unknown }).build_link;
      const buildLink = httpLink(rawLink) ?? undefined;
      if (rawLink !== undefined && buildLink === undefined)
        return reply
          .code(422)
          .send({ error: 'build_link must be an http(s) URL of at most 1024 characters' });
      if (becameBridgeRun(req, runId)) return reply.code(403).send(BECAME_BRIDGE_RUN(runId));
      // Runs the bridge does not know (yet) are accepted and ignored: progress is cosmetic.
      const known = deps.intakeStore.setProgress(runId, progress, buildLink);
      if (known) deps.onRunChanged(runId);
      return reply.code(202).send({ run_id: runId, tracked: known });
    },
  );

  app.get('/api/openapi.json', async (_req, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(OPENAPI),
  );

  app.get('/triggers', async (_req, reply) =>
    html(reply, renderTriggers(deps.intakeStore.recentTriggers(200), now())),
  );

  app.get<{ Querystring: { limit?: string } }>('/api/triggers', async (req, reply) => {
    const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      return reply.code(400).send({ error: 'limit must be an integer from 1 to 500' });
    return {
      triggers: deps.intakeStore.recentTriggers(limit).map((t) => ({
        id: t.id,
        repo: t.repo,
        pr: t.pr,
        comment_id: t.comment_id,
        commenter: t.commenter,
        quick: t.quick === 1,
        state: t.state,
        reason: t.reason,
        head_sha: t.head_sha,
        run_id: t.build_number === null ? null : String(t.build_number),
        attempts: t.attempts,
        last_error: t.last_error,
        created_at: t.created_at,
        updated_at: t.updated_at,
      })),
    };
  });

  app.get('/static/style.css', async (_req, reply) =>
    reply
      .header('content-type', 'text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(STYLE),
  );

  app.get('/static/favicon.svg', async (_req, reply) =>
    reply
      .header('content-type', 'image/svg+xml')
      .header('cache-control', 'public, max-age=86400')
      .send(FAVICON),
  );
  app.get('/favicon.ico', async (_req, reply) => reply.redirect('/static/favicon.svg', 301));

  app.get<{ Querystring: { state?: string } }>('/', async (req, reply) => {
    const latest = new Map(deps.store.latestPerRecipe().map((r) => [r.recipe, r]));
    const names = [...new Set([...enrolled(), ...latest.keys()])].sort();
    const state = req.query.state && req.query.state !== 'all' ? req.query.state : null;
    const items: RecipeListItem[] = names
      .map((recipe) => ({ recipe, latest: latest.get(recipe) ?? null }))
      .filter(({ latest: l }) => {
        if (!state) return true;
        if (state === 'none') return l === null;
        if (state === 'running') return l !== null && l.verdict === null;
        return l?.verdict === state;
      });
    return html(reply, renderIndex(items, state, now()));
  });

  app.get<{ Params: { recipe: string }; Querystring: { cursor?: string | string[] } }>(
    '/recipes/:recipe',
    async (req, reply) => {
      const { recipe } = req.params;
      if (!isRecipeName(recipe))
        return html(reply, '<!doctype html><title>not found</title><p>No such recipe.</p>', 404);
      const c = cursorParam(req.query.cursor);
      if (!c.ok)
        return html(
          reply,
          `<!doctype html><title>bad request</title><p>${c.error.replace(/[<>&"]/g, '')}.</p>`,
          400,
        );
      const page = deps.store.listRuns({ recipe, limit: 50, cursor: c.cursor });
      if (page.runs.length === 0 && !enrolled().includes(recipe) && !c.cursor) {
        return html(reply, '<!doctype html><title>not found</title><p>No such recipe.</p>', 404);
      }
      return html(reply, renderRecipe(recipe, page.runs, page.next, now()));
    },
  );

  const findRun = (runId: string): RunRow | null =>
    RUN_ID.test(runId) ? deps.store.getRun(runId) : null;

  app.get<{ Params: { runId: string } }>('/runs/:runId', async (req, reply) => {
    const run = findRun(req.params.runId);
    if (!run) return html(reply, '<!doctype html><title>not found</title><p>No such run.</p>', 404);
    const artifacts = deps.store.getArtifacts(run.run_id);
    return html(
      reply,
      renderRun(
        run,
        artifacts?.results ?? null,
        Object.keys(artifacts?.junit ?? {}).sort(),
        Boolean(artifacts?.log),
      ),
    );
  });

  // Files are served from stored upload content by exact name: there is no file system path.
  app.get<{ Params: { runId: string; file: string } }>(
    '/runs/:runId/junit/:file',
    async (req, reply) => {
      const artifacts = findRun(req.params.runId)
        ? deps.store.getArtifacts(req.params.runId)
        : null;
      const xml = JUNIT_FILE.test(req.params.file) ? artifacts?.junit[req.params.file] : undefined;
      if (xml === undefined) return reply.code(404).send({ error: 'no such file' });
      return reply
        .header('content-type', 'application/xml; charset=utf-8')
        .header('content-security-policy', CSP)
        .send(xml);
    },
  );

  app.get<{ Params: { runId: string } }>('/runs/:runId/log', async (req, reply) => {
    const artifacts = findRun(req.params.runId) ? deps.store.getArtifacts(req.params.runId) : null;
    if (!artifacts?.log) return reply.code(404).send({ error: 'no log uploaded' });
    return reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('content-security-policy', CSP)
      .send(artifacts.log);
  });

  app.get<{ Params: { file: string } }>('/badge/:file', async (req, reply) => {
    const m = BADGE_FILE.exec(req.params.file);
    if (!m)
      return reply.code(404).send({ error: 'use /badge/<recipe>.svg or /badge/<recipe>.json' });
    const latest = deps.store.latestFinished(m[1]!);
    reply.header('cache-control', 'public, max-age=60');
    if (m[2] === 'json') return reply.send(badgeEndpointJson(latest?.level ?? null));
    return reply
      .header('content-type', 'image/svg+xml; charset=utf-8')
      .send(badgeSvg(latest?.level ?? null));
  });

  app.get('/api/recipes', async () => {
    const latest = new Map(deps.store.latestPerRecipe().map((r) => [r.recipe, r]));
    const names = [...new Set([...enrolled(), ...latest.keys()])].sort();
    return {
      recipes: names.map((recipe) => {
        const l = latest.get(recipe);
        return {
          recipe,
          enrolled: enrolled().includes(recipe),
          latest: l
            ? {
                run_id: l.run_id,
                status: l.status,
                verdict: l.verdict,
                level: l.level,
                version: l.version,
                finished_at: l.finished_at,
              }
            : null,
        };
      }),
    };
  });

  app.get<{ Querystring: { recipe?: string; limit?: string; cursor?: string | string[] } }>(
    '/api/runs',
    async (req, reply) => {
      const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200)
        return reply.code(400).send({ error: 'limit must be an integer from 1 to 200' });
      if (req.query.recipe !== undefined && !isRecipeName(req.query.recipe))
        return reply.code(400).send({ error: 'recipe is not a valid recipe name' });
      const c = cursorParam(req.query.cursor);
      if (!c.ok) return reply.code(400).send({ error: c.error });
      const page = deps.store.listRuns({ recipe: req.query.recipe, limit, cursor: c.cursor });
      return { runs: page.runs, next_cursor: page.next };
    },
  );

  app.get('/healthz', async (_req, reply) => {
    let ok = false;
    try {
      ok = deps.store.ping();
    } catch {
      ok = false;
    }
    const upstreams = ok ? deps.intakeStore.contacts() : [];
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'unavailable',
      store: ok,
      upstreams: Object.fromEntries(
        upstreams.map((u) => [
          u.upstream,
          { last_ok_at: u.last_ok_at, last_error_at: u.last_error_at, last_error: u.last_error },
        ]),
      ),
    });
  });

  app.get('/metrics', async (_req, reply) =>
    reply
      .header('content-type', deps.metrics.registry.contentType)
      .send(await deps.metrics.registry.metrics()),
  );
}
