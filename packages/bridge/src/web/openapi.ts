/**
 * The OpenAPI 3.0 description of the bridge's JSON API, served at GET /api/openapi.json.
 * Kept next to the routes; a test checks that every documented operation answers as documented.
 */
import { HTTP_ERRORS } from './http-errors.js';
import {
  ISOLATION_LABELS,
  RECIPE_NAME_PATTERN,
  RUNG_NAMES,
  RUNG_STATUSES,
} from '@cc-ci/harness-core';
import { CARD_TIER_STATES } from '../domain/card.js';

const runRow = {
  type: 'object',
  additionalProperties: false,
  required: ['run_id', 'recipe', 'status', 'created_at'],
  properties: {
    run_id: { type: 'string', description: 'The Drone build number.' },
    trigger_id: {
      type: 'integer',
      nullable: true,
      description: 'The trigger that started the run; null for a run the bridge did not start.',
    },
    recipe: { type: 'string' },
    repo: { type: 'string', nullable: true },
    pr: { type: 'integer', nullable: true },
    ref: { type: 'string', nullable: true },
    head_sha: { type: 'string', nullable: true },
    quick: { type: 'integer', enum: [0, 1] },
    status: { type: 'string', enum: ['queued', 'running', 'finished', 'error'] },
    drone_status: { type: 'string', nullable: true },
    build_link: { type: 'string', nullable: true },
    verdict: { type: 'string', enum: ['pass', 'fail', 'error', null], nullable: true },
    level: { type: 'integer', minimum: 0, maximum: 5, nullable: true },
    version: { type: 'string', nullable: true },
    error: { type: 'string', nullable: true },
    progress: { type: 'string', nullable: true, description: 'JSON {tier: status} while running.' },
    created_at: { type: 'string', format: 'date-time' },
    started_at: { type: 'string', format: 'date-time', nullable: true },
    finished_at: { type: 'string', format: 'date-time', nullable: true },
    updated_at: { type: 'string', format: 'date-time' },
    drone_finished_at: { type: 'string', format: 'date-time', nullable: true },
    drone_waiting_since: {
      type: 'string',
      format: 'date-time',
      nullable: true,
      description: 'Since when the Drone build has ended without results (the watcher waits).',
    },
    isolation: {
      type: 'string',
      enum: [...ISOLATION_LABELS, null],
      nullable: true,
      description:
        'The isolation re-run after a failure (results.isolation.label): genuine (failed again alone, same rung and code), flaky (passed alone) or changed (failed alone, differently); null when the run was not re-run.',
    },
  },
};
const regression = {
  type: 'object',
  additionalProperties: false,
  required: [
    'recipe',
    'run_id',
    'level',
    'version',
    'previous_version',
    'previous_level',
    'previous_run_id',
    'rung',
    'rung_status',
  ],
  properties: {
    recipe: { type: 'string' },
    run_id: { type: 'string', description: "The recipe's newest run that counts (pass or fail)." },
    level: { type: 'integer', minimum: 0, maximum: 4 },
    version: { type: 'string', description: 'Its results.version (a release tag).' },
    previous_version: {
      type: 'string',
      description:
        "The previous release's version: the newest older release with a green cold run.",
    },
    previous_level: { type: 'integer', minimum: 1, maximum: 5 },
    previous_run_id: { type: 'string', description: "That release's last green cold run." },
    rung: {
      type: 'string',
      enum: [...RUNG_NAMES, null],
      nullable: true,
      description: 'The first rung that passed then and does not now; null when none can be named.',
    },
    rung_status: { type: 'string', enum: [...RUNG_STATUSES, null], nullable: true },
  },
};
const error = {
  type: 'object',
  required: ['error', 'code'],
  properties: {
    error: { type: 'string' },
    code: {
      type: 'string',
      enum: Object.keys(HTTP_ERRORS),
      description: 'docs/errors.md, "Bridge HTTP errors"',
    },
  },
};
const json = (schema: object) => ({ content: { 'application/json': { schema } } });

export const OPENAPI = {
  openapi: '3.0.3',
  info: {
    title: 'cc-ci bridge API',
    version: '1',
    description: 'Runs, recipes and triggers recorded by the cc-ci bridge. See docs/api.md.',
  },
  paths: {
    '/api/recipes': {
      get: {
        operationId: 'listRecipes',
        summary: 'Every enrolled recipe (and every recipe with runs) with its latest run.',
        responses: {
          '200': json({
            type: 'object',
            required: ['recipes'],
            properties: {
              recipes: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['recipe', 'enrolled', 'latest'],
                  properties: {
                    recipe: { type: 'string' },
                    enrolled: { type: 'boolean' },
                    latest: { type: 'object', nullable: true },
                  },
                },
              },
            },
          }),
        },
      },
    },
    '/api/runs': {
      get: {
        operationId: 'listRuns',
        summary: 'Runs, newest first, with keyset pagination.',
        parameters: [
          {
            name: 'recipe',
            in: 'query',
            schema: { type: 'string', pattern: RECIPE_NAME_PATTERN },
          },
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
          },
          {
            name: 'cursor',
            in: 'query',
            schema: { type: 'string' },
            description: 'next_cursor of the previous page',
          },
        ],
        responses: {
          '200': json({
            type: 'object',
            required: ['runs', 'next_cursor'],
            properties: {
              runs: { type: 'array', items: runRow },
              next_cursor: { type: 'string', nullable: true },
            },
          }),
          '400': json(error),
        },
      },
    },
    '/api/triggers': {
      get: {
        operationId: 'listTriggers',
        summary: 'Recent !testme triggers, refused and unknown-repository ones included.',
        parameters: [
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          },
        ],
        responses: {
          '200': json({
            type: 'object',
            required: ['triggers'],
            properties: {
              triggers: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['id', 'repo', 'pr', 'commenter', 'state'],
                  properties: {
                    id: { type: 'integer' },
                    repo: { type: 'string' },
                    pr: { type: 'integer' },
                    comment_id: { type: 'integer', nullable: true },
                    commenter: { type: 'string' },
                    quick: { type: 'boolean' },
                    state: {
                      type: 'string',
                      enum: [
                        'accepted',
                        'queued',
                        'building',
                        'finished',
                        'failed',
                        'refused',
                        'unknown_repo',
                        'superseded',
                      ],
                    },
                    reason: { type: 'string', nullable: true },
                    head_sha: { type: 'string', nullable: true },
                    run_id: { type: 'string', nullable: true },
                  },
                },
              },
            },
          }),
          '400': json(error),
        },
      },
    },
    '/api/runs/{runId}/results': {
      post: {
        operationId: 'uploadResults',
        summary: 'The plugin uploads a run’s results.json, JUnit files and log.',
        description:
          'A run the bridge started accepts only its own run token (the CCCI_RUN_TOKEN param of its Drone build): the shared CCCI_RESULTS_TOKEN, another run’s token or a forged one get 403 and nothing changes, and its results can be replaced only with the same token; the results must name the trigger’s recipe, PR and head sha (else 403). A build the bridge did not start (Drone UI re-run, curl) is accepted with CCCI_RESULTS_TOKEN, or with the run token a re-run inherited when its results match that token’s trigger, and is recorded as a run of its own that never changes a PR card or commit status. 503 with Retry-After: a run token whose build the bridge has not recorded yet (retry).',
        security: [{ runToken: [] }, { resultsToken: [] }],
        parameters: [{ name: 'runId', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: json({
          type: 'object',
          required: ['results'],
          properties: {
            results: { type: 'object', description: 'results.json (docs/results.schema.json)' },
            junit: { type: 'object', additionalProperties: { type: 'string' } },
            log: { type: 'string' },
          },
        }),
        responses: {
          '201': json({ type: 'object' }),
          '401': json(error),
          '403': json(error),
          '422': json(error),
          '503': json(error),
        },
      },
    },
    '/api/runs/{runId}/progress': {
      post: {
        operationId: 'postProgress',
        summary: 'The plugin reports tier-by-tier progress while a run is going.',
        description:
          'The same credentials as the results upload: a run the bridge started accepts only its own run token (else 403).',
        security: [{ runToken: [] }, { resultsToken: [] }],
        parameters: [{ name: 'runId', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: json({
          type: 'object',
          required: ['tiers'],
          properties: {
            tiers: {
              type: 'object',
              additionalProperties: {
                type: 'string',
                enum: [...CARD_TIER_STATES],
              },
            },
            build_link: {
              type: 'string',
              maxLength: 1024,
              description:
                "The step's DRONE_BUILD_LINK (Drone's public build page; http or https); shown in the card and on the run page.",
            },
          },
        }),
        responses: {
          '202': json({ type: 'object' }),
          '401': json(error),
          '403': json(error),
          '422': json(error),
          '503': json(error),
        },
      },
    },
    '/hooks/gitea': {
      post: {
        operationId: 'giteaWebhook',
        summary:
          'Gitea webhook (X-Gitea-Signature HMAC-SHA256 of the body); only when CCCI_WEBHOOK_SECRET is set.',
        responses: {
          '202': json({ type: 'object' }),
          '200': { description: 'a replayed delivery (already accepted)' },
          '400': json(error),
          '401': json(error),
          '413': { description: 'body too large' },
        },
      },
    },
    '/api/regressions': {
      get: {
        operationId: 'listRegressions',
        summary:
          "Recipes whose newest run that counts is below the level of the previous release's last green cold run (docs/api.md).",
        responses: {
          '200': json({
            type: 'object',
            required: ['regressions'],
            properties: { regressions: { type: 'array', items: regression } },
          }),
        },
      },
    },
    '/healthz': {
      get: {
        operationId: 'health',
        summary:
          'Store reachable, and the last successful and failed contact with Gitea and Drone.',
        responses: { '200': json({ type: 'object' }), '503': json({ type: 'object' }) },
      },
    },
  },
  components: {
    securitySchemes: {
      runToken: {
        type: 'http',
        scheme: 'bearer',
        description:
          'The CCCI_RUN_TOKEN build param the bridge gives each Drone build it starts (ccci-run.<trigger id>.<HMAC>).',
      },
      resultsToken: {
        type: 'http',
        scheme: 'bearer',
        description:
          'CCCI_RESULTS_TOKEN, shared: only for builds the bridge did not start (docs/security.md).',
      },
    },
  },
} as const;
