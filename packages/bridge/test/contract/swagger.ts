/**
 * Check an HTTP exchange against Gitea's OpenAPI 2.0 document (spec/gitea-swagger.v1.json):
 * the operation exists, path and query parameters are declared and well-typed, the body matches
 * the body parameter's schema, the Authorization header is the documented `token <T>` form, and
 * the response status is documented with a body matching its schema. Schemas are JSON Schema
 * draft 4 (Ajv with ajv-draft-04).
 */
import AjvModule from 'ajv-draft-04';
import formatsModule from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Exchange } from '../fakes/fake-http.js';

const here = dirname(fileURLToPath(import.meta.url));
export const SPEC_PATH = join(here, '../../../../spec/gitea-swagger.v1.json');

interface Param {
  name: string;
  in: 'path' | 'query' | 'body' | 'header' | 'formData';
  type?: string;
  format?: string;
  required?: boolean;
  schema?: object;
}
interface Operation {
  operationId: string;
  parameters?: Param[];
  responses: Record<string, { $ref?: string; schema?: object; description?: string }>;
}
type Spec = {
  basePath: string;
  paths: Record<string, Record<string, Operation>>;
  responses: Record<string, { schema?: object; description?: string }>;
  definitions: Record<string, object>;
};

// CommonJS packages: under NodeNext the default import is module.exports, whose .default is the export.
const Ajv = AjvModule.default;
const addFormats = formatsModule.default;
type AjvInstance = InstanceType<typeof Ajv>;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export class SwaggerChecker {
  readonly spec: Spec;
  private readonly ajv: AjvInstance;
  readonly seen = new Set<string>();

  constructor(path = SPEC_PATH) {
    this.spec = JSON.parse(readFileSync(path, 'utf8')) as Spec;
    this.ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv as never);
    // Gitea's swagger uses Go-ish formats ajv does not know; accept them (types are still checked).
    for (const f of ['int64', 'int32', 'uint64', 'float', 'double', 'byte', 'binary', 'password'])
      this.ajv.addFormat(f, true);
    this.ajv.addSchema({ id: 'gitea', definitions: this.spec.definitions } as never, 'gitea');
  }

  private validate(schema: object, value: unknown): string[] {
    const fixed = JSON.parse(
      JSON.stringify(schema).replace(/"#\/definitions\//g, '"gitea#/definitions/'),
    ) as object;
    const fn = this.ajv.compile(fixed);
    if (fn(value)) return [];
    return (fn.errors ?? []).map(
      (e: { instancePath: string; message?: string }) =>
        `${e.instancePath || '(root)'} ${e.message ?? ''}`,
    );
  }

  /** Problems with one exchange (empty when it conforms). */
  check(ex: Exchange): string[] {
    const problems: string[] = [];
    const base = this.spec.basePath;
    if (!ex.path.startsWith(base)) return [`${ex.path} is outside ${base}`];
    const rest = ex.path.slice(base.length);
    let template: string | null = null;
    let pathValues: Record<string, string> = {};
    for (const t of Object.keys(this.spec.paths)) {
      const names: string[] = [];
      const re = new RegExp(
        `^${t.replace(/\{(\w+)\}/g, (_m, n: string) => (names.push(n), '([^/]+)'))}$`,
      );
      const m = re.exec(rest);
      if (m && this.spec.paths[t]![ex.method.toLowerCase()]) {
        template = t;
        pathValues = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
        break;
      }
    }
    if (!template) return [`${ex.method} ${rest}: no such operation in the spec`];
    const op = this.spec.paths[template]![ex.method.toLowerCase()]!;
    this.seen.add(op.operationId);
    const params = op.parameters ?? [];
    for (const p of params.filter((x) => x.in === 'path')) {
      const v = pathValues[p.name];
      if (v === undefined) problems.push(`path parameter ${p.name} missing`);
      else if (p.type === 'integer' && !/^\d+$/.test(v))
        problems.push(`path parameter ${p.name}=${v} is not an integer`);
    }
    for (const [k, v] of ex.query) {
      const p = params.find((x) => x.in === 'query' && x.name === k);
      if (!p) {
        problems.push(`query parameter ${k} is not declared for ${op.operationId}`);
        continue;
      }
      if (p.type === 'integer' && !/^-?\d+$/.test(v))
        problems.push(`query ${k}=${v} is not an integer`);
      if (p.format === 'date-time' && !RFC3339.test(v))
        problems.push(`query ${k}=${v} is not RFC 3339 (Gitea answers 422)`);
    }
    for (const p of params.filter((x) => x.in === 'query' && x.required))
      if (!ex.query.has(p.name)) problems.push(`required query parameter ${p.name} missing`);
    const bodyParam = params.find((x) => x.in === 'body');
    if (bodyParam?.schema) {
      if (ex.body === undefined) {
        if (bodyParam.required) problems.push('request body missing');
      } else
        problems.push(...this.validate(bodyParam.schema, ex.body).map((e) => `request body ${e}`));
    } else if (ex.body !== undefined) problems.push(`${op.operationId} takes no request body`);
    const auth = String(ex.headers.authorization ?? '');
    if (!/^token \S+$/.test(auth))
      problems.push('Authorization is not the documented "token <T>" form');
    // Response.
    if (ex.status > 0) {
      let resp = op.responses[String(ex.status)] ?? op.responses.default;
      if (!resp)
        problems.push(
          `${op.operationId}: status ${ex.status} is not documented (${Object.keys(op.responses).join(', ')})`,
        );
      else {
        if (resp.$ref) resp = this.spec.responses[resp.$ref.replace('#/responses/', '')] ?? {};
        if (resp.schema)
          problems.push(
            ...this.validate(resp.schema, ex.responseBody).map((e) => `response ${ex.status} ${e}`),
          );
        else if (ex.responseBody !== undefined && ex.responseBody !== '' && ex.status !== 303)
          problems.push(`response ${ex.status} should be empty`);
      }
    }
    return problems.map((p) => `${ex.method} ${ex.path}: ${p}`);
  }
}
