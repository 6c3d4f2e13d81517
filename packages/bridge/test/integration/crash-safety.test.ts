/**
 * Crash safety: the real `cc-ci-bridge` process is SIGKILLed at many points while it handles a
 * `!testme` — every request it makes to Gitea or Drone is a kill point, both when the request
 * arrives and after its answer was sent — then started again on the same SQLite file. Every time,
 * the trigger must end with exactly one Drone build, one cc-ci comment and a pending status.
 *
 * Deliveries: Gitea does not retry a failed webhook delivery by itself; when the kill happened
 * before the bridge answered 202, the test presses "redeliver" as an operator would (and the
 * polling scenarios need nothing of the sort: the persisted cursor finds the comment).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CARD_MARKER } from '../../src/domain/card.js';
import { STATUS_CONTEXT } from '../../src/intake/engine.js';
import {
  RECIPE_REPO,
  WEBHOOK_SECRET,
  exited,
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
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited(child);
  }
  child = null;
  await world?.close();
  world = null;
});

type Phase = 'received' | 'answered';

async function scenario(
  path: 'webhook' | 'poll',
  killAt: number,
  phase: Phase,
): Promise<{ killedAt: string }> {
  world = await startWorld();
  const w = world;
  const port = await freePort();
  const env = {
    PORT: String(port),
    CCCI_DB_PATH: join(w.dir, 'bridge.sqlite'),
    CCCI_POLL_INTERVAL_S: path === 'poll' ? '1' : '0',
    CCCI_TUNE_POLL_MS: '100',
    CCCI_TUNE_PROGRESS_MS: '0',
  };
  let seen = 0;
  let killedAt = '';
  const start = () => {
    const c = spawnBridge(w, env);
    c.stdout?.resume();
    c.stderr?.resume();
    return c;
  };
  child = start();
  const first = child;
  const hook = (ph: Phase, ex: { method: string; path: string }) => {
    if (ph !== phase || killedAt) return;
    seen++;
    if (seen === killAt) {
      killedAt = `${ex.method} ${ex.path} (${ph})`;
      first.kill('SIGKILL');
    }
  };
  w.gitea.http.onExchange = hook;
  w.drone.http.onExchange = hook;
  await listening(port, first, () => '', true);
  if (path === 'webhook')
    w.gitea.addHook(RECIPE_REPO, `http://127.0.0.1:${port}/hooks/gitea`, WEBHOOK_SECRET);
  const sha = w.gitea.pull(RECIPE_REPO, w.pr)!.headSha;
  w.gitea.comment(RECIPE_REPO, w.pr, 'maintainer', '!testme');
  const done = () =>
    w.drone.builds.length >= 1 &&
    w.gitea.commentsOn(RECIPE_REPO, w.pr).some((c) => c.body.startsWith(CARD_MARKER)) &&
    w.gitea.latestStatus(RECIPE_REPO, sha, STATUS_CONTEXT)?.state === 'pending';
  await until(() => Boolean(killedAt) || done(), 15_000, 'the kill point or completion');
  if (killedAt) {
    await exited(first);
    await w.gitea.settled();
    child = start();
    await listening(port, child);
    const delivery = w.gitea.deliveries.find((d) => d.body.includes('"body": "!testme"'));
    if (path === 'webhook' && delivery && delivery.status !== 202 && delivery.status !== 200) {
      const again = await w.gitea.redeliver(delivery);
      expect([200, 202]).toContain(again);
    }
  }
  await until(done, 15_000, `completion after a kill at ${killedAt || 'nothing'}`);
  // Give a duplicate every chance to appear.
  await new Promise((r) => setTimeout(r, 400));
  await w.gitea.settled();
  expect(w.drone.builds).toHaveLength(1);
  expect(
    w.gitea.commentsOn(RECIPE_REPO, w.pr).filter((c) => c.body.startsWith(CARD_MARKER)),
  ).toHaveLength(1);
  expect(w.gitea.commentsOn(RECIPE_REPO, w.pr).filter((c) => c.login === 'ccci-bot')).toHaveLength(
    1,
  );
  child.kill('SIGTERM');
  await exited(child);
  return { killedAt };
}

describe('SIGKILL at every request of a !testme, then restart', () => {
  const points: Array<['webhook' | 'poll', number, Phase]> = [];
  for (let k = 1; k <= 10; k++)
    for (const ph of ['received', 'answered'] as const) points.push(['webhook', k, ph]);
  for (let k = 1; k <= 5; k++)
    for (const ph of ['received', 'answered'] as const) points.push(['poll', k, ph]);

  const killed: string[] = [];
  it.each(points)(
    '%s path, killed at request %i (%s): exactly one build and one ack',
    async (path, k, ph) => {
      const { killedAt } = await scenario(path, k, ph);
      if (killedAt) killed.push(`${path}: ${killedAt}`);
    },
  );

  it('really killed the bridge at many distinct points', () => {
    // Guard against a test that never kills: most scenarios must have hit their kill point.
    expect(killed.length).toBeGreaterThanOrEqual(20);
    expect(new Set(killed).size).toBeGreaterThanOrEqual(12);
  });
});
