import { describe, expect, it } from '@jest/globals';
import { AbortedError, InfraError, RecipeError } from '../errors.js';
import type { RunLogger, TierOutcome } from '../tiers/types.js';
import { runTierWithRetry, type TierRunIo } from './tier-runner.js';

function io(signal = new AbortController().signal) {
  const lines: string[] = [];
  const log: RunLogger = {
    info: (m) => void lines.push(`info ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
    error: (m) => void lines.push(`error ${m}`),
    child: () => log,
  };
  let t = 1000;
  const value: TierRunIo = {
    log,
    signal,
    redact: (text) => text.replaceAll('s3cret', '[redacted]'),
    now: () => (t += 100),
  };
  return { io: value, lines };
}

const attempts = (...results: Array<TierOutcome | Error>) => {
  let calls = 0;
  const fn = async () => {
    const r = results[Math.min(calls++, results.length - 1)]!;
    if (r instanceof Error) throw r;
    return r;
  };
  return { fn, calls: () => calls };
};

describe('runTierWithRetry', () => {
  it('retries once after an infrastructure problem and marks the stage retried', async () => {
    const { fn, calls } = attempts(new InfraError('DOCKER_FAILED', 'daemon hiccup'), {
      status: 'pass',
      tests: [],
    });
    const { io: x, lines } = io();
    const stage = await runTierWithRetry('backup', fn, x);
    expect(calls()).toBe(2);
    expect(stage).toMatchObject({ status: 'pass', retried: true });
    expect(lines.some((l) => l.startsWith('warn infrastructure problem: daemon hiccup'))).toBe(
      true,
    );
  });

  it('reports a second infrastructure problem as unver, without a third attempt', async () => {
    const { fn, calls } = attempts(new InfraError('DOCKER_FAILED', 'down'));
    const stage = await runTierWithRetry('backup', fn, io().io);
    expect(calls()).toBe(2);
    expect(stage).toMatchObject({
      status: 'unver',
      reason: 'down',
      code: 'DOCKER_FAILED',
      retried: true,
    });
    expect(stage.tests).toEqual([
      expect.objectContaining({ name: 'backup', status: 'unver', code: 'DOCKER_FAILED' }),
    ]);
  });

  it('never retries the recipe’s own failure', async () => {
    const { fn, calls } = attempts(new RecipeError('HTTP_FAILED', 'answered 500'));
    const stage = await runTierWithRetry('custom', fn, io().io);
    expect(calls()).toBe(1);
    expect(stage).toMatchObject({ status: 'fail', reason: 'answered 500', code: 'HTTP_FAILED' });
    expect(stage.retried).toBeUndefined();
  });

  it('gives a tier that failed its checks without a code its tier’s check code', async () => {
    const failing = {
      status: 'fail' as const,
      tests: [{ name: 'x', status: 'fail' as const, ms: 1 }],
    };
    expect((await runTierWithRetry('restore', attempts(failing).fn, io().io)).code).toBe(
      'RESTORE_FAILED',
    );
    expect(
      (await runTierWithRetry('lint', attempts({ ...failing, code: 'TOOL_MISSING' }).fn, io().io))
        .code,
    ).toBe('TOOL_MISSING');
    expect(
      (await runTierWithRetry('custom', attempts({ status: 'pass', tests: [] }).fn, io().io)).code,
    ).toBeUndefined();
  });

  it('redacts the reason and every row message', async () => {
    const { fn } = attempts({
      status: 'fail',
      reason: 'leaked s3cret',
      tests: [{ name: 'a', status: 'fail', ms: 1, message: 'has s3cret' }],
    });
    const stage = await runTierWithRetry('custom', fn, io().io);
    expect(stage.reason).toBe('leaked [redacted]');
    expect(stage.tests[0]!.message).toBe('has [redacted]');
  });

  it('lets an abort through untouched, before or during the tier', async () => {
    const ac = new AbortController();
    ac.abort();
    const { fn, calls } = attempts({ status: 'pass', tests: [] });
    await expect(runTierWithRetry('lint', fn, io(ac.signal).io)).rejects.toBeInstanceOf(
      AbortedError,
    );
    expect(calls()).toBe(0);
    const during = attempts(new AbortedError());
    await expect(runTierWithRetry('lint', during.fn, io().io)).rejects.toBeInstanceOf(AbortedError);
    expect(during.calls()).toBe(1);
  });
});
