import { describe, expect, it } from '@jest/globals';
import type { DockerPort, TaskInfo } from '../ports/docker.js';
import type { DeployedApp } from '../ports/deployer.js';
import {
  isProxyFallback,
  judgeTasks,
  probeConverged,
  READY_ROUNDS,
  startTime,
  upSince,
  waitConverged,
} from './readiness.js';

const now = Date.parse('2026-11-22T10:00:00Z');
function task(state: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    id: Math.random().toString(36),
    serviceName: 's_app',
    state,
    desiredState: 'running',
    error: '',
    message: '',
    exitCode: null,
    containerId: null,
    timestamp: '2026-11-22T09:59:50Z',
    ...extra,
  };
}

describe('judgeTasks', () => {
  it.each([
    ['converged when the running tasks reach the replicas', 1, [task('running')], 'ok'],
    ['waiting while a task is starting', 1, [task('starting')], null],
    ['waiting with 1 of 2 running', 2, [task('running'), task('starting')], null],
  ])('is %s', (_n, replicas, tasks, want) => {
    expect(judgeTasks('s_app', replicas as number, tasks as TaskInfo[], now, 60_000)).toBe(want);
  });

  it('does not count a task that started running a moment ago (it may be about to crash)', () => {
    expect(
      judgeTasks('s_app', 1, [task('running', { timestamp: '2026-11-22T09:59:59Z' })], now, 60_000),
    ).toBeNull();
  });

  it('counts a task whose container has run long enough, even if swarm marked it running just now', () => {
    // A healthcheck keeps a task "starting" while its container runs: its uptime is the container's.
    const t = task('running', { id: 't1', timestamp: '2026-11-22T09:59:59.500Z' });
    const longAgo = new Map([['t1', Date.parse('2026-11-22T09:59:54Z')]]);
    const justNow = new Map([['t1', Date.parse('2026-11-22T09:59:58Z')]]);
    expect(judgeTasks('s_app', 1, [t], now, 60_000, longAgo)).toBe('ok');
    expect(judgeTasks('s_app', 1, [t], now, 60_000, justNow)).toBeNull();
    // Another task's start time says nothing about this one.
    expect(judgeTasks('s_app', 1, [t], now, 60_000, new Map([['t2', 0]]))).toBeNull();
  });

  it('fails fast on a crash loop (two failed tasks), quoting the last error and exit code', () => {
    const v = judgeTasks(
      's_app',
      1,
      [
        task('failed', { error: 'task: non-zero exit (3)', exitCode: 3 }),
        task('failed', { error: 'older' }),
      ],
      now,
      60_000,
    );
    expect(v).toMatchObject({ code: 'CRASH_LOOP', name: 'RecipeError' });
    expect((v as Error).message).toContain('"task: non-zero exit (3)" (exit code 3)');
  });
  it('names a missing image as a recipe problem', () => {
    const v = judgeTasks(
      's_app',
      1,
      [task('rejected', { error: 'No such image: x:1' })],
      now,
      60_000,
    );
    expect(v).toMatchObject({ code: 'IMAGE_MISSING', name: 'RecipeError' });
  });
  it('calls a task stuck in new past the limit an infrastructure problem', () => {
    const v = judgeTasks(
      's_app',
      1,
      [task('new', { timestamp: '2026-11-22T09:58:00Z' })],
      now,
      60_000,
    );
    expect(v).toMatchObject({ code: 'TASKS_STUCK', name: 'InfraError' });
  });
  it('calls "no suitable node" an infrastructure problem', () => {
    const v = judgeTasks(
      's_app',
      1,
      [task('rejected', { error: 'no suitable node (scheduling constraints)' })],
      now,
      60_000,
    );
    expect(v).toMatchObject({ name: 'InfraError' });
  });
});

describe('isProxyFallback', () => {
  it('recognises Traefik’s fallback page and nothing else', () => {
    expect(isProxyFallback({ status: 404, body: '404 page not found\n' })).toBe(true);
    expect(isProxyFallback({ status: 404, body: '<h1>Not found</h1>' })).toBe(false);
    expect(isProxyFallback({ status: 200, body: '404 page not found\n' })).toBe(false);
  });
});

describe('upSince and startTime', () => {
  it("takes the container's start when known, else swarm's running time", () => {
    const t = task('running', { id: 't1', timestamp: '2026-11-22T09:59:58Z' });
    expect(upSince(t, new Map())).toBe(Date.parse('2026-11-22T09:59:58Z'));
    expect(upSince(t, new Map([['t1', 5]]))).toBe(5);
    expect(upSince(task('running', { timestamp: '' }), new Map())).toBe(-Infinity);
  });
  it("refuses Go's zero time and garbage (a container that never started)", () => {
    expect(startTime('0001-01-01T00:00:00Z')).toBeNull();
    expect(startTime('')).toBeNull();
    expect(startTime(null)).toBeNull();
    expect(startTime('yesterday')).toBeNull();
    expect(startTime('2026-12-04T21:08:43.506632115Z')).toBe(
      Date.parse('2026-12-04T21:08:43.506Z'),
    );
  });
});

describe('probeConverged', () => {
  const app = { stack: 's' } as DeployedApp;
  const ok = async () => ({ answer: { status: 200, body: 'ok' }, attempts: 1, lastError: null });
  /** Steps whose convergence finds the next running task set of the list each time. */
  const steps = (running: string[], probe = ok) => {
    const seen = { converged: 0, rechecks: 0, replaced: 0 };
    return {
      seen,
      steps: {
        converge: async (recheck: boolean) => {
          if (recheck) seen.rechecks++;
          return running[Math.min(seen.converged++, running.length - 1)]!;
        },
        probe,
        accepted: [200],
        onReplaced: () => void seen.replaced++,
      },
    };
  };

  it('is ready when the tasks that answered are the ones that converged', async () => {
    const { seen, steps: s } = steps(['a', 'a']);
    expect(await probeConverged(app, s)).toBeNull();
    // Converged before the probe and again after it.
    expect(seen).toEqual({ converged: 2, rechecks: 1, replaced: 0 });
  });

  it('converges and probes again when a task was replaced under the probe', async () => {
    const { seen, steps: s } = steps(['a', 'b', 'b', 'b']);
    expect(await probeConverged(app, s)).toBeNull();
    expect(seen).toEqual({ converged: 4, rechecks: 2, replaced: 1 });
  });

  it('calls tasks replaced under every probe a crash loop', async () => {
    const ids = Array.from({ length: 2 * READY_ROUNDS }, (_, i) => `t${i}`);
    const { seen, steps: s } = steps(ids);
    await expect(probeConverged(app, s)).rejects.toMatchObject({
      code: 'CRASH_LOOP',
      name: 'RecipeError',
    });
    expect(seen.converged).toBe(2 * READY_ROUNDS);
  });

  it('gives back a probe that was not accepted, for the caller to explain', async () => {
    const bad = async () => ({ answer: { status: 500, body: 'no' }, attempts: 3, lastError: null });
    const { seen, steps: s } = steps(['a'], bad);
    expect(await probeConverged(app, s)).toMatchObject({ answer: { status: 500 } });
    expect(seen.rechecks).toBe(0);
  });
});

describe('waitConverged', () => {
  const app = { stack: 's' } as DeployedApp;
  it('resolves the running tasks it converged on, and ignores those shutting down', async () => {
    const docker = {
      listServices: async () => [{ name: 's_app', replicas: 2 }],
      listTasks: async () => [
        task('running', { id: 'b' }),
        task('running', { id: 'a' }),
        task('running', { id: 'old', desiredState: 'shutdown' }),
      ],
      containerStartedAt: async () => null,
    } as unknown as DockerPort;
    expect(await waitConverged(docker, app, { timeoutS: 5 })).toBe('a,b');
  });
});
