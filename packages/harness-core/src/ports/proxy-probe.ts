/**
 * The proxy probe port: reaching an app the way Traefik does, over the `proxy` network, from a
 * small container of the run (adapters/docker/proxy-probe.ts is the implementation).
 */
import type { AppEndpoint } from './deployer.js';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly location?: string;
}

/** One task's answer, or why it gave none. */
export interface TaskAnswer {
  readonly address: string;
  readonly answer: HttpAnswer | null;
  readonly error: string | null;
}

export interface ProbeRequest {
  readonly path: string;
  readonly timeoutMs: number;
  /** Ask every task (readiness) or the first address only (a test's request). */
  readonly all: boolean;
}

export interface ProxyProbe {
  readonly container: string;
  get(endpoint: AppEndpoint, request: ProbeRequest): Promise<TaskAnswer[]>;
  close(): Promise<void>;
}

export interface ProxyProbeOptions {
  /** The probe container's name (the run's stack prefix, so teardown finds it). */
  readonly name: string;
  readonly network: string;
  /** A local image with `node`. */
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type { AppEndpoint };
