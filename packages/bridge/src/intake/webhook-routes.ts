/**
 * POST /hooks/gitea: Gitea's signed webhook (docs/platform-facts.md §2).
 *
 * The HMAC-SHA256 signature (X-Gitea-Signature, lowercase hex, no prefix) is checked over the raw
 * body bytes with a timing-safe comparison before anything is parsed. An accepted delivery is
 * stored under its X-Gitea-Delivery id before the 202 is sent and handled asynchronously from
 * the store, so an accepted delivery is never lost and a replayed one is never handled twice.
 * Deliveries that arrive together are committed in one transaction (IntakeStore.storeDelivery),
 * each answered after that commit.
 */
import { sendError } from '../web/http-errors.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { readCommentDelivery, slimDelivery } from '../adapters/gitea/translate.js';
import type { BridgeMetrics } from '../metrics.js';
import { JsonBodyError, parseJsonBounded } from '../web/json-body.js';
import type { DeliveryRetention, IntakeStore } from './intake-store.js';

export interface WebhookDeps {
  readonly secret: string;
  readonly store: IntakeStore;
  readonly metrics: BridgeMetrics;
  /** Wake the worker after a delivery is stored. */
  readonly kick: () => void;
  /** Largest accepted body in bytes (default 1 MiB; Gitea's comment payloads are a few KiB). */
  readonly bodyLimit?: number;
  readonly retention?: DeliveryRetention;
  /** How often handled deliveries are pruned (default hourly, and once at start). */
  readonly pruneIntervalMs?: number;
}

export { MAX_COMMENT_BODY } from '../adapters/gitea/translate.js';

export type DeliveryScreen =
  | { readonly kind: 'candidate'; readonly slim: string }
  | { readonly kind: 'drop'; readonly outcome: string }
  | { readonly kind: 'invalid'; readonly reason: string };

/**
 * Decide from a signed pull_request_comment payload whether it could be a trigger (or earn a
 * grammar reply): a newly created comment on a pull request whose body starts with `!testme`
 * (adapters/gitea/translate.ts reads it through one schema). Anything else is recorded without
 * its body (issue 18: Gitea sends every comment). A candidate is kept as a slim projection of the
 * fields intake reads, each bounded and path-safe.
 */
export function screenDelivery(p: Record<string, unknown>): DeliveryScreen {
  const read = readCommentDelivery(p);
  return read.kind === 'comment' ? { kind: 'candidate', slim: slimDelivery(read.event) } : read;
}

const DELIVERY = /^[A-Za-z0-9-]{1,100}$/;
const SIGNATURE = /^[0-9a-f]{64}$/;

export function signatureOk(secret: string, raw: Buffer, given: string): boolean {
  if (!SIGNATURE.test(given)) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

export async function webhookRoutes(app: FastifyInstance, deps: WebhookDeps): Promise<void> {
  const bodyLimit = deps.bodyLimit ?? 1024 * 1024;
  // Keep the raw bytes: the signature covers them exactly (this parser is scoped to this plugin).
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit },
    (_req, body, done) => done(null, body),
  );

  const retention = deps.retention;
  if (retention) {
    const prune = () => {
      try {
        const n = deps.store.pruneDeliveries(retention);
        if (n > 0) app.log.info({ deleted: n }, 'pruned handled webhook deliveries');
      } catch (err) {
        app.log.warn({ err: (err as Error).message }, 'pruning webhook deliveries failed');
      }
    };
    const timer = setInterval(prune, deps.pruneIntervalMs ?? 3_600_000);
    timer.unref();
    app.addHook('onReady', async () => prune());
    app.addHook('onClose', async () => clearInterval(timer));
  }

  app.post('/hooks/gitea', { bodyLimit }, async (req, reply) => {
    const raw = req.body;
    if (!Buffer.isBuffer(raw)) {
      deps.metrics.webhooks.inc({ outcome: 'invalid' });
      return sendError(reply, 'UNSUPPORTED_MEDIA_TYPE', 'send the webhook as application/json');
    }
    const signature = String(req.headers['x-gitea-signature'] ?? '');
    if (!signatureOk(deps.secret, raw, signature)) {
      deps.metrics.webhooks.inc({ outcome: 'bad_signature' });
      return sendError(
        reply,
        'BAD_SIGNATURE',
        'bad or missing X-Gitea-Signature (HMAC-SHA256 of the body with CCCI_WEBHOOK_SECRET)',
      );
    }
    const delivery = String(req.headers['x-gitea-delivery'] ?? '');
    if (!DELIVERY.test(delivery)) {
      deps.metrics.webhooks.inc({ outcome: 'invalid' });
      return sendError(reply, 'BAD_WEBHOOK', 'missing or malformed X-Gitea-Delivery header');
    }
    const eventType = String(
      req.headers['x-gitea-event-type'] ?? req.headers['x-gitea-event'] ?? '',
    );
    let parsed: unknown;
    try {
      parsed = parseJsonBounded(raw.toString('utf8'));
    } catch (err) {
      deps.metrics.webhooks.inc({ outcome: 'invalid' });
      return sendError(
        reply,
        'BAD_WEBHOOK',
        err instanceof JsonBodyError ? err.message : 'the body is not valid JSON',
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      deps.metrics.webhooks.inc({ outcome: 'invalid' });
      return sendError(reply, 'BAD_WEBHOOK', 'the body is not a JSON object');
    }
    if (eventType !== 'pull_request_comment') {
      deps.metrics.webhooks.inc({ outcome: 'ignored' });
      return reply.code(202).send({
        delivery,
        outcome: 'ignored',
        reason: `event type ${JSON.stringify(eventType)} is not handled (subscribe to "Pull request comments")`,
      });
    }
    const screen = screenDelivery(parsed as Record<string, unknown>);
    if (screen.kind === 'invalid') {
      deps.metrics.webhooks.inc({ outcome: 'invalid' });
      return sendError(reply, 'BAD_WEBHOOK', `refusing the payload: ${screen.reason}`);
    }
    if (screen.kind === 'drop') {
      if (!(await deps.store.storeDelivery({ id: delivery, eventType, outcome: screen.outcome }))) {
        deps.metrics.webhooks.inc({ outcome: 'replay' });
        return reply.code(200).send({ delivery, outcome: 'duplicate' });
      }
      deps.metrics.webhooks.inc({ outcome: 'ignored' });
      return reply.code(202).send({ delivery, outcome: 'ignored', reason: screen.outcome });
    }
    if (!(await deps.store.storeDelivery({ id: delivery, eventType, body: screen.slim }))) {
      deps.metrics.webhooks.inc({ outcome: 'replay' });
      return reply.code(200).send({ delivery, outcome: 'duplicate' });
    }
    deps.metrics.webhooks.inc({ outcome: 'accepted' });
    deps.kick();
    return reply.code(202).send({ delivery, outcome: 'accepted' });
  });
}
