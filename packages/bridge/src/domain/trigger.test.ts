import { describe, expect, it } from '@jest/globals';
import { parseTrigger } from './trigger.js';

describe('parseTrigger', () => {
  it.each([
    ['!testme', false],
    ['  !testme\n', false],
    ['!testme --quick', true],
    ['!testme \t --quick', true],
  ])('%j triggers (quick=%s)', (body, quick) => {
    expect(parseTrigger(body)).toEqual({ kind: 'run', quick });
  });

  it.each([
    '!testme foo',
    '!testme --quick now',
    '!testme --QUICK',
    '!testme\n--quick',
    '!testme -q',
    '!testme  please run',
  ])('%j is malformed (one explanatory reply, never a run)', (body) => {
    expect(parseTrigger(body)).toEqual({ kind: 'malformed' });
  });

  it.each([
    '!testmexyz',
    '> !testme',
    'please !testme',
    '`!testme`',
    '!TESTME',
    '! testme',
    'testme',
    '',
    '!test me',
    '\u200b!testme',
  ])('%j is not a trigger at all', (body) => {
    expect(parseTrigger(body)).toEqual({ kind: 'none' });
  });
});
