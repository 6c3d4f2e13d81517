/**
 * The bridge image (docker/bridge.Dockerfile, built by docker/build-bridge-image.sh on the local
 * ccci/node-base:20): it serves, stores an upload in its volume, stops cleanly on `docker stop`,
 * and refuses a bad configuration with exit 2.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeResults } from '../support/results.js';
import { until } from '../support/intake-kit.js';

const exec = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const tag = `ccci/bridge:test-${Math.random().toString(16).slice(2, 8)}`;
const TOKEN = 'image-results-token-0123456789';

async function docker(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await exec('docker', args, { timeout: 120_000 });
    return { code: 0, out: r.stdout.trim() };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}`.trim() };
  }
}

beforeAll(async () => {
  await exec(
    'bash',
    [join(root, 'docker/build-bridge-image.sh'), '--base', 'ccci/node-base:20', '--tag', tag],
    { timeout: 300_000 },
  );
}, 300_000);

afterAll(async () => {
  await docker(['image', 'rm', '--force', tag]);
});

describe('bridge image', () => {
  it('serves the status page and API, keeps uploads, and stops cleanly', async () => {
    const started = await docker([
      'run',
      '--detach',
      '--publish',
      '127.0.0.1::8080',
      '--env',
      `CCCI_RESULTS_TOKEN=${TOKEN}`,
      '--env',
      'CCCI_REPOS=recipes/notes',
      '--env',
      'CCCI_POLL_INTERVAL_S=0',
      tag,
    ]);
    expect(started.code).toBe(0);
    const id = started.out;
    try {
      const port = (await docker(['port', id, '8080/tcp'])).out.split(':').pop();
      const base = `http://127.0.0.1:${port}`;
      await until(
        async () => {
          try {
            // docker-proxy accepts before the app listens: bound every attempt.
            return (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok;
          } catch {
            return false;
          }
        },
        30_000,
        'the container answering',
      );
      const up = await fetch(`${base}/api/runs/5/results`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ results: makeResults({ run_id: '5', level: 3 }) }),
      });
      expect(up.status).toBe(201);
      expect(await (await fetch(`${base}/badge/notes.svg`)).text()).toContain('level 3');
      expect(await (await fetch(`${base}/`)).text()).toContain('notes');
      expect((await docker(['stop', '--time', '20', id])).code).toBe(0);
      expect((await docker(['wait', id])).out).toBe('0');
      const logs = (await docker(['logs', id])).out;
      expect(logs).toContain('shutting down');
      expect(logs).not.toContain(TOKEN);
    } finally {
      await docker(['rm', '--force', '--volumes', id]);
    }
  }, 120_000);

  it('refuses a bad configuration with exit 2, listing every problem', async () => {
    const r = await docker([
      'run',
      '--rm',
      '--env',
      'CCCI_REPOS=not-a-repo',
      '--env',
      'CCCI_POLL_INTERVAL_S=5',
      tag,
    ]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/CCCI_REPOS\.0: must be owner\/name/);
    expect(r.out).toMatch(/CCCI_GITEA_URL: required/);
  }, 60_000);
});
