import { describe, expect, it } from '@jest/globals';
import { stripAnsi } from './ansi.js';

describe('stripAnsi', () => {
  it('removes colours, resets, cursor and erase codes', () => {
    expect(stripAnsi('\u001b[1;32mok\u001b[0m')).toBe('ok');
    expect(stripAnsi('\u001b[m\u001b[2Kline\u001b[?25l\u001b[?25h')).toBe('line');
  });
  it('leaves plain text and box-drawing tables alone', () => {
    expect(stripAnsi('│ R001 │ rule │ ✅ │')).toBe('│ R001 │ rule │ ✅ │');
    expect(stripAnsi('a [1m b')).toBe('a [1m b');
  });
});
