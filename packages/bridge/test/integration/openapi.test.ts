/** The served OpenAPI document describes what the JSON routes really answer. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import AjvModule from 'ajv';
import {
  RECIPE_REPO,
  startBridge,
  startWorld,
  until,
  type Bridge,
  type World,
} from '../support/intake-kit.js';

const Ajv = AjvModule.default;
let world: World & { pr: number };
let bridge: Bridge;

beforeAll(async () => {
  world = await startWorld();
  bridge = await startBridge(world);
  world.gitea.addHook(RECIPE_REPO, `${bridge.url}/hooks/gitea`, 'webhook-secret-0123456789');
  world.gitea.comment(RECIPE_REPO, world.pr, 'maintainer', '!testme');
  world.gitea.comment(RECIPE_REPO, world.pr, 'stranger', '!testme');
  await until(() => world.drone.builds.length === 1, 10_000, 'a build');
  await until(
    async () =>
      ((await (await fetch(`${bridge.url}/api/triggers`)).json()) as { triggers: unknown[] })
        .triggers.length === 2,
  );
});
afterAll(async () => {
  await bridge.stop();
  await world.close();
});

describe('GET /api/openapi.json', () => {
  it('documents the JSON routes, and their answers match the documented schemas', async () => {
    const doc = (await (await fetch(`${bridge.url}/api/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          { responses: Record<string, { content?: { 'application/json': { schema: object } } }> }
        >
      >;
    };
    expect(doc.openapi).toMatch(/^3\./);
    const ajv = new Ajv({ strict: false, allErrors: true });
    const checked: string[] = [];
    for (const path of [
      '/api/recipes',
      '/api/runs',
      '/api/regressions',
      '/api/triggers',
      '/healthz',
    ]) {
      const schema = doc.paths[path]!.get!.responses['200']!.content!['application/json'].schema;
      const res = await fetch(`${bridge.url}${path}`);
      expect(res.status).toBe(200);
      const body: unknown = await res.json();
      const validate = ajv.compile(schema);
      expect({ path, ok: validate(body), errors: validate.errors ?? null }).toEqual({
        path,
        ok: true,
        errors: null,
      });
      checked.push(path);
    }
    expect(checked).toHaveLength(5);
    // A regression as the route answers it matches the schema; one without its baseline does not.
    const regressions = ajv.compile(
      doc.paths['/api/regressions']!.get!.responses['200']!.content!['application/json'].schema,
    );
    const entry = {
      recipe: 'notes',
      run_id: '1',
      level: 3,
      version: '1.1.0+2.0',
      previous_version: '1.0.0+2.0',
      previous_level: 5,
      previous_run_id: '100',
      rung: 'functional',
      rung_status: 'fail',
    };
    expect(regressions({ regressions: [entry, { ...entry, rung: null, rung_status: null }] })).toBe(
      true,
    );
    expect(regressions({ regressions: [{ ...entry, previous_run_id: undefined }] })).toBe(false);
    // A wrong answer would be caught: the runs schema rejects a run without a status.
    const runs = ajv.compile(
      doc.paths['/api/runs']!.get!.responses['200']!.content!['application/json'].schema,
    );
    expect(
      runs({
        runs: [{ run_id: '1', recipe: 'notes', created_at: '2026-01-01T00:00:00Z' }],
        next_cursor: null,
      }),
    ).toBe(false);
    // Error answers too: {error, code} with a code of the documented table.
    const errorSchema =
      doc.paths['/api/runs']!.get!.responses['400']!.content!['application/json'].schema;
    const bad = await fetch(`${bridge.url}/api/runs?limit=0`);
    expect(bad.status).toBe(400);
    const validateError = ajv.compile(errorSchema);
    const body: unknown = await bad.json();
    expect({ ok: validateError(body), body }).toEqual({
      ok: true,
      body: { error: 'limit must be an integer from 1 to 200', code: 'BAD_QUERY' },
    });
    expect(validateError({ error: 'x', code: 'NOT_A_CODE' })).toBe(false);
  });
});
