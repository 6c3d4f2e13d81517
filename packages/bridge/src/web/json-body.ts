/**
 * JSON request bodies with a nesting-depth cap (issue 18: one 15 MB deeply nested body blocked the
 * event loop for seconds). The depth is measured by a linear scan of the text before JSON.parse,
 * so a hostile body costs one pass over its bytes and no allocation per level.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Deepest nesting any route needs: results.json is about 6 levels deep. */
export const MAX_JSON_DEPTH = 32;

/** The deepest `{`/`[` nesting in a JSON text, stopping early once `limit` is passed. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}

export class JsonBodyError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/** Parse a JSON text, refusing one nested deeper than `limit` (400). */
export function parseJsonBounded(text: string, limit = MAX_JSON_DEPTH): unknown {
  if (jsonDepthExceeds(text, limit))
    throw new JsonBodyError(`the JSON body is nested deeper than ${limit} levels`, 400);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new JsonBodyError('the body is not valid JSON', 400);
  }
}

/**
 * Replace the JSON parser of an encapsulated plugin with the depth-capped one. `onParse` is
 * called once per body parsed (a metric: authenticated routes must never parse unauthenticated
 * bodies).
 */
export function useBoundedJsonParser(
  app: FastifyInstance,
  onParse?: (req: FastifyRequest) => void,
): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    onParse?.(req);
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.length === 0) return done(null, null);
    try {
      done(null, parseJsonBounded(text));
    } catch (err) {
      done(err as JsonBodyError, undefined);
    }
  });
}
