import { describe, expect, it } from '@jest/globals';
import { DRONE_PARAM_NAMES, ParamError, buildParams, type RunRequest } from './drone-params.js';

const ok: RunRequest = {
  recipe: 'notes',
  pr: 7,
  sha: 'a'.repeat(40),
  src: 'https://git.example/recipes/notes.git',
  quick: false,
  triggerKey: 'gitea-comment:1234',
};

describe('buildParams', () => {
  it('sends exactly the whitelisted keys', () => {
    const p = buildParams({ ...ok, stages: ['install', 'upgrade'], quick: true });
    expect(Object.keys(p).sort()).toEqual([...DRONE_PARAM_NAMES].sort());
    expect(p).toMatchObject({
      RECIPE: 'notes',
      PR: '7',
      REF: 'a'.repeat(40),
      STAGES: 'install,upgrade',
      CCCI_QUICK: '1',
    });
  });

  it.each<[string, Partial<RunRequest>]>([
    ['hostile recipe', { recipe: 'notes;rm -rf /' }],
    ['uppercase recipe', { recipe: 'Notes' }],
    ['newline in recipe', { recipe: 'notes\nPATH=/tmp' }],
    ['short sha', { sha: 'abc123' }],
    ['ref name instead of sha', { sha: 'refs/heads/main' }],
    ['ssh url', { src: 'git@git.example:recipes/notes.git' }],
    ['file url', { src: 'file:///etc' }],
    ['credentials in url', { src: 'https://user:pw@git.example/r.git' }],
    ['space in url', { src: 'https://git.example/r .git' }],
    ['pr zero', { pr: 0 }],
    ['hostile stage', { stages: ['install;id'] }],
    ['hostile key', { triggerKey: 'x\ny' }],
  ])('refuses %s', (_name, over) => {
    expect(() => buildParams({ ...ok, ...over })).toThrow(ParamError);
  });
});
