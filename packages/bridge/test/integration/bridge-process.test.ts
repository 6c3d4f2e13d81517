/**
 * The `cc-ci-bridge` process itself: JSON logs without any secret value, intake working from the
 * environment alone, and a graceful SIGTERM (exit 0, work persisted).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  DRONE_TOKEN,
  RECIPE_REPO,
  RESULTS_TOKEN,
  runTokenOf,
  WEBHOOK_SECRET,
  freePort,
  listening,
  spawnBridge,
  startWorld,
  until,
  type World,
} from '../support/intake-kit.js';

let world: (World & { pr: number }) | null = null;
let child: ChildProcess | null = null;

afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = null;
  await world?.close();
  world = null;
});

describe('cc-ci-bridge process', () => {
  it('logs JSON lines that never contain a configured secret, and stops cleanly on SIGTERM', async () => {
    world = await startWorld();
    const w = world;
    const port = await freePort();
    child = spawnBridge(w, {
      PORT: String(port),
      CCCI_DB_PATH: join(w.dir, 'b.sqlite'),
      LOG_LEVEL: 'debug',
      CCCI_POLL_INTERVAL_S: '1',
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    await listening(port, child, () => out);
    w.gitea.addHook(RECIPE_REPO, `http://127.0.0.1:${port}/hooks/gitea`, WEBHOOK_SECRET);
    w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
    await until(() => w.drone.builds.length === 1, 15_000, 'a build');
    // An upload with the token, and one with a wrong token that echoes nothing back.
    await fetch(`http://127.0.0.1:${port}/api/runs/1/progress`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runTokenOf(w, 1)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tiers: { install: 'running' } }),
    });
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child!.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    const lines = out.trim().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(() => JSON.parse(l) as unknown).not.toThrow();
    for (const secret of [w.botToken, DRONE_TOKEN, WEBHOOK_SECRET, RESULTS_TOKEN, runTokenOf(w, 1)])
      expect(out).not.toContain(secret);
    expect(out).toContain('cc-ci-bridge listening');
    expect(out).toContain('shutting down');
  }, 60_000);
});
