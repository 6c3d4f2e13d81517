/**
 * Readiness: every service converged N/N, then the HTTP probe passes. Fails fast — long before
 * the deploy timeout — on crash loops, missing images, rejected tasks and tasks stuck in `new`,
 * quoting swarm's task error.
 */
import { AbortedError, InfraError, RecipeError } from '../errors.js';
import type { DockerPort, TaskInfo } from '../ports/docker.js';
import type { DeployedApp } from '../ports/deployer.js';
import type { HttpAnswer, ProxyProbe } from '../adapters/docker/proxy-probe.js';

export interface ReadinessOptions {
  readonly timeoutS: number;
  /** A task may sit in new/pending/assigned this long before it counts as stuck (infra). */
  readonly stuckAfterS?: number;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (line: string) => void;
}

const IMAGE_ERROR =
  /no such image|image .* not found|pull access denied|manifest unknown|repository does not exist/i;
/** How long a task must have been running before it counts towards convergence. */
export const STABLE_RUNNING_MS = 3000;
const EARLY_STATES = new Set(['new', 'pending', 'assigned', 'allocated']);

/** When the container of each task started (ms), by the daemon's State.StartedAt, where known. */
export type ContainerStarts = ReadonlyMap<string, number>;

/**
 * Since when a running task's process has been up: its container's start when known (a task with
 * a healthcheck stays "starting" until healthy while its container already runs, and swarm never
 * restarts a container inside a task: a restart is a new task), else the time swarm marked it
 * running. A task without a timestamp counts as up (as swarm reports it).
 */
export function upSince(task: TaskInfo, startedAt: ContainerStarts): number {
  const started = startedAt.get(task.id);
  if (started !== undefined) return started;
  return task.timestamp ? Date.parse(task.timestamp) : -Infinity;
}

/** A daemon's StartedAt as ms, or null for Go's zero time and anything unparsable. */
export function startTime(startedAt: string | null): number | null {
  if (!startedAt) return null;
  const ms = Date.parse(startedAt);
  return Number.isFinite(ms) && ms > Date.UTC(2000, 0, 1) ? ms : null;
}

/** Pure: judge one service's tasks. null = keep waiting; 'ok' = converged; or an error. */
export function judgeTasks(
  serviceName: string,
  desiredReplicas: number | null,
  tasks: readonly TaskInfo[],
  now: number,
  stuckAfterMs: number,
  startedAt: ContainerStarts = new Map(),
): 'ok' | null | InfraError | RecipeError {
  const imageErr = tasks.find((t) => IMAGE_ERROR.test(t.error));
  if (imageErr) {
    return new RecipeError(
      'IMAGE_MISSING',
      `service ${serviceName}: image problem: "${imageErr.error}"; check the image name and tag in compose.yml`,
    );
  }
  const failed = tasks.filter(
    (t) => t.state === 'failed' || (t.state === 'complete' && t.desiredState !== 'shutdown'),
  );
  if (failed.length >= 2) {
    const last = failed[0]!;
    return new RecipeError(
      'CRASH_LOOP',
      `service ${serviceName} is crash-looping: ${failed.length} tasks failed, last: "${last.error || last.message}"${last.exitCode !== null ? ` (exit code ${last.exitCode})` : ''}; read the service logs in diagnostics/`,
    );
  }
  const rejected = tasks.find((t) => t.state === 'rejected');
  if (rejected) {
    const msg = `service ${serviceName}: task rejected: "${rejected.error || rejected.message}"`;
    return /no suitable node|insufficient resources|address already in use|port .* already/i.test(
      rejected.error,
    )
      ? new InfraError('NO_PLACEMENT', `${msg}; the swarm cannot place it`)
      : new RecipeError('TASK_REJECTED', msg);
  }
  const live = tasks.filter((t) => t.desiredState === 'running');
  const stuck = live.find(
    (t) => EARLY_STATES.has(t.state) && t.timestamp && now - Date.parse(t.timestamp) > stuckAfterMs,
  );
  if (stuck) {
    return new InfraError(
      'TASKS_STUCK',
      `service ${serviceName}: task stuck in "${stuck.state}" for over ${Math.round(stuckAfterMs / 1000)} s${stuck.error ? ` ("${stuck.error}")` : ''}; the swarm may be out of VIPs or resources (try cc-ci vip-guard)`,
    );
  }
  // A task that just started may be about to crash: count it once it has run for a moment.
  const running = live.filter(
    (t) => t.state === 'running' && upSince(t, startedAt) <= now - STABLE_RUNNING_MS,
  ).length;
  const want = desiredReplicas ?? 1;
  return running >= want && want > 0 ? 'ok' : desiredReplicas === 0 ? 'ok' : null;
}

/** Re-examine the app's tasks (e.g. after a failed probe): the task-level error, if any. */
export async function taskProblem(
  docker: DockerPort,
  app: DeployedApp,
): Promise<InfraError | RecipeError | null> {
  for (const svc of await docker.listServices(app.stack)) {
    const verdict = judgeTasks(
      svc.name,
      svc.replicas,
      await docker.listTasks(svc.name),
      Date.now(),
      60_000,
    );
    if (verdict instanceof Error) return verdict;
  }
  return null;
}

/** Converge-and-probe rounds before tasks replaced under the probe count as a crash loop. */
export const READY_ROUNDS = 3;

/**
 * Converge, then probe; the answers count only if the app is still converged after the probe,
 * by the same running tasks as before it (so the tasks that answered are the stable ones), else
 * converge and probe again, at most READY_ROUNDS times. Resolves null when ready, or the probe
 * that was not accepted.
 */
export async function probeConverged(
  app: DeployedApp,
  steps: {
    /** Wait until converged; resolves the running tasks then (waitConverged). */
    converge: (recheck: boolean) => Promise<string>;
    probe: () => Promise<ProbeResult>;
    accepted: readonly number[];
    onReplaced?: () => void;
  },
): Promise<ProbeResult | null> {
  for (let round = 1; ; round++) {
    const converged = await steps.converge(false);
    const probe = await steps.probe();
    if (!probe.answer || !steps.accepted.includes(probe.answer.status)) return probe;
    if ((await steps.converge(true)) === converged) return null;
    if (round === READY_ROUNDS)
      throw new RecipeError(
        'CRASH_LOOP',
        `the tasks of ${app.stack} were replaced while the health path was probed, ${READY_ROUNDS} times in a row; read the service logs in diagnostics/`,
      );
    steps.onReplaced?.();
  }
}

/**
 * Wait until every service has its replicas running and stable; resolves the running tasks of
 * that moment (sorted ids, comma-joined), so a caller can tell whether they were replaced since.
 */
export async function waitConverged(
  docker: DockerPort,
  app: DeployedApp,
  opts: ReadinessOptions,
): Promise<string> {
  const deadline = Date.now() + opts.timeoutS * 1000;
  const stuckAfterMs = (opts.stuckAfterS ?? 60) * 1000;
  let lastState = '';
  const starts = new Map<string, number>();
  const asked = new Set<string>();
  for (;;) {
    if (opts.signal?.aborted) throw new AbortedError();
    const services = await docker.listServices(app.stack);
    const states: string[] = [];
    const runningIds: string[] = [];
    let allOk = services.length > 0;
    for (const svc of services) {
      const tasks = await docker.listTasks(svc.name);
      await learnStarts(docker, tasks, starts, asked);
      const verdict = judgeTasks(svc.name, svc.replicas, tasks, Date.now(), stuckAfterMs, starts);
      if (verdict instanceof Error) throw verdict;
      const running = tasks.filter((t) => t.desiredState === 'running' && t.state === 'running');
      runningIds.push(...running.map((t) => t.id));
      states.push(`${svc.name.slice(app.stack.length + 1)} ${running.length}/${svc.replicas ?? 1}`);
      if (verdict !== 'ok') allOk = false;
    }
    const line = states.join(', ');
    if (line !== lastState) {
      opts.onProgress?.(`converging: ${line || 'no services yet'}`);
      lastState = line;
    }
    if (allOk) return runningIds.sort().join(',');
    if (Date.now() >= deadline) {
      throw new RecipeError(
        'DEPLOY_TIMEOUT',
        `services did not converge within ${opts.timeoutS} s (${line || 'no services'}); raise deploy_timeout_s in recipes/<recipe>/cc-ci.yml if the app is slow to start`,
      );
    }
    await sleep(opts.intervalMs ?? CONVERGE_POLL_MS, opts.signal);
  }
}

/** Convergence re-reads the tasks this often (a few ms each over the Engine API). */
export const CONVERGE_POLL_MS = 100;

/** Ask the daemon once per running task when its container started (none on another node). */
async function learnStarts(
  docker: DockerPort,
  tasks: readonly TaskInfo[],
  starts: Map<string, number>,
  asked: Set<string>,
): Promise<void> {
  for (const t of tasks) {
    if (t.state !== 'running' || !t.containerId || asked.has(t.id)) continue;
    asked.add(t.id);
    const started = startTime(await docker.containerStartedAt(t.containerId).catch(() => null));
    if (started !== null) starts.set(t.id, started);
  }
}

export type { HttpAnswer };

/** Traefik answers unknown hosts with this body: a proxy fallback, not the app. */
export function isProxyFallback(answer: HttpAnswer): boolean {
  return answer.status === 404 && /^404 page not found\s*$/.test(answer.body);
}

export interface ProbeResult {
  readonly answer: HttpAnswer | null;
  readonly attempts: number;
  readonly lastError: string | null;
}

/**
 * Probe the health path, the way Traefik would reach it, until every task of the public service
 * gives an accepted answer or the timeout; returns the last answer (the first task that was not
 * accepted, if any) and why it was not.
 */
export async function probeHttp(
  probe: ProxyProbe,
  app: DeployedApp,
  healthPath: string,
  accepted: readonly number[],
  opts: { timeoutS: number; signal?: AbortSignal; intervalMs?: number },
): Promise<ProbeResult> {
  const deadline = Date.now() + opts.timeoutS * 1000;
  const { service, port, network } = app.endpoint;
  let attempts = 0;
  let answer: HttpAnswer | null = null;
  let lastError: string | null = null;
  for (;;) {
    attempts++;
    try {
      const answers = await probe.get(app.endpoint, {
        path: healthPath,
        timeoutMs: 5000,
        all: true,
      });
      const bad = answers.find(
        (a) => !a.answer || !accepted.includes(a.answer.status) || isProxyFallback(a.answer),
      );
      answer = (bad ?? answers[0])?.answer ?? null;
      lastError =
        answers.length === 0
          ? `no task of ${service} has an address on the "${network}" network`
          : bad && !bad.answer
            ? `task ${bad.address}: ${bad.error ?? 'no answer'} (the load-balancer port label says ${port})`
            : null;
      if (answers.length > 0 && !bad) return { answer, attempts, lastError };
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline || opts.signal?.aborted) return { answer, attempts, lastError };
    await sleep(opts.intervalMs ?? 500, opts.signal);
  }
}

/** Sleep that ends early when the signal aborts (the caller then checks the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
