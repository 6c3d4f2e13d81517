import { describe, expect, it } from '@jest/globals';
import { createMirrorGit } from '../adapters/git/git.js';
import type { ProcessRunner } from '../adapters/process/run-process.js';
import { planSync, pushAuthEnv } from './mirror-sync.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('planSync', () => {
  it('pushes main and the tags that differ, deletes tags upstream lacks, leases each at its old id', () => {
    const up = new Map([
      ['refs/upstream/refs/heads/main', B],
      ['refs/upstream/refs/tags/1.0.0+1', A],
      ['refs/upstream/refs/tags/1.1.0+1', B],
      ['refs/upstream/refs/tags/2.0.0+1', C],
    ]);
    const mirror = new Map([
      ['refs/heads/main', A],
      ['refs/heads/ours', C],
      ['refs/pull/3/head', C],
      ['refs/tags/1.0.0+1', A],
      ['refs/tags/1.1.0+1', A],
      ['refs/tags/0.9.0+1', A],
    ]);
    const plan = planSync(up, mirror);
    expect(plan).toMatchObject({
      main: B,
      mainMoved: true,
      added: ['2.0.0+1'],
      moved: ['1.1.0+1'],
      removed: ['0.9.0+1'],
    });
    expect(plan.refspecs).toEqual([
      'refs/upstream/refs/heads/main:refs/heads/main',
      'refs/upstream/refs/tags/1.1.0+1:refs/tags/1.1.0+1',
      'refs/upstream/refs/tags/2.0.0+1:refs/tags/2.0.0+1',
      ':refs/tags/0.9.0+1',
    ]);
    // Only main and tags are ever named; no `+` (it would void the lease).
    expect(plan.refspecs.every((r) => /(^|:)refs\/(heads\/main|tags\/)/.test(r))).toBe(true);
    expect(plan.refspecs.some((r) => r.startsWith('+'))).toBe(false);
    expect([...plan.leases]).toEqual([
      ['refs/heads/main', A],
      ['refs/tags/1.1.0+1', A],
      ['refs/tags/2.0.0+1', ''],
      ['refs/tags/0.9.0+1', A],
    ]);
  });

  it('has nothing to push when the mirror already follows; refuses an upstream without main', () => {
    const up = new Map([
      ['refs/upstream/refs/heads/main', A],
      ['refs/upstream/refs/tags/1.0.0+1', A],
    ]);
    const mirror = new Map([
      ['refs/heads/main', A],
      ['refs/heads/other', B],
      ['refs/tags/1.0.0+1', A],
    ]);
    expect(planSync(up, mirror)).toMatchObject({ mainMoved: false, refspecs: [] });
    expect(() => planSync(new Map(), mirror)).toThrow(/no main branch/);
  });
});

describe('push credentials', () => {
  const gitea = { url: 'https://git.example', token: 'tok-123', repo: 'o/r' };

  it('scope a basic-auth header to the http(s) mirror URL, and nothing for a path', () => {
    const env = pushAuthEnv('https://git.example/o/r.git', gitea);
    expect(env).toEqual({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.https://git.example/o/r.git.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from('cc-ci:tok-123').toString('base64')}`,
    });
    expect(pushAuthEnv('/srv/mirrors/r', gitea)).toEqual({});
    expect(pushAuthEnv('https://git.example/o/r.git')).toEqual({});
  });

  it('reach git through the environment, never an argument', async () => {
    const calls: Array<{ args: readonly string[]; env: NodeJS.ProcessEnv | undefined }> = [];
    const run: ProcessRunner = async (_p, args, opts) => {
      calls.push({ args, env: opts?.env });
      return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
    };
    const git = createMirrorGit(run, pushAuthEnv('https://git.example/o/r.git', gitea));
    await git.push('/x', 'https://git.example/o/r.git', ['a:b'], new Map([['b', '']]));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args.join(' ')).not.toMatch(/tok-123|Authorization/);
    expect(calls[0]!.args).toEqual(
      expect.arrayContaining(['push', '--atomic', '--force-with-lease=b:', '--', 'a:b']),
    );
    expect(calls[0]!.env?.GIT_CONFIG_VALUE_0).toMatch(/^Authorization: Basic /);
  });
});
