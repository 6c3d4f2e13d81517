/** Prometheus metrics: one Registry per app (no global default registry). See docs/metrics.md. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { readFile } from 'node:fs/promises';
import { parseWarmDiskReport, type WarmDiskReport } from '@cc-ci/harness-core';
import type { RunsStore } from './store/runs-store.js';

export interface IntakeGauges {
  /** Accepted triggers waiting for a run slot. */
  queueDepth(): number;
  /** Seconds since the last successful poll, per enrolled repository. */
  pollLagSeconds(): ReadonlyMap<string, number>;
}

export interface BridgeMetrics {
  readonly registry: Registry;
  readonly uploads: Counter<'outcome'>;
  readonly triggers: Counter<'outcome'>;
  readonly upstreamErrors: Counter<'upstream' | 'kind'>;
  readonly webhooks: Counter<'outcome'>;
  /** JSON bodies parsed on the token routes (only ever after the token was accepted). */
  readonly bodiesParsed: Counter<'route'>;
}

export function createMetrics(store: RunsStore): BridgeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ccci_bridge_' });
  const uploads = new Counter({
    name: 'ccci_results_uploads_total',
    help: 'Results uploads received, by outcome (stored, unauthorized, forbidden, invalid, disabled, not_yet_known).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const triggers = new Counter({
    name: 'ccci_triggers_total',
    help: 'Comments handled, by outcome (accepted, refused, malformed, unknown_repo, started, failed, superseded).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const upstreamErrors = new Counter({
    name: 'ccci_upstream_errors_total',
    help: 'Failed requests to Gitea or Drone, by upstream and kind (http_5xx, http_4xx, network).',
    labelNames: ['upstream', 'kind'] as const,
    registers: [registry],
  });
  const webhooks = new Counter({
    name: 'ccci_webhook_deliveries_total',
    help: 'Webhook deliveries, by outcome (accepted, replay, ignored, bad_signature, invalid, too_large).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const bodiesParsed = new Counter({
    name: 'ccci_request_bodies_parsed_total',
    help: 'JSON bodies parsed on the token routes (results, progress), by route; bodies of unauthenticated requests are never read.',
    labelNames: ['route'] as const,
    registers: [registry],
  });
  const metrics: BridgeMetrics = {
    registry,
    bodiesParsed,
    uploads,
    triggers,
    upstreamErrors,
    webhooks,
  };
  new Gauge({
    name: 'ccci_runs',
    help: 'Runs in the store by verdict and level.',
    labelNames: ['verdict', 'level'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const row of store.countByVerdict())
        this.set({ verdict: row.verdict, level: String(row.level) }, row.n);
    },
  });
  new Gauge({
    name: 'ccci_regressions',
    help: 'Recipes whose newest run that counts is a regression: its level is below the last green cold run of the previous release (GET /api/regressions lists them).',
    registers: [registry],
    collect() {
      this.set(store.regressions().length);
    },
  });
  return metrics;
}

/**
 * The intake gauges, read at scrape time from `source` (the intake engine; null when intake is
 * off: no queue, no polls). Registered by the composition root once it knows the engine.
 */
export function registerIntakeGauges(registry: Registry, source: IntakeGauges | null): void {
  new Gauge({
    name: 'ccci_queue_depth',
    help: 'Accepted triggers waiting for a run slot (CCCI_MAX_CONCURRENT_RUNS).',
    registers: [registry],
    collect() {
      this.set(source?.queueDepth() ?? 0);
    },
  });
  new Gauge({
    name: 'ccci_poll_lag_seconds',
    help: 'Seconds since the last successful comment poll, per enrolled repository.',
    labelNames: ['repo'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [repo, s] of source?.pollLagSeconds() ?? new Map<string, number>())
        this.set({ repo }, s);
    },
  });
}

/**
 * The disk the warm canonicals use, from the sweep's warm-disk.json, read at each scrape (a
 * small file; the sweep rewrites it weekly). An unreadable or invalid file gives no series and
 * `ccci_warm_disk_report_ok 0`, never a stale figure.
 */
export function registerWarmDiskGauges(registry: Registry, file: string): void {
  // One read per scrape: a scrape calls every gauge's collect in the same turn of the event
  // loop, so they share the read started by the first; the next turn reads afresh.
  let pending: Promise<WarmDiskReport | null> | null = null;
  const current = (): Promise<WarmDiskReport | null> => {
    if (!pending) {
      pending = readFile(file, 'utf8')
        .then(parseWarmDiskReport)
        .catch(() => null);
      setImmediate(() => (pending = null));
    }
    return pending;
  };
  new Gauge({
    name: 'ccci_warm_disk_report_ok',
    help: "1 when the sweep's warm-disk.json (CCCI_WARM_DISK_FILE) was read and valid at this scrape, else 0.",
    registers: [registry],
    async collect() {
      this.set((await current()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'ccci_warm_volume_bytes',
    help: "Bytes the volumes of each recipe's warm canonical use, as the last sweep measured them.",
    labelNames: ['recipe', 'stack'] as const,
    registers: [registry],
    async collect() {
      const report = await current();
      this.reset();
      for (const r of report?.recipes ?? [])
        this.set({ recipe: r.recipe, stack: r.stack }, r.bytes);
    },
  });
  new Gauge({
    name: 'ccci_warm_volumes',
    help: "Volumes of each recipe's warm canonical, as the last sweep counted them.",
    labelNames: ['recipe'] as const,
    registers: [registry],
    async collect() {
      const report = await current();
      this.reset();
      for (const r of report?.recipes ?? []) this.set({ recipe: r.recipe }, r.volumes);
    },
  });
  new Gauge({
    name: 'ccci_warm_disk_measured_timestamp_seconds',
    help: 'When the last sweep measured the warm volumes (Unix time); 0 when there is no valid report.',
    registers: [registry],
    async collect() {
      const report = await current();
      this.reset();
      if (report) this.set(Date.parse(report.measured_at) / 1000);
    },
  });
}
