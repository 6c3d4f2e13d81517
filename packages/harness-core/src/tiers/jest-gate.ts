/**
 * Jest's globalSetup for a recipe's tests (tiers/custom.ts). The custom tier starts Jest while
 * the swarm starts the app, so that Jest has loaded and found the test files by the time the
 * tier begins; this gate holds it there until the tier writes the app's context file (named by
 * CCCI_CONTEXT). No test file is loaded before that. An orphaned Jest never waits for ever: it
 * gives up when cc-ci, its parent, is gone, and after CCCI_GATE_MS.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const POLL_MS = 10;
/** When CCCI_GATE_MS is not a positive number. */
const DEFAULT_GATE_MS = 3 * 60 * 60_000;

export default async function gate(): Promise<void> {
  const file = process.env.CCCI_CONTEXT;
  if (!file) throw new Error('CCCI_CONTEXT is not set: these tests are run by cc-ci');
  const parent = process.ppid;
  const limit = Number(process.env.CCCI_GATE_MS);
  const limitMs = Number.isFinite(limit) && limit > 0 ? limit : DEFAULT_GATE_MS;
  const deadline = Date.now() + limitMs;
  while (!existsSync(file)) {
    if (process.ppid !== parent) throw new Error('cc-ci, which started these tests, is gone');
    if (Date.now() >= deadline)
      throw new Error(`the custom tier did not release the tests within ${limitMs} ms`);
    await sleep(POLL_MS);
  }
}
