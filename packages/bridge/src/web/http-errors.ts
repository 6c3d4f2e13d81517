/**
 * The bridge's HTTP errors: every refusal is `{"error": <what and why>, "code": <CODE>}` with the
 * status of its code. One table; docs/errors.md is generated from it (scripts/generate-docs.mjs)
 * next to the run error codes of harness-core.
 */
import type { FastifyReply } from 'fastify';

export interface HttpErrorInfo {
  readonly status: number;
  readonly means: string;
  readonly fix: string;
}

export const HTTP_ERRORS = {
  BAD_QUERY: {
    status: 400,
    means: 'a query parameter is malformed, repeated or out of range',
    fix: 'read the message; docs/api.md lists each parameter and its range',
  },
  BAD_REQUEST: {
    status: 400,
    means: 'the request body or its headers are malformed (not JSON, nested too deep, …)',
    fix: 'send a JSON body as docs/api.md describes; the message names the problem',
  },
  BAD_RUN_ID: {
    status: 400,
    means: 'the run id in the URL is not a valid run id',
    fix: 'use the run id the plugin printed (letters, digits, ".", "_" and "-", at most 64)',
  },
  BAD_WEBHOOK: {
    status: 400,
    means: 'the webhook delivery is malformed (delivery header, JSON, or the payload’s fields)',
    fix: 'send Gitea’s own delivery unchanged; the message names the field',
  },
  BAD_SIGNATURE: {
    status: 401,
    means: 'the webhook’s X-Gitea-Signature is missing or does not match the body',
    fix: 'set the same secret in the Gitea webhook and in CCCI_WEBHOOK_SECRET',
  },
  UNAUTHORIZED: {
    status: 401,
    means: 'an upload came without a Bearer token, or with a wrong one',
    fix: 'send the build’s CCCI_RUN_TOKEN (or PLUGIN_RESULTS_TOKEN for a build cc-ci did not start)',
  },
  RUN_TOKEN_REQUIRED: {
    status: 403,
    means: 'the run was started by cc-ci, and only its own build’s run token may upload for it',
    fix: 'upload from the Drone build the bridge started (CCCI_RUN_TOKEN); nothing was stored',
  },
  TRIGGER_MISMATCH: {
    status: 403,
    means: 'the uploaded results are not of the recipe, PR or commit the run was started for',
    fix: 'upload the results of the run the token belongs to; nothing was stored',
  },
  NOT_FOUND: {
    status: 404,
    means: 'no such run, file or route',
    fix: 'check the URL; runs and files are listed under /api/runs',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    means: 'the body is not application/json',
    fix: 'set the Gitea webhook’s content type to application/json',
  },
  BODY_TOO_LARGE: {
    status: 413,
    means: 'the body is larger than the route accepts',
    fix: 'results, JUnit and logs are bounded (docs/api.md); check what the plugin uploads',
  },
  RESULTS_INVALID: {
    status: 422,
    means: 'results.json (or a JUnit file, or a progress report) does not validate',
    fix: 'upload what the plugin of the same version wrote; the message lists every problem',
  },
  UPLOADS_DISABLED: {
    status: 503,
    means: 'uploads are off: the bridge has no CCCI_RESULTS_TOKEN and no run-token key',
    fix: 'set CCCI_RESULTS_TOKEN (docs/bridge-config.md)',
  },
  NOT_YET_KNOWN: {
    status: 503,
    means: 'the bridge has not recorded the Drone build of this run’s trigger yet',
    fix: 'retry after Retry-After seconds (the plugin does)',
  },
  INTERNAL: {
    status: 500,
    means: 'an unexpected error in the bridge',
    fix: 'read the bridge log (the request id is in it); it is a bridge bug',
  },
} as const satisfies Record<string, HttpErrorInfo>;

export type HttpErrorCode = keyof typeof HTTP_ERRORS;

/** The JSON body of an error answer. */
export const errorBody = (code: HttpErrorCode, error: string) => ({ error, code });

/**
 * The code of an error Fastify raised itself (body parsing, limits, an unexpected throw),
 * from its status: the bridge's answers never carry Fastify's own shape.
 */
export function codeOfStatus(status: number | undefined): HttpErrorCode {
  if (status === 413) return 'BODY_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (status === 404) return 'NOT_FOUND';
  if (status !== undefined && status >= 400 && status < 500) return 'BAD_REQUEST';
  return 'INTERNAL';
}

/** Answer with the error's status and `{error, code}`. */
export function sendError(reply: FastifyReply, code: HttpErrorCode, error: string) {
  return reply.code(HTTP_ERRORS[code].status).send(errorBody(code, error));
}
