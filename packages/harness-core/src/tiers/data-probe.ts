/**
 * The recipe's data probe (cc-ci.yml `data_probe`): rows in the app's own store — a database
 * that a volume snapshot cannot judge — written and read back by commands the recipe names,
 * run in a service's container as argument arrays (no shell unless the recipe's argv is one).
 * cc-ci makes each token and appends it as the last argument of `write`; `read` prints every
 * stored token, one per line. Tokens are hex, so they are safe in any SQL or shell quoting.
 */
import { randomBytes } from 'node:crypto';
import { RecipeError } from '../errors.js';
import type { DataProbe, TierContext } from './types.js';
import { describeExec, runningContainer } from './containers.js';

const PROBE_TIMEOUT_MS = 120_000;

function serviceName(ctx: TierContext, probe: DataProbe): string {
  return `${ctx.app.stack}_${probe.service}`;
}

/** Store a fresh token through the probe; returns it. A probe that fails is the recipe's. */
export async function writeDataToken(
  ctx: TierContext,
  probe: DataProbe,
  when: string,
): Promise<string> {
  const token = `ccci${randomBytes(10).toString('hex')}`;
  const container = await runningContainer(ctx.docker, serviceName(ctx, probe));
  const res = await ctx.docker.exec(container, [...probe.write, token], {
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  if (res.exitCode !== 0)
    throw new RecipeError(
      'BAD_RECIPE',
      ctx.redact(
        `the data probe could not write a row ${when} (${probe.service}: ${probe.write.join(' ')}): ${describeExec(res)}`,
      ),
    );
  ctx.log.info(`data probe: wrote token ${token} ${when}`);
  return token;
}

/** Every token the store holds, or an error text when the probe cannot read. */
export async function readDataTokens(
  ctx: TierContext,
  probe: DataProbe,
): Promise<{ tokens: Set<string> } | { error: string }> {
  let container: string;
  try {
    container = await runningContainer(ctx.docker, serviceName(ctx, probe));
  } catch (err) {
    return { error: (err as Error).message };
  }
  const res = await ctx.docker.exec(container, [...probe.read], { timeoutMs: PROBE_TIMEOUT_MS });
  if (res.exitCode !== 0)
    return { error: ctx.redact(`${probe.read.join(' ')} ${describeExec(res)}`) };
  return {
    tokens: new Set(
      res.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    ),
  };
}
