import { describe, expect, it } from '@jest/globals';
import { computeLevel, computeVerdict, type Rungs } from './level.js';
import { RUNG_NAMES, RUNG_STATUSES, type RungStatus } from './results.js';

function rungs(...statuses: RungStatus[]): Rungs {
  return Object.fromEntries(
    RUNG_NAMES.map((n, i) => [n, { status: statuses[i] ?? 'skip' }]),
  ) as Rungs;
}

/** Reference model, written independently of the implementation: walk up while pass/skip. */
function expectedLevel(statuses: RungStatus[]): number {
  let level = 0;
  for (let i = 0; i < statuses.length; i++) {
    const s = statuses[i];
    if (s === 'fail' || s === 'unver') return level;
    if (s === 'pass') level = i + 1;
  }
  return level;
}

function* allCombinations(n: number): Generator<RungStatus[]> {
  if (n === 0) {
    yield [];
    return;
  }
  for (const rest of allCombinations(n - 1)) for (const s of RUNG_STATUSES) yield [...rest, s];
}

describe('computeLevel', () => {
  it.each([
    [['pass', 'pass', 'pass', 'pass', 'pass'], 5],
    [['pass', 'skip', 'pass', 'pass', 'unver'], 4],
    [['pass', 'fail', 'pass', 'pass', 'pass'], 1],
    [['unver', 'pass', 'pass', 'pass', 'pass'], 0],
    [['skip', 'skip', 'skip', 'skip', 'skip'], 0],
    [['pass', 'skip', 'skip', 'skip', 'skip'], 1],
    [['skip', 'pass', 'skip', 'skip', 'skip'], 2],
    [['pass', 'pass', 'unver', 'pass', 'pass'], 2],
  ] as Array<[RungStatus[], number]>)('gives %j level %i', (statuses, level) => {
    expect(computeLevel(rungs(...statuses))).toBe(level);
  });

  it('matches the reference model for every one of the 4^5 combinations', () => {
    let count = 0;
    for (const combo of allCombinations(5)) {
      expect(computeLevel(rungs(...combo))).toBe(expectedLevel(combo));
      count++;
    }
    expect(count).toBe(1024);
  });
});

describe('computeVerdict', () => {
  it('is fail when any verdict-bearing rung failed, whatever else happened', () => {
    for (const combo of allCombinations(5)) {
      const bearing = combo.slice(0, 4);
      const verdict = computeVerdict(rungs(...combo));
      if (bearing.includes('fail')) expect(verdict).toBe('fail');
      else if (bearing.includes('unver') || !bearing.includes('pass'))
        expect(verdict).toBe('error');
      else expect(verdict).toBe('pass');
    }
  });

  it('ignores lint: a failing lint keeps a pass verdict', () => {
    expect(computeVerdict(rungs('pass', 'pass', 'pass', 'pass', 'fail'))).toBe('pass');
    expect(computeLevel(rungs('pass', 'pass', 'pass', 'pass', 'fail'))).toBe(4);
  });
});
