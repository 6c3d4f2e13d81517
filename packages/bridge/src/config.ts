/**
 * Bridge configuration: the only reader of process.env. Parsed once at start with zod; every
 * problem is listed; secrets have no defaults and may come from `<NAME>_FILE` (e.g. a Docker
 * secret). See docs/bridge-config.md.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** A comma-separated list; blanks dropped. */
const csv = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
  );
const repoList = csv.pipe(
  z.array(z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be owner/name')),
);
const nameList = csv;

export const BridgeConfigSchema = z
  .object({
    CCCI_GITEA_URL: z.url().optional().describe('Base URL of the Gitea server (no /api/v1).'),
    CCCI_GITEA_TOKEN: z
      .string()
      .min(1)
      .optional()
      .describe('Token of the bot account (secret; `_FILE` accepted).'),
    CCCI_DRONE_URL: z
      .url()
      .optional()
      .describe(
        'Base URL the bridge reaches the Drone API on (may be internal, e.g. http://drone:80; never shown to users).',
      ),
    CCCI_DRONE_PUBLIC_URL: z
      .url()
      .optional()
      .describe(
        "Drone's public address (DRONE_SERVER_PROTO://DRONE_SERVER_HOST) for build links in cards and on run pages until the plugin reports DRONE_BUILD_LINK; unset: no build link before that.",
      ),
    CCCI_DRONE_TOKEN: z
      .string()
      .min(1)
      .optional()
      .describe('Drone API token (secret; `_FILE` accepted).'),
    CCCI_DRONE_REPO: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be owner/name')
      .optional()
      .describe('owner/name of the repository whose pipeline runs recipe CI.'),
    CCCI_REPOS: repoList.describe('Enrolled recipe repositories, owner/name, comma separated.'),
    CCCI_WEBHOOK_SECRET: z
      .string()
      .min(16, 'use at least 16 characters')
      .optional()
      .describe('HMAC secret of the Gitea webhook; the webhook route is off when unset.'),
    CCCI_POLL_INTERVAL_S: z.coerce
      .number()
      .int()
      .min(0)
      .max(86_400)
      .default(30)
      .describe('Seconds between comment polls; 0 turns polling off.'),
    CCCI_DB_PATH: z
      .string()
      .min(1)
      .default('./data/cc-ci.sqlite')
      .describe('SQLite database file.'),
    CCCI_WARM_DISK_FILE: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The sweep's warm-disk.json (`<state dir>/warm-disk.json` on the swarm manager): /metrics reports the disk each recipe's warm canonical uses from it. Unset: no warm-disk series.",
      ),
    CCCI_PUBLIC_URL: z
      .url()
      .default('http://127.0.0.1:8080')
      .describe('Public base URL of the bridge (links in cards and statuses).'),
    CCCI_RESULTS_TOKEN: z
      .string()
      .min(16, 'use at least 16 characters')
      .optional()
      .describe(
        'Shared upload token (secret; `_FILE` accepted): accepted only for builds the bridge did not start (a bridge-started build uploads with its own CCCI_RUN_TOKEN), and the key run tokens derive from when CCCI_RUN_TOKEN_SECRET is unset. With neither set, uploads are refused.',
      ),
    CCCI_RUN_TOKEN_SECRET: z
      .string()
      .min(32, 'use at least 32 characters')
      .optional()
      .describe(
        'Key of the per-run upload tokens the bridge gives each build it starts (CCCI_RUN_TOKEN; secret; `_FILE` accepted). Unset: derived from CCCI_RESULTS_TOKEN. Must differ from CCCI_RESULTS_TOKEN.',
      ),
    CCCI_TRUSTED_ORGS: nameList.describe('Gitea organisations whose members may trigger runs.'),
    CCCI_TRUSTED_USERS: nameList.describe('Gitea users who may trigger runs.'),
    CCCI_MAX_CONCURRENT_RUNS: z.coerce
      .number()
      .int()
      .min(1)
      .max(64)
      .default(2)
      .describe('Runs started at once; more wait in a persisted queue.'),
    CCCI_BLOCKED_TIMEOUT_S: z.coerce
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .default(3600)
      .describe(
        "Seconds a Drone build may stay blocked (awaiting approval) or waiting_on_dependencies before cc-ci frees its concurrency slot and ends the PR's status with error.",
      ),
    CCCI_DELIVERY_RETENTION_DAYS: z.coerce
      .number()
      .int()
      .min(1)
      .max(3650)
      .default(14)
      .describe(
        'Days a handled webhook delivery (id, outcome, time; never the body) is kept to recognise redeliveries.',
      ),
    CCCI_DELIVERY_RETENTION_ROWS: z.coerce
      .number()
      .int()
      .min(100)
      .max(10_000_000)
      .default(100_000)
      .describe('Most handled webhook deliveries kept; the oldest beyond this are pruned first.'),
    HOST: z.string().default('127.0.0.1').describe('Listen address.'),
    PORT: z.coerce.number().int().min(0).max(65_535).default(8080).describe('Listen port.'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
      .default('info')
      .describe('pino log level.'),
  })
  .superRefine((c, ctx) => {
    if (c.CCCI_RUN_TOKEN_SECRET !== undefined && c.CCCI_RUN_TOKEN_SECRET === c.CCCI_RESULTS_TOKEN)
      ctx.addIssue({
        code: 'custom',
        path: ['CCCI_RUN_TOKEN_SECRET'],
        message:
          'equals CCCI_RESULTS_TOKEN; leave it unset to derive run tokens from the results token, or give it its own value',
      });
    const intake = c.CCCI_POLL_INTERVAL_S > 0 || c.CCCI_WEBHOOK_SECRET !== undefined;
    if (intake && c.CCCI_REPOS.length > 0) {
      for (const key of [
        'CCCI_GITEA_URL',
        'CCCI_GITEA_TOKEN',
        'CCCI_DRONE_URL',
        'CCCI_DRONE_TOKEN',
        'CCCI_DRONE_REPO',
      ] as const) {
        if (!c[key])
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'required when repositories are enrolled and polling or the webhook is on',
          });
      }
    }
  });

export type BridgeConfig = z.infer<typeof BridgeConfigSchema>;

export const SECRET_KEYS = [
  'CCCI_GITEA_TOKEN',
  'CCCI_DRONE_TOKEN',
  'CCCI_WEBHOOK_SECRET',
  'CCCI_RESULTS_TOKEN',
  'CCCI_RUN_TOKEN_SECRET',
] as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Parse the environment; `<NAME>_FILE` supplies a secret from a file. Throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  const problems: string[] = [];
  const input: Record<string, string | undefined> = { ...env };
  for (const key of SECRET_KEYS) {
    const file = env[`${key}_FILE`];
    if (file === undefined) continue;
    if (env[key] !== undefined) {
      problems.push(`${key} and ${key}_FILE are both set; keep one`);
      continue;
    }
    try {
      input[key] = readFileSync(file, 'utf8').trim();
    } catch (err) {
      problems.push(`${key}_FILE: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  for (const [k, v] of Object.entries(input)) if (v === '') delete input[k];
  const parsed = BridgeConfigSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(`${issue.path.join('.') || '(config)'}: ${issue.message}`);
  }
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}

/**
 * Test and benchmark knobs, not part of the public configuration: faster intake loops (ms).
 * Unset or non-numeric values are ignored (the engine's defaults apply).
 */
export function loadTuning(env: NodeJS.ProcessEnv = process.env): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, name] of [
    ['CCCI_TUNE_TICK_MS', 'tickMs'],
    ['CCCI_TUNE_RETRY_BASE_MS', 'retryBaseMs'],
    ['CCCI_TUNE_RETRY_CAP_MS', 'retryCapMs'],
    ['CCCI_TUNE_WATCH_MS', 'watchIntervalMs'],
    ['CCCI_TUNE_NO_RESULTS_GRACE_MS', 'noResultsGraceMs'],
    ['CCCI_TUNE_PROGRESS_MS', 'progressMinIntervalMs'],
    ['CCCI_TUNE_POLL_MS', 'pollIntervalMs'],
  ] as const) {
    const v = env[k];
    if (v !== undefined && /^\d+$/.test(v)) out[name] = Number(v);
  }
  return out;
}
