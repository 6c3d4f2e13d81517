import { describe, expect, it } from '@jest/globals';
import { backoffCeilingMs, backoffMs } from './backoff.js';

describe('backoffCeilingMs', () => {
  it('doubles from the base and stops at the cap', () => {
    const b = { baseMs: 100, capMs: 1_000 };
    expect([0, 1, 2, 3, 4, 5].map((e) => backoffCeilingMs(e, b))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });
  it('clamps a huge exponent (no Infinity)', () => {
    expect(backoffCeilingMs(10_000, { baseMs: 1, capMs: Number.MAX_SAFE_INTEGER })).toBe(2 ** 30);
  });
});

describe('backoffMs', () => {
  const b = { baseMs: 100, capMs: 1_000 };
  it('full jitter (default): whole ms in [0, ceiling)', () => {
    expect(backoffMs(2, b, () => 0)).toBe(0);
    expect(backoffMs(2, b, () => 0.999_999)).toBe(399);
    expect(backoffMs(2, b, () => 0.5)).toBe(200);
  });
  it('equal jitter: in [ceiling/2, ceiling)', () => {
    const e = { ...b, jitter: 'equal' as const };
    expect(backoffMs(2, e, () => 0)).toBe(200);
    expect(backoffMs(2, e, () => 0.5)).toBe(300);
    expect(backoffMs(10, e, () => 0.999)).toBeLessThan(1_000);
  });
  it('a floor applies after jitter', () => {
    expect(backoffMs(2, { ...b, minMs: 250 }, () => 0)).toBe(250);
    expect(backoffMs(2, { ...b, minMs: 250 }, () => 0.9)).toBe(360);
  });
  it('stays within its bounds for any random value', () => {
    for (let i = 0; i < 200; i++) {
      const d = backoffMs(i % 12, b);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(1_000);
      expect(Number.isInteger(d)).toBe(true);
    }
  });
});
