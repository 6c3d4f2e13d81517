/** Accounting of failed Gitea and Drone requests: the error counter and the contact table. */
import { UpstreamError } from '../adapters/http/http-client.js';
import type { BridgeMetrics } from '../metrics.js';
import type { IntakeStore } from './intake-store.js';

/** Counts an upstream failure and records it as the upstream's last contact; ignores other errors. */
export type NoteFailure = (err: unknown) => void;

export function upstreamFailures(deps: {
  readonly upstreamErrors: BridgeMetrics['upstreamErrors'];
  readonly store: Pick<IntakeStore, 'contact'>;
}): NoteFailure {
  return (err) => {
    if (!(err instanceof UpstreamError)) return;
    const kind = err.status === null ? 'network' : err.status >= 500 ? 'http_5xx' : 'http_4xx';
    deps.upstreamErrors.inc({ upstream: err.upstream, kind });
    deps.store.contact(err.upstream, false, err.message);
  };
}
