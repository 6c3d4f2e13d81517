/**
 * Who an upload (results or progress) is from, decided in `onRequest`, before the body is read
 * (docs/security.md#uploads), so a refused request costs no parsing.
 */
import { sendError, type HttpErrorCode } from './http-errors.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { runTokenTriggerId, type RunTokens } from '../domain/run-token.js';
import type { IntakeStore, TriggerRow } from '../intake/intake-store.js';
import type { BridgeMetrics } from '../metrics.js';
import type { RunsStore } from '../store/runs-store.js';
import { RUN_ID } from './responses.js';

/**
 * - `run`: the run token of the trigger that started this run (the only credential a run the
 *   bridge started accepts);
 * - `rerun`: a genuine run token of trigger T on a run the bridge did not start — a Drone UI
 *   re-run copies its parent's params, token included; its results must match T's trigger;
 * - `shared`: CCCI_RESULTS_TOKEN on a run the bridge did not start (curl, a build from before
 *   run tokens): recorded as a run of its own, never on a PR card or status.
 */
export type Uploader =
  | { kind: 'run'; trigger: TriggerRow }
  | { kind: 'rerun'; trigger: TriggerRow }
  | { kind: 'shared' };

export interface UploadAuthDeps {
  readonly store: Pick<RunsStore, 'getRun'>;
  readonly intakeStore: Pick<IntakeStore, 'trigger'>;
  readonly uploads: BridgeMetrics['uploads'];
  readonly resultsToken: string | undefined;
  readonly runTokens: RunTokens | null;
}

type Gate = (
  req: FastifyRequest<{ Params: { runId: string } }>,
  reply: FastifyReply,
) => Promise<FastifyReply | undefined>;

function tokenMatches(given: string, expected: string): boolean {
  // Hash both so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export class UploadAuth {
  private readonly uploaders = new WeakMap<FastifyRequest, Uploader>();

  constructor(private readonly deps: UploadAuthDeps) {}

  /** Who the gate accepted this request from; undefined when it was not gated. */
  uploader(req: FastifyRequest): Uploader | undefined {
    return this.uploaders.get(req);
  }

  /**
   * The body is read between the gate and the handler; if the bridge recorded this run as its own
   * meanwhile, an upload that is not the run's own token is refused after all.
   */
  becameBridgeRun(req: FastifyRequest, runId: string): boolean {
    return (
      this.uploaders.get(req)?.kind !== 'run' && this.deps.store.getRun(runId)?.trigger_id != null
    );
  }

  /** The trigger a genuine run token was derived for, or null. */
  private runTokenTrigger(token: string): TriggerRow | null {
    const { runTokens } = this.deps;
    const id = runTokens ? runTokenTriggerId(token) : null;
    const t = id === null ? null : this.deps.intakeStore.trigger(id);
    return t && runTokens!.verify(token, t) ? t : null;
  }

  /** The onRequest hook of a token route. */
  gate(what: 'results uploads' | 'progress'): Gate {
    return async (req, reply) => {
      const count = (outcome: string) => {
        if (what === 'results uploads') this.deps.uploads.inc({ outcome });
      };
      // Close the connection on every refusal: the unread body is not drained.
      const refuse = (code: HttpErrorCode, error: string, retryAfterS?: string) => {
        if (retryAfterS) reply.header('retry-after', retryAfterS);
        return sendError(reply.header('connection', 'close'), code, error);
      };
      const accept = (u: Uploader) => {
        this.uploaders.set(req, u);
        return undefined;
      };
      const { resultsToken } = this.deps;
      if (!resultsToken && !this.deps.runTokens) {
        count('disabled');
        return refuse(
          'UPLOADS_DISABLED',
          `${what} ${what === 'progress' ? 'is' : 'are'} disabled: set CCCI_RESULTS_TOKEN on the bridge`,
        );
      }
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ')) {
        count('unauthorized');
        return refuse(
          'UNAUTHORIZED',
          "missing Bearer token (the build's CCCI_RUN_TOKEN, or PLUGIN_RESULTS_TOKEN)",
        );
      }
      const given = auth.slice(7);
      const runId = req.params.runId;
      const run = RUN_ID.test(runId) ? this.deps.store.getRun(runId) : null;
      const tokenTrigger = this.runTokenTrigger(given);
      if (run?.trigger_id != null) {
        // Started by the bridge: its own run token and nothing else. The message never echoes
        // what was presented.
        if (tokenTrigger?.id === run.trigger_id)
          return accept({ kind: 'run', trigger: tokenTrigger });
        count('forbidden');
        return refuse(
          'RUN_TOKEN_REQUIRED',
          `run ${runId} was started by cc-ci: only the run token of its own Drone build (CCCI_RUN_TOKEN) may upload for it; the shared results token and other runs' tokens are refused; nothing was stored`,
        );
      }
      if (resultsToken && tokenMatches(given, resultsToken)) return accept({ kind: 'shared' });
      if (tokenTrigger) {
        if (tokenTrigger.build_number === null && tokenTrigger.state === 'queued') {
          // The trigger's build is being created and the bridge has not recorded its number yet
          // (the plugin retries a 5xx). Progress is cosmetic: accepted, and not tracked.
          if (what === 'progress') return accept({ kind: 'rerun', trigger: tokenTrigger });
          count('not_yet_known');
          return refuse(
            'NOT_YET_KNOWN',
            `the bridge has not recorded the Drone build of this run's trigger yet; retry in a few seconds`,
            '5',
          );
        }
        return accept({ kind: 'rerun', trigger: tokenTrigger });
      }
      count('unauthorized');
      return refuse(
        'UNAUTHORIZED',
        "wrong Bearer token: send the build's CCCI_RUN_TOKEN, or PLUGIN_RESULTS_TOKEN equal to CCCI_RESULTS_TOKEN for a build cc-ci did not start",
      );
    };
  }
}
