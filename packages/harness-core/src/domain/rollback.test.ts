import { describe, expect, it } from '@jest/globals';
import type { ServiceInfo } from '../ports/docker.js';
import { judgeUpdate, proveUpgrade } from './rollback.js';

const stack = 'app_ci';
const chaos = `coop-cloud.${stack}.chaos-version`;
const version = `coop-cloud.${stack}.version`;
function svc(
  labels: Record<string, string>,
  update: ServiceInfo['updateStatus'] = null,
  previous: Record<string, string> | null = null,
): ServiceInfo {
  return {
    id: 'x',
    name: `${stack}_app`,
    labels,
    previousLabels: previous,
    image: 'i',
    replicas: 1,
    updateStatus: update,
  };
}

describe('judgeUpdate', () => {
  it.each(['rollback_started', 'rollback_completed', 'rollback_paused', 'paused'])(
    'fails on UpdateStatus %s with swarm’s message',
    (state) => {
      const j = judgeUpdate(
        [svc({ [chaos]: 'abcd1234' }, { state, message: 'update rolled back due to failure' })],
        'abcd1234',
        stack,
      );
      expect(j).toMatchObject({ state: 'failed' });
      expect(j.state === 'failed' && j.reason).toContain('update rolled back due to failure');
    },
  );
  it('fails when the spec was reverted to the previous one', () => {
    const j = judgeUpdate(
      [svc({ [chaos]: 'base0000' }, null, { [chaos]: 'abcd1234' })],
      'abcd1234',
      stack,
    );
    expect(j).toMatchObject({ state: 'failed' });
  });
  it('waits while updating and is done when completed', () => {
    expect(
      judgeUpdate(
        [svc({ [chaos]: 'abcd1234' }, { state: 'updating', message: '' })],
        'abcd1234',
        stack,
      ).state,
    ).toBe('waiting');
    expect(
      judgeUpdate(
        [svc({ [chaos]: 'abcd1234' }, { state: 'completed', message: '' })],
        'abcd1234',
        stack,
      ).state,
    ).toBe('done');
  });
});

describe('proveUpgrade', () => {
  const base = { [`${stack}_app`]: '1.0.0+1' };
  it('passes when the head runs and the version moved', () => {
    const proofs = proveUpgrade({
      services: [svc({ [chaos]: 'abcd1234', [version]: '2.0.0+1' })],
      stack,
      expectChaosVersion: 'abcd1234',
      baseVersions: base,
    });
    expect(proofs.every((p) => p.ok)).toBe(true);
  });
  it('fails when the head was never deployed (no chaos label) and the version did not move', () => {
    const proofs = proveUpgrade({
      services: [svc({ [version]: '1.0.0+1' })],
      stack,
      expectChaosVersion: 'abcd1234',
      baseVersions: base,
    });
    expect(proofs.map((p) => p.ok)).toEqual([false, false]);
    expect(proofs[0]!.message).toMatch(/never deployed/);
    expect(proofs[1]!.message).toMatch(/still labelled 1\.0\.0\+1/);
  });
  it('fails when another commit runs', () => {
    const proofs = proveUpgrade({
      services: [svc({ [chaos]: 'ffff0000', [version]: '2.0.0+1' })],
      stack,
      expectChaosVersion: 'abcd1234',
      baseVersions: base,
    });
    expect(proofs[0]).toMatchObject({ ok: false, message: expect.stringContaining('"ffff0000"') });
  });
});
