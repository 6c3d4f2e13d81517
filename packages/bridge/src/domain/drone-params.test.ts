import { describe, expect, it } from '@jest/globals';
import { DRONE_PARAM_NAMES, ParamError, buildParams, type RunRequest } from './drone-params.js';
import { RunTokens } from './run-token.js';

const ok: RunRequest = {
  recipe: 'notes',
  pr: 7,
  sha: 'a'.repeat(40),
  src: 'https://git.example/recipes/notes.git',
  quick: false,
  triggerKey: 'gitea-comment:1234',
  runToken: new RunTokens('run-token-secret-0123456789').forTrigger({
    id: 3,
    idempotency_key: 'gitea-comment:1234',
    head_sha: 'a'.repeat(40),
  }),
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
      CCCI_RUN_TOKEN: ok.runToken,
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
    ['run token with a newline', { runToken: `${ok.runToken}\nPATH=/tmp` }],
    ['run token of another shape', { runToken: 'results-token-0123456789' }],
  ])('refuses %s', (_name, over) => {
    expect(() => buildParams({ ...ok, ...over })).toThrow(ParamError);
  });
});
