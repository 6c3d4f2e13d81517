/**
 * POST /hooks/gitea: Gitea's signed webhook (shared/docs/gitea-drone-facts.md §2).
 *
 * The HMAC-SHA256 signature (X-Gitea-Signature, lowercase hex, no prefix) is checked over the raw
 * body bytes with a timing-safe comparison before anything is parsed. An accepted delivery is
 * stored under its X-Gitea-Delivery id before the 202 is sent and handled asynchronously from
 * the store, so an accepted delivery is never lost and a replayed one is never handled twice.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { BridgeMetrics } from '../metrics.js';
import type { IntakeStore } from './intake-store.js';

export interface WebhookDeps {
  readonly secret: string;
  readonly store: IntakeStore;
  readonly metrics: BridgeMetrics;
  /** Wake the worker after a delivery is stored. */
  readonly kick: () => void;
  /** Largest accepted body in bytes (default 1 MiB; Gitea's comment payloads are a few KiB). */
  readonly bodyLimit?: number;
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

  app.post('/hooks/gitea', { bodyLimit }, async (req, reply) => {
    const raw = req.body;
    if (!Buffer.isBuffer(raw)) {
      deps.metrics.webhooks.inc({ outcome: 'invalid' });
      return reply.code(415).send({ error: 'send the webhook as application/json' });
    }
    const signature = String(req.headers['x-gitea-signature'] ?? '');
    if (!signatureOk(deps.secret, raw, signature)) {
      deps.metrics.webhooks.inc({ outcome: 'bad_signature' });
      return reply.code(401).send({
        error:
          'bad or missing X-Gitea-Signature (HMAC-SHA256 of the body with CCCI_WEBHOOK_SECRET)',
      });
    }
    const delivery = String(req.headers['x-gitea-delivery'] ?? '');
    if (!DELIVERY.test(delivery)) {
      deps.metrics.webhooks.inc({ outcome: 'invalid' });
      return reply.code(400).send({ error: 'missing or malformed X-Gitea-Delivery header' });
    }
    const eventType = String(
      req.headers['x-gitea-event-type'] ?? req.headers['x-gitea-event'] ?? '',
    );
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      deps.metrics.webhooks.inc({ outcome: 'invalid' });
      return reply.code(400).send({ error: 'the body is not valid JSON' });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      deps.metrics.webhooks.inc({ outcome: 'invalid' });
      return reply.code(400).send({ error: 'the body is not a JSON object' });
    }
    if (eventType !== 'pull_request_comment') {
      deps.metrics.webhooks.inc({ outcome: 'ignored' });
      return reply.code(202).send({
        delivery,
        outcome: 'ignored',
        reason: `event type ${JSON.stringify(eventType)} is not handled (subscribe to "Pull request comments")`,
      });
    }
    if (!deps.store.saveDelivery(delivery, eventType, raw.toString('utf8'))) {
      deps.metrics.webhooks.inc({ outcome: 'replay' });
      return reply.code(200).send({ delivery, outcome: 'duplicate' });
    }
    deps.metrics.webhooks.inc({ outcome: 'accepted' });
    deps.kick();
    return reply.code(202).send({ delivery, outcome: 'accepted' });
  });
}
