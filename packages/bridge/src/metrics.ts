/** Prometheus metrics: one Registry per app (no global default registry). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunsStore } from './store/runs-store.js';

export interface BridgeMetrics {
  readonly registry: Registry;
  readonly uploads: Counter<'outcome'>;
}

export function createMetrics(store: RunsStore): BridgeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ccci_bridge_' });
  const uploads = new Counter({
    name: 'ccci_results_uploads_total',
    help: 'Results uploads received, by outcome (stored, unauthorized, invalid).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
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
  return { registry, uploads };
}
