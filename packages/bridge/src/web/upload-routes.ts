/** The token routes the plugin posts to: a run's results, and its live progress. */
import { sendError } from './http-errors.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { TIER_NAMES, parseResults } from '@cc-ci/harness-core';
import { CARD_TIER_STATES } from '../domain/card.js';
import { httpLink } from '../domain/links.js';
import type { IntakeStore, TriggerRow } from '../intake/intake-store.js';
import type { BridgeMetrics } from '../metrics.js';
import type { RunsStore } from '../store/runs-store.js';
import { JUNIT_FILE, RUN_ID } from './responses.js';
import type { UploadAuth } from './upload-auth.js';

/**
 * Body limits sized to what each route carries: an upload is results.json (tens of KiB), one
 * JUnit file per tier and the run log, which the plugin caps at its last 1 MiB (JSON escaping can
 * double it); progress is {"tiers": {…}} for six tiers.
 */
export const RESULTS_BODY_LIMIT = 8 * 1024 * 1024;
export const PROGRESS_BODY_LIMIT = 16 * 1024;

const TIER_PROGRESS: ReadonlySet<string> = new Set(CARD_TIER_STATES);
const TIERS: ReadonlySet<string> = new Set(TIER_NAMES);

export interface UploadRoutesDeps {
  readonly store: Pick<RunsStore, 'saveResults'>;
  readonly intakeStore: Pick<IntakeStore, 'setProgress'>;
  readonly uploads: BridgeMetrics['uploads'];
  readonly auth: UploadAuth;
  /** Called after a run's results or progress were stored (the PR card follows). */
  readonly onRunChanged: (runId: string) => void;
}

/**
 * An upload for a trigger must describe that trigger's run (issue 18): the recipe the bridge
 * asked for, the trigger's PR and the head sha it pinned.
 */
function triggerMismatch(
  t: TriggerRow,
  r: { recipe: string; pr: number | null; commit?: string | null | undefined; ref: string },
): string | null {
  const recipe = t.repo.split('/')[1]!;
  if (r.recipe !== recipe)
    return `recipe ${JSON.stringify(r.recipe)}, expected ${JSON.stringify(recipe)}`;
  if (r.pr !== t.pr) return `pr ${JSON.stringify(r.pr)}, expected ${t.pr}`;
  const commit = r.commit ?? r.ref;
  if (t.head_sha !== null && commit !== t.head_sha)
    return `commit ${JSON.stringify(commit)}, expected ${t.head_sha}`;
  return null;
}

const becameBridgeRun = (reply: FastifyReply, runId: string) =>
  sendError(
    reply,
    'RUN_TOKEN_REQUIRED',
    `run ${runId} was started by cc-ci: only the run token of its own Drone build (CCCI_RUN_TOKEN) may upload for it; nothing was stored`,
  );

const badRunId = (reply: FastifyReply, runId: string) =>
  sendError(reply, 'BAD_RUN_ID', `run id ${JSON.stringify(runId)} is not valid`);

/** `junit` of an upload: an object of `<tier>.xml` → XML text, or what is wrong with it. */
function junitFiles(junit: unknown): Record<string, string> | string {
  const files: Record<string, string> = {};
  if (junit === undefined) return files;
  if (typeof junit !== 'object' || junit === null)
    return 'junit must be an object of file name → XML text';
  for (const [name, xml] of Object.entries(junit as Record<string, unknown>)) {
    if (!JUNIT_FILE.test(name) || typeof xml !== 'string')
      return `junit file ${JSON.stringify(name)} is not <tier>.xml with XML text`;
    files[name] = xml;
  }
  return files;
}

export async function uploadRoutes(app: FastifyInstance, deps: UploadRoutesDeps): Promise<void> {
  const { auth, uploads } = deps;

  app.post<{ Params: { runId: string } }>(
    '/api/runs/:runId/results',
    { bodyLimit: RESULTS_BODY_LIMIT, onRequest: auth.gate('results uploads') },
    async (req, reply) => {
      const { runId } = req.params;
      if (!RUN_ID.test(runId)) return badRunId(reply, runId);
      const body = req.body as { results?: unknown; junit?: unknown; log?: unknown } | null;
      let results;
      try {
        results = parseResults(body?.results);
      } catch (err) {
        uploads.inc({ outcome: 'invalid' });
        return sendError(reply, 'RESULTS_INVALID', (err as Error).message);
      }
      if (results.run_id !== runId) {
        uploads.inc({ outcome: 'invalid' });
        return sendError(
          reply,
          'RESULTS_INVALID',
          `results.run_id ${JSON.stringify(results.run_id)} does not match the URL's run id ${JSON.stringify(runId)}`,
        );
      }
      if (auth.becameBridgeRun(req, runId)) {
        uploads.inc({ outcome: 'forbidden' });
        return becameBridgeRun(reply, runId);
      }
      const uploader = auth.uploader(req);
      const mismatch =
        uploader && uploader.kind !== 'shared' ? triggerMismatch(uploader.trigger, results) : null;
      if (mismatch) {
        uploads.inc({ outcome: 'forbidden' });
        return sendError(
          reply,
          'TRIGGER_MISMATCH',
          `results do not match the trigger ${uploader?.kind === 'rerun' ? 'whose run token was sent' : `that started run ${runId}`}: ${mismatch}; nothing was stored`,
        );
      }
      const junit = junitFiles(body?.junit);
      if (typeof junit === 'string') return sendError(reply, 'RESULTS_INVALID', junit);
      const log = typeof body?.log === 'string' ? body.log : '';
      deps.store.saveResults(runId, { results, junit, log });
      uploads.inc({ outcome: 'stored' });
      deps.onRunChanged(runId);
      return reply.code(201).send({ run_id: runId, url: `/runs/${encodeURIComponent(runId)}` });
    },
  );

  // Live progress from the plugin: {"tiers": {"install": "pass", "upgrade": "running"}}.
  app.post<{ Params: { runId: string } }>(
    '/api/runs/:runId/progress',
    { bodyLimit: PROGRESS_BODY_LIMIT, onRequest: auth.gate('progress') },
    async (req, reply) => {
      const { runId } = req.params;
      if (!RUN_ID.test(runId)) return badRunId(reply, runId);
      const tiers = (req.body as { tiers?: unknown } | null)?.tiers;
      if (typeof tiers !== 'object' || tiers === null || Array.isArray(tiers))
        return sendError(reply, 'RESULTS_INVALID', 'body must be {"tiers": {<tier>: <status>}}');
      const progress: Record<string, string> = {};
      for (const [tier, status] of Object.entries(tiers as Record<string, unknown>)) {
        if (!TIERS.has(tier) || typeof status !== 'string' || !TIER_PROGRESS.has(status))
          return sendError(
            reply,
            'RESULTS_INVALID',
            `unknown tier or status: ${JSON.stringify(tier)}`,
          );
        progress[tier] = status;
      }
      // Optional: the step's DRONE_BUILD_LINK, Drone's public build page (the bridge may reach
      // Drone on an internal address only).
      const rawLink = (req.body as { build_link?: unknown }).build_link;
      const buildLink = httpLink(rawLink) ?? undefined;
      if (rawLink !== undefined && buildLink === undefined)
        return sendError(
          reply,
          'RESULTS_INVALID',
          'build_link must be an http(s) URL of at most 1024 characters',
        );
      if (auth.becameBridgeRun(req, runId)) return becameBridgeRun(reply, runId);
      // Runs the bridge does not know (yet) are accepted and ignored: progress is cosmetic.
      const known = deps.intakeStore.setProgress(runId, progress, buildLink);
      if (known) deps.onRunChanged(runId);
      return reply.code(202).send({ run_id: runId, tracked: known });
    },
  );
}
